"""CPU package energy from a powercap tree laid out as Linux does (RAPL), in a folder of ours."""

from __future__ import annotations

from pathlib import Path

import pytest

from engine.hardware import Sampler
from engine.hardware.rapl import RaplCounter
from engine.hardware.text import summary_line
from tests.engine.hardware.fake_nvml import (
    FakeClock,
    FakeGpu,
    FakeNvml,
    NVMLError_LibraryNotFound,
)

WRAP = 262_143_328_850  # a real max_energy_range_uj


def _zone(root: Path, name: str, label: str, energy_uj: int, wrap: int = WRAP) -> Path:
    folder = root / name
    folder.mkdir(parents=True)
    (folder / "name").write_text(f"{label}\n")
    (folder / "energy_uj").write_text(f"{energy_uj}\n")
    (folder / "max_energy_range_uj").write_text(f"{wrap}\n")
    return folder


def _set(folder: Path, energy_uj: int) -> None:
    (folder / "energy_uj").write_text(f"{energy_uj}\n")


@pytest.fixture
def powercap(tmp_path):
    """Two packages, a core sub-zone of package 0 and a psys zone: only packages count."""
    root = tmp_path / "powercap"
    zones = {
        "pkg0": _zone(root, "intel-rapl:0", "package-0", 1_000_000),
        "pkg1": _zone(root, "intel-rapl:1", "package-1", 5_000_000),
        "core": _zone(root, "intel-rapl:0:0", "core", 7_000_000),
        "psys": _zone(root, "intel-rapl:2", "psys", 9_000_000),
    }
    return root, zones


def test_sums_the_packages_only(powercap):
    root, zones = powercap
    counter = RaplCounter(root)
    assert counter.available and counter.read() == 0.0
    _set(zones["pkg0"], 3_000_000)  # +2 J
    _set(zones["pkg1"], 5_500_000)  # +0.5 J
    _set(zones["core"], 99_000_000)  # part of package 0: not added again
    _set(zones["psys"], 99_000_000)
    assert counter.read() == pytest.approx(2.5)


def test_a_wrap_between_reads_is_counted(powercap):
    root, zones = powercap
    counter = RaplCounter(root)
    _set(zones["pkg0"], WRAP - 1_000_000)
    assert counter.read() == pytest.approx((WRAP - 2_000_000) / 1e6)
    _set(zones["pkg0"], 4_000_000)  # went past the range and on by 4 J
    assert counter.read() == pytest.approx((WRAP + 3_000_000) / 1e6)


def test_missing_interface_says_why(tmp_path):
    counter = RaplCounter(tmp_path / "nowhere")
    assert counter.read() is None and not counter.available
    assert "no powercap interface" in counter.reason


def test_no_package_zone_says_why(tmp_path):
    _zone(tmp_path, "intel-rapl:2", "psys", 1)
    assert "no CPU package energy counter" in RaplCounter(tmp_path).reason


def test_root_only_counter_says_what_to_change(powercap, monkeypatch):
    root, _ = powercap
    original = Path.read_text

    def read_text(self, *args, **kwargs):
        if self.name == "energy_uj":
            raise PermissionError(13, "Permission denied")
        return original(self, *args, **kwargs)

    monkeypatch.setattr(Path, "read_text", read_text)
    counter = RaplCounter(root)
    assert counter.read() is None
    assert "readable by root only" in counter.reason and "energy_uj" in counter.reason


def test_cpu_run_summary_reports_energy_per_run_and_epoch(powercap):
    root, zones = powercap
    clock = FakeClock()
    sampler = Sampler(nvml=FakeNvml(init_error=NVMLError_LibraryNotFound), clock=clock,
                      powercap=root)  # fmt: skip
    sampler.begin_run(clock.now)
    for energy in (11_000_000, 21_000_000, 41_000_000):  # package 0: +40 J in all
        clock.now += 0.5
        _set(zones["pkg0"], energy)
        sampler.poll()
    summary = sampler.end_run(epochs=4)
    assert summary["energy_j"] == pytest.approx(40.0)
    assert summary["joules_per_epoch"] == pytest.approx(10.0)
    assert summary["cpu_energy_j"] == pytest.approx(40.0)
    assert summary["cpu_energy_source"].startswith("RAPL")
    assert sampler.training_samples()[-1].energy == pytest.approx(40.0)
    assert "CPU energy 40 J, 10 J per epoch" in summary_line(summary)


def test_gpu_run_summary_says_why_cpu_energy_is_na(tmp_path):
    gpu, clock = FakeGpu(), FakeClock()
    sampler = Sampler(nvml=FakeNvml([gpu]), clock=clock, powercap=tmp_path / "absent")
    sampler.begin_run(clock.now)
    clock.now += 1.0
    sampler.poll()
    summary = sampler.end_run(epochs=1)
    assert summary["cpu_energy_j"] is None
    assert "no powercap interface" in summary["cpu_energy_na"]
    line = summary_line(summary)
    assert "CPU energy N/A: no powercap interface" in line


def test_gpu_run_summary_adds_the_cpu_energy(powercap):
    root, zones = powercap
    gpu, clock = FakeGpu(), FakeClock()
    sampler = Sampler(nvml=FakeNvml([gpu]), clock=clock, powercap=root)
    sampler.begin_run(clock.now)
    clock.now += 1.0
    _set(zones["pkg1"], 8_000_000)  # +3 J
    sampler.poll()
    summary = sampler.end_run(epochs=3)
    assert summary["device"] == "gpu" and summary["cpu_energy_j"] == pytest.approx(3.0)
    assert summary["cpu_joules_per_epoch"] == pytest.approx(1.0)
