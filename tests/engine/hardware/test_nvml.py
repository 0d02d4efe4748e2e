"""NVML readings through a fake pynvml: every metric, N/A handling, lost GPUs, bus-id matching."""

from __future__ import annotations

import sys

import pytest

from engine.hardware import GpuSample, Sampler, normalize_bus_id, nvml_status
from engine.hardware.nvml import clock_event_words
from tests.engine.hardware.fake_nvml import (
    MIB,
    FakeClock,
    FakeGpu,
    FakeNvml,
    NVMLError_FunctionNotFound,
    NVMLError_LibraryNotFound,
    NVMLError_NoPermission,
    NVMLError_NotSupported,
    NVMLError_Unknown,
)


class FakeBackend:
    def __init__(self, pci_bus_id=None, reason=None, gpu_index=0):
        self.is_gpu = pci_bus_id is not None
        self.info = {"pci_bus_id": pci_bus_id} if self.is_gpu else {}
        self.reason, self.gpu_index = reason, gpu_index


def test_every_metric_is_read_with_units_converted():
    nvml = FakeNvml([FakeGpu()])
    sampler = Sampler(nvml=nvml, clock=FakeClock(12.5))
    (s,) = sampler.poll()
    assert s == GpuSample(
        time=12.5,
        index=0,
        gpu_util=87.0,
        mem_util=41.0,
        mem_used=2048 * MIB,
        mem_total=81559 * MIB,
        proc_mem=1536 * MIB,
        proc_mem_source="NVML",
        temperature=55.0,
        power=310.0,
        power_limit=700.0,
        sm_clock=1980.0,
        mem_clock=2619.0,
        fan=30.0,
        pcie_rx=1200.0,
        pcie_tx=800.0,
        clock_events=("power cap",),
        energy=5000.0,
    )
    assert sampler.mode == "gpu" and sampler.notice is None
    assert nvml.calls["nvmlDeviceGetMemoryInfo_v2"] >= 1  # the v2 API first
    assert nvml.calls["nvmlDeviceGetMemoryInfo"] == 0


def test_static_facts_are_read_once_and_cached():
    nvml = FakeNvml([FakeGpu(bus_id="00000000:3B:00.0")])
    sampler = Sampler(nvml=nvml)
    for _ in range(3):
        sampler.poll()
    (info,) = sampler.devices
    assert (info.name, info.uuid, info.pci_bus_id) == (
        "NVIDIA Fake H100",
        "GPU-00000000-fake",
        "0000:3b:00.0",
    )
    assert (info.mem_total, info.power_limit) == (81559 * MIB, 700.0)
    assert (info.max_sm_clock, info.max_mem_clock) == (1980.0, 2619.0)
    assert sampler.system == {"driver_version": "550.54.15", "cuda_version": "12.4"}
    assert nvml.calls["nvmlDeviceGetName"] == 1
    assert nvml.calls["nvmlDeviceGetMaxClockInfo"] == 2


def test_unsupported_metrics_read_none_and_are_not_retried():
    gpu = FakeGpu(
        errors={
            "nvmlDeviceGetFanSpeed": NVMLError_NotSupported,  # passively cooled
            "nvmlDeviceGetPcieThroughput": NVMLError_NotSupported,
            "nvmlDeviceGetTotalEnergyConsumption": NVMLError_NotSupported,
            "nvmlDeviceGetTemperature": NVMLError_NoPermission,
            "nvmlDeviceGetMemoryInfo_v2": NVMLError_FunctionNotFound,  # old driver: v1 only
            "nvmlDeviceGetCurrentClocksEventReasons": NVMLError_FunctionNotFound,
        }
    )
    nvml = FakeNvml([gpu])
    sampler = Sampler(nvml=nvml)
    samples = [sampler.poll()[0] for _ in range(4)]
    s = samples[-1]
    assert (s.fan, s.pcie_rx, s.pcie_tx, s.energy, s.temperature) == (None,) * 5
    assert s.mem_used == 2048 * MIB  # from the v1 call
    assert s.clock_events == ("power cap",)  # from the older throttle-reasons call
    assert s.gpu_util == 87.0 and s.power == 310.0  # the rest is unaffected
    for function in gpu.errors:
        once = 2 if function == "nvmlDeviceGetPcieThroughput" else 1  # rx and tx
        assert nvml.calls[function] == once, function
    assert nvml.calls["nvmlDeviceGetUtilizationRates"] == 4


def test_a_transient_error_is_retried_next_tick():
    gpu = FakeGpu(errors={"nvmlDeviceGetPowerUsage": NVMLError_Unknown})
    nvml = FakeNvml([gpu])
    sampler = Sampler(nvml=nvml)
    assert sampler.poll()[0].power is None
    del gpu.errors["nvmlDeviceGetPowerUsage"]
    assert sampler.poll()[0].power == 310.0


def test_a_binding_without_a_function_reads_none():
    class OldBinding(FakeNvml):
        nvmlDeviceGetCurrentClocksEventReasons = None  # added in a later nvidia-ml-py
        nvmlDeviceGetCurrentClocksThrottleReasons = None

    (s,) = Sampler(nvml=OldBinding()).poll()
    assert s.clock_events is None and s.gpu_util == 87.0


def test_library_not_found_falls_back_to_the_cpu_with_the_reason():
    sampler = Sampler(nvml=FakeNvml(init_error=NVMLError_LibraryNotFound))
    (s,) = sampler.poll()
    assert sampler.mode == "cpu" and s.kind == "cpu"
    assert sampler.reason == "no NVIDIA driver found (NVML library not found)"
    assert sampler.notice == f"no NVIDIA GPU in use: {sampler.reason}"
    assert s.ram_total > s.ram_used > 0 and s.rss > 0 and s.process_cpu is not None


def test_gpu_backend_without_nvml_says_telemetry_is_unavailable():
    sampler = Sampler(nvml=FakeNvml(init_error=NVMLError_LibraryNotFound))
    sampler.attach(FakeBackend("0000:3B:00.0"))
    sampler.open()
    assert sampler.mode == "cpu"
    assert sampler.notice.startswith("GPU telemetry unavailable: no NVIDIA driver found")


def test_missing_nvidia_ml_py_is_a_reason_too(monkeypatch):
    monkeypatch.setitem(sys.modules, "pynvml", None)  # makes `import pynvml` raise ImportError
    sampler = Sampler()
    sampler.open()
    assert sampler.mode == "cpu" and sampler.reason == "nvidia-ml-py is not installed"
    assert nvml_status() == "unavailable — nvidia-ml-py is not installed"


def test_nvml_status_reports_driver_and_count(monkeypatch):
    monkeypatch.setitem(sys.modules, "pynvml", FakeNvml([FakeGpu(), FakeGpu()]))
    assert nvml_status() == "driver 550.54.15, 2 GPU(s)"
    monkeypatch.setitem(sys.modules, "pynvml", FakeNvml(init_error=NVMLError_LibraryNotFound))
    assert nvml_status().startswith("unavailable — no NVIDIA driver found")


def test_cpu_backend_samples_the_cpu_without_starting_nvml():
    nvml = FakeNvml()
    sampler = Sampler(nvml=nvml)
    sampler.attach(FakeBackend(reason="CPU requested"))
    sampler.open()
    assert sampler.poll()[0].kind == "cpu"
    assert nvml.initialised == 0
    assert sampler.notice == "no NVIDIA GPU in use: CPU requested"


def test_two_gpus_the_training_one_is_picked_by_pci_bus_id():
    gpus = [FakeGpu(bus_id="00000000:3B:00.0", gpu_util=3), FakeGpu(bus_id="00000000:AF:00.0")]
    sampler = Sampler(nvml=FakeNvml(gpus))
    sampler.attach(FakeBackend("0000:AF:00.0"))  # engine.backend spells it this way
    assert sampler.training_index is None  # NVML starts on the first poll, not in attach()
    sampler.open()
    assert sampler.training_index == 1
    new = sampler.poll()
    assert [s.index for s in new] == [0, 1]  # the other GPU is sampled too
    assert [s.index for s in sampler.training_samples()] == [1]
    assert sampler.training_info.pci_bus_id == "0000:af:00.0"


def test_an_unknown_bus_id_is_said_and_gpu_0_shown():
    sampler = Sampler(nvml=FakeNvml([FakeGpu(bus_id="00000000:3B:00.0")]))
    sampler.attach(FakeBackend("0000:99:00.0"))
    sampler.open()
    assert sampler.training_index == 0
    assert "0000:99:00.0" in sampler.notice


def test_a_gpu_lost_mid_run_is_marked_and_the_others_keep_sampling():
    gpus = [FakeGpu(bus_id="0000:3B:00.0"), FakeGpu(bus_id="0000:AF:00.0")]
    nvml = FakeNvml(gpus)
    clock = FakeClock()
    sampler = Sampler(nvml=nvml, clock=clock)
    sampler.attach(FakeBackend("0000:AF:00.0"))
    sampler.open()
    sampler.begin_run(clock.now)
    sampler.poll()
    gpus[1].lost = True
    clock.now += 0.5
    first, second = sampler.poll()
    assert not first.lost and first.gpu_util == 87.0
    assert second.lost and second.gpu_util is None
    calls = sum(nvml.calls.values())
    clock.now += 0.5
    assert sampler.poll()[1].lost
    assert sum(nvml.calls.values()) - calls < 20  # the lost GPU is not queried again
    assert "lost" in sampler.notice
    summary = sampler.end_run(epochs=1)
    assert summary["lost"] and summary["energy_j"] is None


def test_a_container_pid_mismatch_falls_back_to_the_cupy_pool():
    gpu = FakeGpu(processes=[(4_000_000, 900 * MIB)])  # a host PID, not ours
    (s,) = Sampler(nvml=FakeNvml([gpu]), pool_bytes=lambda: 512 * MIB).poll()
    assert (s.proc_mem, s.proc_mem_source) == (512 * MIB, "CuPy pool")
    (s,) = Sampler(nvml=FakeNvml([gpu])).poll()
    assert (s.proc_mem, s.proc_mem_source) == (None, None)


@pytest.mark.parametrize(
    "text", ["00000000:3B:00.0", "0000:3b:00.0", "3B:00.0", b"00000000:3B:00.0\x00", "0000:3B:00"]
)
def test_bus_id_spellings_normalise_alike(text):
    assert normalize_bus_id(text) == "0000:3b:00.0"


def test_clock_event_words():
    assert clock_event_words(0) == ()
    assert clock_event_words(0x1 | 0x40) == ("idle", "hardware thermal slowdown")


def test_slow_metrics_are_reread_every_few_seconds_and_repeated_between():
    gpu, clock = FakeGpu(), FakeClock()
    nvml = FakeNvml([gpu])
    sampler = Sampler(nvml=nvml, clock=clock, slow_every_s=5.0)
    energies = []
    for _ in range(12):
        energies.append(sampler.poll()[0].energy)
        gpu.energy_mj += 1000
        clock.now += 0.5
    assert energies == [5000.0] * 10 + [5010.0] * 2  # re-read at 5 s
    assert nvml.calls["nvmlDeviceGetTotalEnergyConsumption"] == 2
    assert nvml.calls["nvmlDeviceGetPcieThroughput"] == 4  # rx + tx, twice
    assert nvml.calls["nvmlDeviceGetUtilizationRates"] == 12
