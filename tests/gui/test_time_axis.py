"""One time axis in the Live tab: the x-axis choice, one shared x-range in time mode, the
crosshair's read-out, epoch lines on the hardware plots, a stored run replayed, and the history
CSV with the hardware samples on the same time axis."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from PySide6.QtCore import QPointF
from PySide6.QtWidgets import QComboBox, QLabel

from engine.hardware import CpuSample, GpuSample, sample_to_dict
from engine.runs.store import RunStore
from gui.live_view import LiveView

T0 = 1000.0  # the run's start on time.monotonic()
MIB = 1 << 20
PER_EPOCH = 10


def gpu_samples(count=15):
    """One every 0.5 s from the start: GPU 10 % per sample, 100 MiB per sample, 100 W + 1 W."""
    return [
        GpuSample(T0 + 0.5 * i, 0, gpu_util=10.0 * i, mem_used=100 * i * MIB, power=100.0 + i)
        for i in range(count)
    ]


@pytest.fixture
def view(qtbot):
    live = LiveView()
    qtbot.addWidget(live)
    live.resize(900, 1000)
    live.show()
    qtbot.waitExposed(live)
    yield live
    live.shutdown()


def train_three_epochs(view):
    """Three epochs of 10 steps, 2 s each; progress every 5 steps (1 s); loss = 1 / step."""
    history = {"loss": [], "accuracy": [], "val_loss": [], "val_accuracy": []}
    view.start("classification", T0, None, history, PER_EPOCH)
    view.hardware.load_samples(gpu_samples(), t0=T0)
    for batch in range(1, 7):
        steps = np.arange((batch - 1) * 5 + 1, batch * 5 + 1)
        epoch = batch * 5 // PER_EPOCH
        while len(history["loss"]) < epoch:
            e = len(history["loss"]) + 1
            for key, value in (("loss", 1 / e), ("accuracy", 0.5 + 0.1 * e),
                               ("val_loss", 1.1 / e), ("val_accuracy", 0.4 + 0.1 * e)):  # fmt: skip
                history[key].append(value)
        view.add_progress({"steps": steps, "losses": (1.0 / steps).astype(np.float32),
                           "global_step": int(steps[-1]), "epoch": epoch, "samples": 0,
                           "time": T0 + batch})  # fmt: skip
    view.flush()
    return history


def x_ranges(view, qtbot):
    qtbot.wait(50)  # the paints that apply pending auto-ranges
    plots = [view.loss.plot, view.metric_plot.plot, *view.hardware.plots[:2]]
    return [tuple(plot.viewRange()[0]) for plot in plots]


def curve(plot, name: str):
    """The curve of ``plot`` whose legend reads ``name``."""
    return next(item for item in plot.listDataItems() if item.name() == name)


def bottom_label(plot) -> str:
    return plot.getAxis("bottom").labelText


def test_the_axis_choice_relabels_and_time_mode_shares_one_x_range(view, qtbot):
    train_three_epochs(view)
    combo = view.findChild(QComboBox, "xAxisMode")
    assert [combo.itemText(i) for i in range(combo.count())] == ["step", "epoch", "time"]
    assert combo.currentText() == "step"
    assert bottom_label(view.loss.plot).startswith("Training step")
    assert view.loss.raw_curve.getData()[0][-1] == 30

    combo.setCurrentText("epoch")
    for plot in (view.loss.plot, view.metric_plot.plot):
        assert bottom_label(plot) == "Epoch"
    assert view.loss.raw_curve.getData()[0][-1] == pytest.approx(3.0)
    assert curve(view.metric_plot.plot, "accuracy").getData()[0].tolist() == [1, 2, 3]

    combo.setCurrentText("time")
    assert bottom_label(view.loss.plot).startswith("Seconds")
    x, _ = view.loss.raw_curve.getData()
    assert x[4] == pytest.approx(1.0) and x[-1] == pytest.approx(6.0)  # step 5 at 1 s, 30 at 6 s
    assert curve(view.metric_plot.plot, "accuracy").getData()[0].tolist() == [2.0, 4.0, 6.0]
    ranges = x_ranges(view, qtbot)
    for low, high in ranges[1:]:
        assert (low, high) == pytest.approx(ranges[0])
    low, high = ranges[0]
    assert low <= 0.2 and 6.0 <= high < 7.0  # the training's seconds, not steps

    combo.setCurrentText("step")
    ranges = x_ranges(view, qtbot)
    assert ranges[0][1] >= 30 and ranges[2][1] < 10  # the hardware plots keep their seconds
    assert ranges[1] == pytest.approx(ranges[0])  # loss and metric still line up


def test_the_crosshair_reads_every_value_at_one_moment(view, qtbot):
    history = train_three_epochs(view)
    view.set_x_mode("time")
    label = view.findChild(QLabel, "crosshairReadout")
    text = view.crosshair_to(3.0)  # step 15, in epoch 2; the sample at 3.0 s is the 7th
    assert text == label.text()
    for part in ("3.0 s", "step 15", "epoch 1.50", "loss 0.06667",
                 f"accuracy {history['accuracy'][0]:.4g}", "val_accuracy 0.5",
                 "GPU 60%", "memory 600 MiB", "power 106 W"):  # fmt: skip
        assert part in text, (part, text)
    positions = view.crosshair.positions()
    assert len(positions) == 5 and set(positions.values()) == {3.0}

    view.set_x_mode("step")  # the same moment from the step axis: lines at 15 and 3.0 s
    assert view.crosshair_to(15) == text
    positions = view.crosshair.positions()
    assert positions[view.loss.plot] == 15 and positions[view.hardware.plots[0]] == 3.0

    # the mouse: a move over a hardware plot's scene reaches the read-out, rate-limited
    plot = view.hardware.plots[1]
    scene_pos = plot.getViewBox().mapViewToScene(QPointF(5.0, 100.0))
    plot.scene().sigMouseMoved.emit(scene_pos)
    qtbot.waitUntil(lambda: "GPU 100%" in label.text(), timeout=2000)
    assert view.crosshair.positions()[view.hardware.plots[0]] == pytest.approx(5.0, abs=0.05)


def test_on_a_cpu_run_the_read_out_has_cpu_rss_and_no_power(view):
    view.start("regression", T0, None, {}, PER_EPOCH)
    samples = [CpuSample(T0 + i, process_cpu=150.0 + i, rss=512 * MIB) for i in range(4)]
    view.hardware.load_samples(samples, t0=T0)
    text = view.crosshair_to(2.2, hardware=True)
    assert "CPU 152% · RSS 512 MiB · power N/A" in text


def test_epoch_boundaries_are_marked_on_the_hardware_plots_and_thinned(view):
    train_three_epochs(view)
    for plot in range(2):
        assert view.hardware.epoch_mark_positions(plot) == pytest.approx([2.0, 4.0, 6.0])
    view.hardware.set_epoch_marks(np.arange(1, 301) * 0.5)  # 300 epochs: every 10th
    marks = view.hardware.epoch_mark_positions(0)
    assert len(marks) == 30 and marks[0] == 5.0 and marks[-1] == 150.0
    view.clear()
    assert view.hardware.epoch_mark_positions(0) == []


def test_the_history_csv_interleaves_epochs_and_hardware_samples(view, tmp_path):
    from gui.exports import timeline_frame, write_csv_atomically

    train_three_epochs(view)
    path = tmp_path / "history.csv"
    write_csv_atomically(timeline_frame(view.history_frame(), view.hardware_frame()), path)
    frame = pd.read_csv(path)
    assert frame.columns[0] == "time_s" and np.all(np.diff(frame["time_s"]) >= 0)
    assert {"gpu_util_pct", "mem_used_mib", "power_w", "loss", "val_accuracy"} <= set(frame)
    epochs = frame[frame["epoch"].notna()]
    samples = frame[frame["gpu_util_pct"].notna()]
    assert epochs["epoch"].tolist() == [1, 2, 3] and epochs["time_s"].tolist() == [2.0, 4.0, 6.0]
    assert epochs["gpu_util_pct"].isna().all() and samples["loss"].isna().all()
    assert len(samples) == 15 and samples["time_s"].tolist()[:3] == [0.0, 0.5, 1.0]
    assert samples["mem_used_mib"].tolist()[2] == 200.0


# --- replaying a stored run in the window ---------------------------------------------------


@pytest.fixture
def store(tmp_path, monkeypatch):
    """The store the window will use: GPU_TRAINER_HOME set before the window is made."""
    monkeypatch.setenv("GPU_TRAINER_HOME", str(tmp_path / "home"))
    return RunStore()


def stored_run(store, *, recorded_times: bool) -> str:
    """Three 2-second epochs of 10 steps, the loss per step and telemetry from the start;
    ``recorded_times``: the telemetry has the start and the epochs' ends (else, as runs
    stored before it did, only samples)."""
    run_id = store.create_run(name="replayed", source="test", data={"path": "/data/x.csv"},
                              settings={}, seed=0, environment={}, task="classification",
                              target="y", monitor="val_accuracy", parameters=10,
                              device="cpu")  # fmt: skip
    for epoch in range(3):
        logs = {"loss": 1 / (epoch + 1), "accuracy": 0.6 + 0.1 * epoch, "val_loss": 0.5,
                "val_accuracy": 0.5 + 0.1 * epoch, "lr": 0.01}  # fmt: skip
        store.add_epoch(run_id, epoch, (epoch + 1) * PER_EPOCH, 2.0, logs)
    steps = list(range(1, 31))
    store.set_series(run_id, "loss", {"step": steps, "loss": [1 / s for s in steps]})
    telemetry = {"samples": [sample_to_dict(s) for s in gpu_samples()]}
    if recorded_times:
        telemetry.update(t0=T0, epoch_ends={"epoch": [0, 1, 2], "time": [T0 + 2.5, T0 + 4.5,
                                                                         T0 + 6.5]})  # fmt: skip
    store.set_series(run_id, "telemetry", telemetry)
    store.finish(run_id, "completed")
    return run_id


@pytest.mark.parametrize("recorded_times", [True, False])
def test_a_stored_run_replays_in_the_live_tab_on_one_time_axis(
    store, window, qtbot, tmp_path, recorded_times
):
    run_id = stored_run(store, recorded_times=recorded_times)
    window.result_tabs.setCurrentWidget(window.runs_view)
    runs = window.runs_view
    runs.refresh()
    runs.table.selectRow(0)
    assert runs.current_run()["id"] == run_id and runs.replay_action.isEnabled()
    runs.replay_action.trigger()
    live = window.live
    assert window.result_tabs.currentWidget() is live and not window.errors
    live.x_mode_combo.setCurrentText("time")
    ends = [2.5, 4.5, 6.5] if recorded_times else [2.0, 4.0, 6.0]
    x, y = live.loss.raw_curve.getData()
    assert len(x) == 30 and x[-1] == pytest.approx(ends[-1]) and y[-1] == pytest.approx(1 / 30)
    validation = curve(live.metric_plot.plot, "accuracy (validation)").getData()[0]
    assert validation == pytest.approx(ends)
    hx, hy = live.hardware.curves[0][0].getData()
    assert len(hx) == 15 and hx[0] == 0.0 and hy[-1] == 140.0
    assert live.hardware.epoch_mark_positions(0) == pytest.approx(ends)
    ranges = x_ranges(live, qtbot)
    for low, high in ranges[1:]:
        assert (low, high) == pytest.approx(ranges[0])
    assert "GPU 40%" in live.crosshair_to(2.0)

    window.dialogs.save_path = lambda *_: str(tmp_path / "history.csv")
    history = pd.read_csv(window.exports.export_history())
    assert history["epoch"].dropna().tolist() == [1, 2, 3]
    assert history["time_s"].dropna().size == len(history) == 3 + 15


def test_a_run_trained_in_the_app_records_its_start_and_epoch_ends(window, qtbot, breast_cancer):
    assert window.load_csv(breast_cancer)
    window.settings_panel.epochs_spin.setValue(3)
    window.settings_panel.patience_spin.setValue(0)
    with qtbot.waitSignal(window.training_finished, timeout=60_000) as finished:
        window.train()
    run = RunStore().get(finished.args[0]["run"])
    telemetry = run["series"]["telemetry"]
    ends = telemetry["epoch_ends"]
    assert telemetry["samples"] and ends["epoch"] == [0, 1, 2]
    seconds = np.array(ends["time"]) - telemetry["t0"]
    assert 0 < seconds[0] < seconds[1] < seconds[2]
    live_ends = window.live.history_frame()["time_s"].to_numpy()
    assert window.replay_run(run)
    replayed = window.live.history_frame()["time_s"].to_numpy()
    assert replayed == pytest.approx(seconds)
    # the live anchors come from the progress batches, a little after each epoch ended
    assert replayed == pytest.approx(live_ends, abs=0.5)
