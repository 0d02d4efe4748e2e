"""The sampler's thread, run summaries, idle advice, CPU mode and recordings."""

from __future__ import annotations

import sys
import time

import pytest

from engine.hardware import (
    IDLE_ADVICE,
    GpuSample,
    Sampler,
    idle_advice,
    read_recording,
    recording,
    write_recording,
)
from tests.engine.hardware.fake_nvml import (
    MIB,
    FakeClock,
    FakeGpu,
    FakeNvml,
    NVMLError_LibraryNotFound,
    NVMLError_NotSupported,
)


def _run(sampler, clock, gpu, seconds=10, utils=(20, 60)):
    """Begin a run, sample every 0.5 s while the fake GPU works, end it after 2 epochs.

    begin_run() and end_run() poll too: 22 samples over 10 s.
    """
    gpu.gpu_util, gpu.mem_used = utils[0], 1000 * MIB
    sampler.begin_run(clock.now)
    for i in range(int(seconds * 2)):
        clock.now += 0.5
        gpu.gpu_util = utils[i % 2]
        gpu.mem_used = (1000 + 10 * i) * MIB
        gpu.energy_mj += 150_000  # 300 W for 0.5 s
        sampler.poll()
    return sampler.end_run(epochs=2)


def test_run_summary_from_the_energy_counter():
    gpu, clock = FakeGpu(), FakeClock()
    sampler = Sampler(nvml=FakeNvml([gpu]), clock=clock)
    sampler.poll()  # before the run: not counted
    clock.now += 1.0
    summary = _run(sampler, clock, gpu)
    assert summary["device"] == "gpu" and summary["name"] == "NVIDIA Fake H100"
    assert summary["seconds"] == 10.0 and summary["samples"] == 22
    assert summary["mean_gpu_util_pct"] == 40.0
    assert summary["peak_memory_mib"] == 1190.0
    assert summary["peak_process_memory_mib"] == 1536.0
    assert summary["process_memory_source"] == "NVML"
    assert summary["energy_j"] == pytest.approx(3000.0)
    assert summary["energy_source"] == "NVML energy counter"
    assert summary["joules_per_epoch"] == pytest.approx(1500.0)
    assert summary["clock_events"] == ["power cap"]


def test_run_energy_is_estimated_from_power_without_the_counter():
    gpu = FakeGpu(
        power_mw=200_000, errors={"nvmlDeviceGetTotalEnergyConsumption": NVMLError_NotSupported}
    )
    clock = FakeClock()
    sampler = Sampler(nvml=FakeNvml([gpu]), clock=clock)
    summary = _run(sampler, clock, gpu)
    assert summary["energy_j"] == pytest.approx(2000.0)  # 200 W for 10 s
    assert summary["energy_source"] == "estimated from power samples"
    assert summary["joules_per_epoch"] == pytest.approx(1000.0)


def test_cpu_mode_summary():
    clock = FakeClock()
    sampler = Sampler(nvml=FakeNvml(init_error=NVMLError_LibraryNotFound), clock=clock)
    sampler.begin_run(clock.now)
    for _ in range(3):
        clock.now += 0.5
        sampler.poll()
    summary = sampler.end_run(epochs=3)
    assert summary["device"] == "cpu" and summary["samples"] == 5
    assert summary["peak_rss_mib"] > 1 and summary["mean_process_cpu_pct"] is not None
    with pytest.raises(RuntimeError):
        sampler.end_run(epochs=3)


def test_cpu_mode_without_psutil_still_reads_process_cpu(monkeypatch):
    monkeypatch.setitem(sys.modules, "psutil", None)
    sampler = Sampler(nvml=FakeNvml(init_error=NVMLError_LibraryNotFound))
    sampler.poll()
    sum(i * i for i in range(200_000))  # some CPU work between the reads
    (s,) = sampler.poll()
    assert s.process_cpu is not None and s.process_cpu > 0
    assert (s.ram_used, s.rss) == (None, None)


def test_background_thread_samples_at_its_rate_and_drains():
    sampler = Sampler(nvml=FakeNvml([FakeGpu(), FakeGpu(bus_id="0000:AF:00.0")]), rate_hz=20)
    sampler.start()
    time.sleep(0.4)
    sampler.stop()
    drained = sampler.drain()
    assert 4 <= len(drained) // 2 <= 12  # two GPUs per tick, ~8 ticks
    assert sampler.drain() == []
    assert len(sampler.samples) == len(drained)
    assert sampler.error is None
    sampler.close()


def test_thread_times_share_the_training_clock():
    sampler = Sampler(nvml=FakeNvml(), rate_hz=20)
    before = time.monotonic()
    sampler.start()
    time.sleep(0.1)
    sampler.close()
    assert all(before <= s.time <= time.monotonic() for s in sampler.samples)


def test_ring_buffer_is_bounded():
    sampler = Sampler(nvml=FakeNvml(), capacity=5)
    for _ in range(12):
        sampler.poll()
    assert len(sampler.samples) == 5 and len(sampler.drain()) == 5


def test_rate_out_of_range_is_refused():
    with pytest.raises(ValueError):
        Sampler(rate_hz=0)


def _gpu_samples(utils, t0=0.0):
    return [GpuSample(t0 + 0.5 * i, 0, gpu_util=u) for i, u in enumerate(utils)]


def test_idle_advice_after_ten_seconds_under_forty_percent():
    idle = _gpu_samples([15.0] * 24)
    assert idle_advice(idle, now=11.5, since=0.0) == IDLE_ADVICE
    assert idle_advice(idle, now=5.0, since=0.0) is None  # too early to tell
    busy = _gpu_samples([15.0] * 4 + [90.0] * 20)
    assert idle_advice(busy, now=11.5, since=0.0) is None


def test_recording_round_trip(tmp_path):
    clock = FakeClock()
    gpu = FakeGpu()
    sampler = Sampler(nvml=FakeNvml([gpu]), clock=clock)
    summary = _run(sampler, clock, gpu, seconds=2)
    path = write_recording(tmp_path / "t.json", recording(sampler, summary, source="fake NVML"))
    data = read_recording(path)
    assert data["meta"] == {"source": "fake NVML"} and data["summary"] == summary
    assert data["samples"] == list(sampler.samples)
    assert data["devices"] == sampler.devices and data["training_index"] == 0
    assert not list(tmp_path.glob("*.tmp"))
