"""The hardware panel: live plots from a fake NVML, CPU mode, idle advice, replayed fixtures."""

from __future__ import annotations

import math
import time
from pathlib import Path

import pytest

from engine.hardware import IDLE_ADVICE, Sampler, read_recording, recording, write_recording
from gui.hardware_panel import HardwarePanel
from tests.engine.hardware.fake_nvml import FakeClock, FakeGpu, FakeNvml, NVMLError_LibraryNotFound

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures"


class FakeBackend:
    def __init__(self, pci_bus_id=None, reason=None):
        self.is_gpu = pci_bus_id is not None
        self.info = {"pci_bus_id": pci_bus_id} if self.is_gpu else {}
        self.reason, self.gpu_index = reason, 0


def _panel(qtbot, sampler):
    panel = HardwarePanel(sampler)
    qtbot.addWidget(panel)
    panel.resize(700, 800)
    panel.show()
    qtbot.waitExposed(panel)
    return panel


def _curve(panel, plot, curve=0):
    return panel.curves[plot][curve].getData()


def test_live_gpu_plots_update_for_seconds_without_crashing(qtbot):
    """PySide6 6.12.0 killed live pyqtgraph plots within seconds (GUIDE §7): keep this live."""
    gpus = [FakeGpu(bus_id="00000000:3B:00.0"), FakeGpu(bus_id="00000000:AF:00.0", gpu_util=99)]
    panel = _panel(qtbot, Sampler(nvml=FakeNvml(gpus), rate_hz=20))
    t0 = time.monotonic()
    panel.attach(FakeBackend("0000:3B:00.0"))
    panel.run_started(t0)
    end = time.monotonic() + 3.0
    step = 0
    while time.monotonic() < end:
        step += 1
        gpus[0].gpu_util = 50 + step % 40
        gpus[0].energy_mj += 10_000
        panel.secondary.setCurrentIndex(step // 10 % panel.secondary.count())
        qtbot.wait(50)
    summary = panel.run_finished(epochs=2)
    panel.shutdown()
    x, y = _curve(panel, 0)
    assert len(x) > 20 and x[0] >= 0 and y.min() >= 50 and y.max() < 90  # GPU 0, not GPU 1
    assert panel.device_label.text().startswith("NVIDIA Fake H100 · driver 550.54.15 · CUDA 12.4")
    assert "0000:3b:00.0" in panel.device_label.text()
    assert panel.notice_label.isHidden() and panel.advisor_label.isHidden()
    assert summary["device"] == "gpu" and summary["energy_j"] > 0
    span = x.max() - x.min()
    for plot in panel.plots:  # one x-range for all three, following the samples
        low, high = plot.viewRange()[0]
        assert low <= x.min() and high >= x.max() > 2.0, (low, high, x.max())
        assert high - low <= 1.2 * span, (low, high, span)  # not stretched by its width
    assert summary["joules_per_epoch"] == pytest.approx(summary["energy_j"] / 2)
    assert panel.summary_label.text().startswith("Run: mean GPU")


def test_every_metric_is_shown_as_text(qtbot):
    sampler = Sampler(nvml=FakeNvml([FakeGpu()]), rate_hz=20)
    panel = _panel(qtbot, sampler)
    panel.attach(FakeBackend("0000:3B:00.0"))
    qtbot.waitUntil(lambda: "GPU 87%" in panel.values_label.text(), timeout=3000)
    panel.shutdown()
    text = panel.values_label.text()
    for part in (
        "memory busy 41%",
        "memory 2,048 MiB / 81,559 MiB",
        "this process 1,536 MiB (NVML)",
        "55 °C",
        "power 310 W / 700 W",
        "SM 1,980 MHz",
        "memory clock 2,619 MHz",
        "fan 30%",
        "PCIe rx 1.2 MB/s tx 0.8 MB/s",
        "clocks held back: power cap",
        "energy 5,000 J",
    ):
        assert part in text


def test_secondary_series_are_selectable(qtbot):
    clock = FakeClock()
    sampler = Sampler(nvml=FakeNvml([FakeGpu()]), clock=clock)
    for _ in range(4):
        clock.now += 0.5
        sampler.poll()
    panel = _panel(qtbot, None)
    panel.load_samples(recording(sampler))
    expected = {
        "Temperature (°C)": 55.0,
        "Power (W)": 310.0,
        "Clocks (MHz)": 1980.0,
        "PCIe (MB/s)": 1.2,
        "Fan (%)": 30.0,
    }
    for name, value in expected.items():
        panel.secondary.setCurrentText(name)
        assert panel.plots[2].plotItem.titleLabel.text == name
        assert _curve(panel, 2)[1][-1] == pytest.approx(value)


def test_cpu_mode_shows_cpu_series_and_why(qtbot):
    sampler = Sampler(nvml=FakeNvml(init_error=NVMLError_LibraryNotFound), rate_hz=20)
    panel = _panel(qtbot, sampler)
    panel.attach(FakeBackend(reason="no NVIDIA driver found"))
    qtbot.waitUntil(
        lambda: _curve(panel, 1)[0] is not None and len(_curve(panel, 1)[0]) >= 3, timeout=3000
    )
    panel.shutdown()
    assert panel.notice_label.isVisible()
    assert panel.notice_label.text() == "no NVIDIA GPU in use: no NVIDIA driver found"
    assert panel.plots[0].plotItem.titleLabel.text == "CPU (%)"
    assert _curve(panel, 1)[1][-1] > 0  # RAM in MiB
    assert panel.plots[2].isHidden() and not panel.secondary.isEnabled()
    assert panel.device_label.text() == "CPU"


def test_gpu_without_nvml_is_said(qtbot):
    sampler = Sampler(nvml=FakeNvml(init_error=NVMLError_LibraryNotFound), rate_hz=20)
    panel = _panel(qtbot, sampler)
    panel.attach(FakeBackend("0000:3B:00.0"))
    qtbot.waitUntil(panel.notice_label.isVisible, timeout=3000)
    panel.shutdown()
    assert panel.notice_label.text().startswith("GPU telemetry unavailable")


def test_advisor_line_when_the_gpu_idles_during_training(qtbot):
    gpu = FakeGpu(gpu_util=12)
    clock = FakeClock()
    sampler = Sampler(nvml=FakeNvml([gpu]), clock=clock)
    panel = _panel(qtbot, sampler)
    panel.attach(FakeBackend("0000:3B:00.0"))
    panel.sampler.stop()  # the test drives time itself
    panel.run_started(clock.now)
    for _ in range(24):
        clock.now += 0.5
        sampler.poll()
    panel._timer.timeout.emit()
    assert panel.advisor_label.isVisible() and panel.advisor_label.text() == IDLE_ADVICE
    gpu.gpu_util = 95
    for _ in range(24):
        clock.now += 0.5
        sampler.poll()
    panel._timer.timeout.emit()
    assert panel.advisor_label.isHidden()
    panel.shutdown()


def test_a_lost_training_gpu_is_said_and_the_panel_keeps_going(qtbot):
    gpu = FakeGpu()
    panel = _panel(qtbot, Sampler(nvml=FakeNvml([gpu]), rate_hz=20))
    panel.attach(FakeBackend("0000:3B:00.0"))
    qtbot.waitUntil(lambda: "GPU 87%" in panel.values_label.text(), timeout=3000)
    gpu.lost = True
    qtbot.waitUntil(lambda: "lost" in panel.notice_label.text(), timeout=3000)
    panel.shutdown()
    assert panel.values_label.text() == "GPU 0 lost"
    assert math.isnan(_curve(panel, 0)[1][-1])


def test_replay_a_fake_nvml_recording_written_at_test_time(qtbot, tmp_path):
    clock, gpu = FakeClock(), FakeGpu(gpu_util=0)
    sampler = Sampler(nvml=FakeNvml([gpu]), clock=clock, powercap=tmp_path / "no-powercap")
    t0 = clock.now
    sampler.begin_run(t0)
    for i in range(20):
        clock.now += 0.5
        gpu.gpu_util = 10 * (i % 10)
        gpu.energy_mj += 100_000
        sampler.poll()
    summary = sampler.end_run(epochs=2)
    data = recording(sampler, summary, source="fake NVML (tests)", t0=t0)
    path = write_recording(tmp_path / "telemetry_fake.json", data)
    panel = _panel(qtbot, None)
    panel.load_samples(read_recording(path))
    x, y = _curve(panel, 0)
    assert list(x) == [0.5 * i for i in range(21)] + [10.0]  # begin_run and end_run poll too
    assert list(y) == [0.0] + [10.0 * (i % 10) for i in range(20)] + [90.0]
    assert panel.summary_label.text() == (
        "Run: mean GPU 45%, peak memory 2,048 MiB, energy 2,000 J, 1,000 J per epoch; "
        f"CPU energy N/A: no powercap interface ({tmp_path / 'no-powercap'} is missing: "
        "not Linux, or no RAPL driver loaded)"
    )
    assert panel.last_summary == summary


def _recorded_fixtures() -> list[Path]:
    return sorted(FIXTURES.glob("telemetry_*.json"))


@pytest.mark.skipif(
    not _recorded_fixtures(),
    reason="no GPU recording in tests/fixtures: run scripts/record_telemetry.py on an NVIDIA GPU",
)
@pytest.mark.parametrize("path", _recorded_fixtures(), ids=lambda p: p.name)
def test_replay_a_recording_made_on_a_real_gpu(qtbot, path):
    data = read_recording(path)
    assert data["mode"] == "gpu" and data["meta"]["device"].startswith("gpu")
    panel = _panel(qtbot, None)
    panel.load_samples(data)
    x, util = _curve(panel, 0)
    summary = data["summary"]
    assert len(x) == sum(s.index == data["training_index"] for s in data["samples"])
    assert summary["samples"] >= 2 and x.min() < 0 < x.max()  # idle before, training after t0
    assert summary["mean_gpu_util_pct"] is not None and util.max() > 0
    assert summary["energy_j"] > 0 and summary["joules_per_epoch"] > 0
    assert data["devices"][data["training_index"]].name in panel.device_label.text()
    assert "driver" in panel.device_label.text() and "CUDA" in panel.device_label.text()
    for name in ("Temperature (°C)", "Power (W)", "Clocks (MHz)"):
        panel.secondary.setCurrentText(name)
        assert (_curve(panel, 2)[1] > 0).any(), name


def test_in_the_live_view_hardware_redraws_share_the_plots_budget(qtbot, monkeypatch):
    """New samples are drawn when the live view's frame budget allows, not as they arrive."""
    from gui import live_view

    gpus = [FakeGpu(bus_id="00000000:3B:00.0")]
    monkeypatch.setattr(
        live_view, "HardwarePanel", lambda: HardwarePanel(Sampler(nvml=FakeNvml(gpus), rate_hz=20))
    )
    view = live_view.LiveView()
    qtbot.addWidget(view)
    view.resize(700, 900)
    view.show()
    qtbot.waitExposed(view)
    view.budget.min_s = 0.5  # at most two redraws a second ...
    view.budget.share = 1.0  # ... whatever they cost (spacing by cost: tests/gui/test_plots.py)
    view.start("classification", time.monotonic(), FakeBackend("0000:3B:00.0"))
    drawn = []
    original = HardwarePanel._redraw

    def counted(panel):
        drawn.append(time.monotonic())
        original(panel)

    monkeypatch.setattr(HardwarePanel, "_redraw", counted)
    qtbot.wait(1600)
    view.shutdown()
    gaps = [round(b - a, 3) for a, b in zip(drawn, drawn[1:])]
    assert len(view.hardware._samples) >= 10  # sampled at 20 Hz ...
    assert 2 <= len(drawn) <= 5, gaps  # ... drawn at most every 0.5 s
    assert min(gaps) >= 0.4, gaps  # (a coarse QTimer may fire up to 5 % early)
    assert len(_curve(view.hardware, 0)[0]) >= 8
