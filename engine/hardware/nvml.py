"""NVML through nvidia-ml-py (``import pynvml``), with every metric optional.

A metric that raises NotSupported, FunctionNotFound or NoPermission reads as ``None`` ("N/A")
and is remembered per device, so it is not asked again every tick. A GPU that raises
GpuIsLost is marked lost and skipped from then on; the other GPUs keep being read.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Callable
from types import ModuleType

from engine.hardware.samples import GpuInfo, GpuSample

# NVML clock-event ("throttle") reason bits, nvmlClocksEventReason* in nvml.h
CLOCK_EVENT_WORDS = (
    (0x1, "idle"),
    (0x2, "application clocks"),
    (0x4, "power cap"),
    (0x8, "hardware slowdown"),
    (0x10, "sync boost"),
    (0x20, "software thermal slowdown"),
    (0x40, "hardware thermal slowdown"),
    (0x80, "power brake"),
    (0x100, "display clocks"),
)
_NA_ERRORS = ("NVMLError_NotSupported", "NVMLError_FunctionNotFound", "NVMLError_NoPermission")
MIB = 1 << 20


class NvmlUnavailable(RuntimeError):
    """NVML cannot be used here; the message is the reason in words."""


class GpuLost(RuntimeError):
    """The GPU fell off the bus (NVMLError_GpuIsLost)."""


def clock_event_words(mask: int) -> tuple[str, ...]:
    """Bitmask -> reasons in words; () when the clocks are not held back."""
    return tuple(word for bit, word in CLOCK_EVENT_WORDS if mask & bit)


def normalize_bus_id(text: str | bytes) -> str:
    """'00000000:3B:00.0', '0000:3b:00.0' or '3b:00.0' -> '0000:3b:00.0'."""
    if isinstance(text, bytes):
        text = text.decode("ascii", "replace")
    head, _, function = text.strip().rstrip("\x00").partition(".")
    parts = head.split(":")
    if len(parts) == 2:
        parts = ["0", *parts]
    domain, bus, device = (int(p, 16) for p in parts)
    return f"{domain:04x}:{bus:02x}:{device:02x}.{int(function or '0', 16)}"


def load_nvml(nvml: ModuleType | None = None) -> ModuleType:
    """Import (unless given) and initialise NVML; raise :class:`NvmlUnavailable` with why not."""
    if nvml is None:
        try:
            import pynvml as nvml
        except ImportError:
            raise NvmlUnavailable("nvidia-ml-py is not installed") from None
    try:
        nvml.nvmlInit()
    except nvml.NVMLError as exc:
        raise NvmlUnavailable(_init_failure(nvml, exc)) from None
    return nvml


def _init_failure(nvml: ModuleType, exc: Exception) -> str:
    if isinstance(exc, nvml.NVMLError_LibraryNotFound):
        return "no NVIDIA driver found (NVML library not found)"
    if isinstance(exc, getattr(nvml, "NVMLError_DriverNotLoaded", ())):
        return "the NVIDIA driver is not loaded"
    return f"NVML failed to start: {exc}"


def nvml_status() -> str:
    """One line: the NVML driver version and GPU count, or why NVML is unavailable."""
    try:
        nvml = load_nvml()
    except NvmlUnavailable as exc:
        return f"unavailable — {exc}"
    try:
        return (
            f"driver {_text(nvml.nvmlSystemGetDriverVersion())}, {nvml.nvmlDeviceGetCount()} GPU(s)"
        )
    except nvml.NVMLError as exc:
        return f"initialised, but a query failed — {exc}"
    finally:
        nvml.nvmlShutdown()


def _text(value) -> str:
    return value.decode("utf-8", "replace") if isinstance(value, bytes) else str(value)


class NvmlReader:
    """Safe NVML queries for every GPU NVML sees: static facts cached, N/A remembered.

    ``nvml`` is an initialised pynvml-like module (see :func:`load_nvml`); tests pass a fake.
    """

    def __init__(self, nvml: ModuleType, slow_every_s: float = 5.0) -> None:
        self.nvml = nvml
        self.slow_every_s = slow_every_s
        self._slow_cache: dict[int, tuple[float, dict]] = {}
        self.unsupported: set[tuple[int, str]] = set()
        self.lost: set[int] = set()
        self._handles = [self._handle(i) for i in range(nvml.nvmlDeviceGetCount())]
        driver = self._query(-1, "driver", "nvmlSystemGetDriverVersion")
        self.system = {
            "driver_version": None if driver is None else _text(driver),
            "cuda_version": _cuda_text(self._query(-1, "cuda", "nvmlSystemGetCudaDriverVersion")),
        }
        self.devices = [self._static(i) for i in range(len(self._handles))]

    def _handle(self, index: int):
        try:
            handle = self._query(index, "handle", "nvmlDeviceGetHandleByIndex", index)
        except GpuLost:
            handle = None
        if handle is None:
            self.lost.add(index)
        return handle

    def find(self, pci_bus_id: str) -> int | None:
        """NVML index of the GPU at ``pci_bus_id`` (any common spelling), or None."""
        wanted = normalize_bus_id(pci_bus_id)
        return next((d.index for d in self.devices if d.pci_bus_id == wanted), None)

    def read(self, index: int, time: float, pool_bytes: Callable[[], int | None] | None = None):
        """One :class:`GpuSample`; ``pool_bytes`` gives this process's memory when NVML cannot."""
        if index in self.lost:
            return GpuSample(time, index, lost=True)
        try:
            return self._read(index, time, pool_bytes)
        except GpuLost:
            self.lost.add(index)
            return GpuSample(time, index, lost=True)

    def energy(self, index: int) -> float | None:
        """The cumulative energy counter in joules, or None."""
        if index in self.lost:
            return None
        try:
            mj = self._query(
                index, "energy", "nvmlDeviceGetTotalEnergyConsumption", self._handles[index]
            )
        except GpuLost:
            self.lost.add(index)
            return None
        return None if mj is None else mj / 1000.0

    def close(self) -> None:
        with contextlib.suppress(self.nvml.NVMLError):
            self.nvml.nvmlShutdown()

    def _read(self, index: int, time: float, pool_bytes) -> GpuSample:
        q, h, nv = self._query, self._handles[index], self.nvml
        util = q(index, "utilization", "nvmlDeviceGetUtilizationRates", h)
        memory = self._memory(index, h)
        proc_mem, source = self._process_memory(index, h, pool_bytes)
        events = q(index, "clock_events", "nvmlDeviceGetCurrentClocksEventReasons", h)
        if events is None:
            events = q(index, "throttle", "nvmlDeviceGetCurrentClocksThrottleReasons", h)
        return GpuSample(
            time=time,
            index=index,
            gpu_util=None if util is None else float(util.gpu),
            mem_util=None if util is None else float(util.memory),
            mem_used=None if memory is None else int(memory.used),
            mem_total=None if memory is None else int(memory.total),
            proc_mem=proc_mem,
            proc_mem_source=source,
            temperature=_num(
                q(index, "temperature", "nvmlDeviceGetTemperature", h, nv.NVML_TEMPERATURE_GPU)
            ),
            power=_scaled(q(index, "power", "nvmlDeviceGetPowerUsage", h), 1e-3),
            power_limit=_scaled(
                q(index, "power_limit", "nvmlDeviceGetEnforcedPowerLimit", h), 1e-3
            ),
            sm_clock=_num(q(index, "sm_clock", "nvmlDeviceGetClockInfo", h, nv.NVML_CLOCK_SM)),
            mem_clock=_num(q(index, "mem_clock", "nvmlDeviceGetClockInfo", h, nv.NVML_CLOCK_MEM)),
            fan=_num(q(index, "fan", "nvmlDeviceGetFanSpeed", h)),
            clock_events=None if events is None else clock_event_words(events),
            **self._slow(index, time),
        )

    def _slow(self, index: int, time: float) -> dict:
        """PCIe throughput and energy, re-read at most every ``slow_every_s`` seconds.

        On an H100 each PCIe call blocks ~20 ms (NVML samples it over 20 ms) and the energy
        counter costs ~3.6 ms of CPU: read every tick they would cost over 1% of a core at 2 Hz.
        In between, samples repeat the last reading.
        """
        cached = self._slow_cache.get(index)
        if cached is not None and time - cached[0] < self.slow_every_s:
            return cached[1]
        q, h, nv = self._query, self._handles[index], self.nvml
        rx = q(index, "pcie_rx", "nvmlDeviceGetPcieThroughput", h, nv.NVML_PCIE_UTIL_RX_BYTES)
        tx = q(index, "pcie_tx", "nvmlDeviceGetPcieThroughput", h, nv.NVML_PCIE_UTIL_TX_BYTES)
        values = {"pcie_rx": _num(rx), "pcie_tx": _num(tx), "energy": self.energy(index)}
        self._slow_cache[index] = (time, values)
        return values

    def _memory(self, index: int, handle):
        version = getattr(self.nvml, "nvmlMemory_v2", None)
        # v2 reports 'used' without the driver's reserved memory, as nvidia-smi does
        memory = None
        if version is not None:
            memory = self._query(index, "memory_v2", "nvmlDeviceGetMemoryInfo", handle, version)
        return memory or self._query(index, "memory", "nvmlDeviceGetMemoryInfo", handle)

    def _process_memory(self, index: int, handle, pool_bytes) -> tuple[int | None, str | None]:
        procs = self._query(index, "processes", "nvmlDeviceGetComputeRunningProcesses", handle)
        pid = os.getpid()
        for proc in procs or ():
            if proc.pid == pid and proc.usedGpuMemory is not None:
                return int(proc.usedGpuMemory), "NVML"
        # Inside a container NVML lists host PIDs, so ours is not found: use CuPy's own count.
        pooled = pool_bytes() if pool_bytes is not None else None
        return (int(pooled), "CuPy pool") if pooled is not None else (None, None)

    def _query(self, index: int, metric: str, function: str, *args):
        """``nvml.<function>(*args)``, or None when N/A; raises :class:`GpuLost`."""
        key = (index, metric)
        if key in self.unsupported:
            return None
        fn = getattr(self.nvml, function, None)
        if fn is None:  # an older nvidia-ml-py without this call
            self.unsupported.add(key)
            return None
        nv = self.nvml
        try:
            return fn(*args)
        except nv.NVMLError as exc:
            if isinstance(exc, nv.NVMLError_GpuIsLost):
                raise GpuLost(str(exc)) from None
            if isinstance(exc, tuple(getattr(nv, n) for n in _NA_ERRORS if hasattr(nv, n))):
                self.unsupported.add(key)
            return None

    def _static(self, index: int) -> GpuInfo:
        q, h, nv = self._query, self._handles[index], self.nvml
        if index in self.lost:
            return GpuInfo(index)
        try:
            pci = q(index, "pci", "nvmlDeviceGetPciInfo", h)
            memory = self._memory(index, h)
            name = q(index, "name", "nvmlDeviceGetName", h)
            uuid = q(index, "uuid", "nvmlDeviceGetUUID", h)
            limit = q(index, "power_limit", "nvmlDeviceGetEnforcedPowerLimit", h)
            max_sm = q(index, "max_sm_clock", "nvmlDeviceGetMaxClockInfo", h, nv.NVML_CLOCK_SM)
            max_mem = q(index, "max_mem_clock", "nvmlDeviceGetMaxClockInfo", h, nv.NVML_CLOCK_MEM)
        except GpuLost:
            self.lost.add(index)
            return GpuInfo(index)
        return GpuInfo(
            index=index,
            name=None if name is None else _text(name),
            uuid=None if uuid is None else _text(uuid),
            pci_bus_id=None if pci is None else normalize_bus_id(pci.busId),
            mem_total=None if memory is None else int(memory.total),
            power_limit=_scaled(limit, 1e-3),
            max_sm_clock=_num(max_sm),
            max_mem_clock=_num(max_mem),
        )


def _num(value) -> float | None:
    return None if value is None else float(value)


def _scaled(value, factor: float) -> float | None:
    return None if value is None else float(value) * factor


def _cuda_text(version: int | None) -> str | None:
    """12040 -> '12.4'."""
    return None if version is None else f"{version // 1000}.{version % 1000 // 10}"
