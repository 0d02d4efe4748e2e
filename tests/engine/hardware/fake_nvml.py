"""A fake of the pynvml module (nvidia-ml-py) for the hardware-telemetry tests and benchmark.

``FakeNvml([FakeGpu(...), ...])`` answers the NVML calls the sampler makes from each fake
GPU's fields. ``FakeGpu.errors`` maps an NVML function name to the error class it raises;
``lost = True`` makes every call on that GPU raise ``NVMLError_GpuIsLost``.
"""

from __future__ import annotations

import os
from collections import Counter
from dataclasses import dataclass, field
from types import SimpleNamespace


# The error classes carry pynvml's names, so `except nvml.NVMLError_NotSupported` works.
class NVMLError(Exception):
    pass


class NVMLError_NotSupported(NVMLError):
    pass


class NVMLError_FunctionNotFound(NVMLError):
    pass


class NVMLError_NoPermission(NVMLError):
    pass


class NVMLError_LibraryNotFound(NVMLError):
    pass


class NVMLError_DriverNotLoaded(NVMLError):
    pass


class NVMLError_GpuIsLost(NVMLError):
    pass


class NVMLError_Unknown(NVMLError):
    pass


MIB = 1 << 20


@dataclass
class FakeGpu:
    bus_id: str = "00000000:3B:00.0"
    name: str = "NVIDIA Fake H100"
    uuid: str = "GPU-00000000-fake"
    gpu_util: int = 87
    mem_util: int = 41
    mem_total: int = 81559 * MIB
    mem_used: int = 2048 * MIB
    processes: list = field(default_factory=lambda: [(os.getpid(), 1536 * MIB)])
    temperature: int = 55
    power_mw: int = 310_000
    power_limit_mw: int = 700_000
    sm_clock: int = 1980
    mem_clock: int = 2619
    max_sm_clock: int = 1980
    max_mem_clock: int = 2619
    fan: int = 30
    pcie_rx_kb: int = 1200
    pcie_tx_kb: int = 800
    clock_events: int = 0x4  # power cap
    energy_mj: int = 5_000_000
    errors: dict = field(default_factory=dict)
    lost: bool = False


class FakeNvml:
    """Module-like: ``Sampler(nvml=FakeNvml([...]))``. ``calls`` counts each function's calls."""

    NVMLError = NVMLError
    NVMLError_NotSupported = NVMLError_NotSupported
    NVMLError_FunctionNotFound = NVMLError_FunctionNotFound
    NVMLError_NoPermission = NVMLError_NoPermission
    NVMLError_LibraryNotFound = NVMLError_LibraryNotFound
    NVMLError_DriverNotLoaded = NVMLError_DriverNotLoaded
    NVMLError_GpuIsLost = NVMLError_GpuIsLost
    NVMLError_Unknown = NVMLError_Unknown
    NVML_TEMPERATURE_GPU = 0
    NVML_CLOCK_SM = 1
    NVML_CLOCK_MEM = 2
    NVML_PCIE_UTIL_TX_BYTES = 0
    NVML_PCIE_UTIL_RX_BYTES = 1
    nvmlMemory_v2 = 33554472

    def __init__(self, gpus=None, *, init_error=None, driver="550.54.15", cuda=12040):
        self.gpus = list(gpus if gpus is not None else [FakeGpu()])
        self.init_error = init_error
        self.driver, self.cuda = driver, cuda
        self.calls: Counter[str] = Counter()
        self.initialised = 0

    def _gpu(self, handle: int, function: str) -> FakeGpu:
        self.calls[function] += 1
        gpu = self.gpus[handle]
        if gpu.lost:
            raise NVMLError_GpuIsLost()
        if function in gpu.errors:
            raise gpu.errors[function]()
        return gpu

    def nvmlInit(self):
        if self.init_error is not None:
            raise self.init_error()
        self.initialised += 1

    def nvmlShutdown(self):
        self.initialised -= 1

    def nvmlSystemGetDriverVersion(self):
        return self.driver

    def nvmlSystemGetCudaDriverVersion(self):
        return self.cuda

    def nvmlDeviceGetCount(self):
        return len(self.gpus)

    def nvmlDeviceGetHandleByIndex(self, index):
        return index

    def nvmlDeviceGetPciInfo(self, h):
        return SimpleNamespace(busId=self._gpu(h, "nvmlDeviceGetPciInfo").bus_id.encode())

    def nvmlDeviceGetName(self, h):
        return self._gpu(h, "nvmlDeviceGetName").name

    def nvmlDeviceGetUUID(self, h):
        return self._gpu(h, "nvmlDeviceGetUUID").uuid

    def nvmlDeviceGetUtilizationRates(self, h):
        gpu = self._gpu(h, "nvmlDeviceGetUtilizationRates")
        return SimpleNamespace(gpu=gpu.gpu_util, memory=gpu.mem_util)

    def nvmlDeviceGetMemoryInfo(self, h, version=None):
        gpu = self._gpu(h, "nvmlDeviceGetMemoryInfo_v2" if version else "nvmlDeviceGetMemoryInfo")
        free = gpu.mem_total - gpu.mem_used
        return SimpleNamespace(total=gpu.mem_total, used=gpu.mem_used, free=free)

    def nvmlDeviceGetComputeRunningProcesses(self, h):
        gpu = self._gpu(h, "nvmlDeviceGetComputeRunningProcesses")
        return [SimpleNamespace(pid=pid, usedGpuMemory=used) for pid, used in gpu.processes]

    def nvmlDeviceGetTemperature(self, h, sensor):
        return self._gpu(h, "nvmlDeviceGetTemperature").temperature

    def nvmlDeviceGetPowerUsage(self, h):
        return self._gpu(h, "nvmlDeviceGetPowerUsage").power_mw

    def nvmlDeviceGetEnforcedPowerLimit(self, h):
        return self._gpu(h, "nvmlDeviceGetEnforcedPowerLimit").power_limit_mw

    def nvmlDeviceGetClockInfo(self, h, clock):
        gpu = self._gpu(h, "nvmlDeviceGetClockInfo")
        return gpu.sm_clock if clock == self.NVML_CLOCK_SM else gpu.mem_clock

    def nvmlDeviceGetMaxClockInfo(self, h, clock):
        gpu = self._gpu(h, "nvmlDeviceGetMaxClockInfo")
        return gpu.max_sm_clock if clock == self.NVML_CLOCK_SM else gpu.max_mem_clock

    def nvmlDeviceGetFanSpeed(self, h):
        return self._gpu(h, "nvmlDeviceGetFanSpeed").fan

    def nvmlDeviceGetPcieThroughput(self, h, counter):
        gpu = self._gpu(h, "nvmlDeviceGetPcieThroughput")
        return gpu.pcie_rx_kb if counter == self.NVML_PCIE_UTIL_RX_BYTES else gpu.pcie_tx_kb

    def nvmlDeviceGetCurrentClocksEventReasons(self, h):
        return self._gpu(h, "nvmlDeviceGetCurrentClocksEventReasons").clock_events

    def nvmlDeviceGetCurrentClocksThrottleReasons(self, h):
        return self._gpu(h, "nvmlDeviceGetCurrentClocksThrottleReasons").clock_events

    def nvmlDeviceGetTotalEnergyConsumption(self, h):
        return self._gpu(h, "nvmlDeviceGetTotalEnergyConsumption").energy_mj


class FakeClock:
    """A settable monotonic clock: ``clock.now += 0.5``."""

    def __init__(self, now: float = 1000.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now
