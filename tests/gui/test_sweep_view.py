"""The Sweep tab in the real window, offscreen: real sweeps in processes of their own, over a
run store and study storage of the test's own."""

from __future__ import annotations

import time

import pytest
from PySide6.QtCore import QTimer

from engine import load_model
from gui.sweep_plots import best_so_far, normalise
from gui.sweep_space import build_space


@pytest.fixture
def home(tmp_path, monkeypatch):
    monkeypatch.setenv("GPU_TRAINER_HOME", str(tmp_path / "home"))
    return tmp_path / "home"


@pytest.fixture
def sweep(home, window, breast_cancer, qtbot):
    """The window's Sweep tab in view, with the sample loaded and epochs fixed to 5."""
    assert window.load_csv(breast_cancer)
    window.result_tabs.setCurrentWidget(window.sweep_view)
    view = window.sweep_view
    view.space_table.set_row("epochs", False, "5")
    view.jobs_spin.setValue(1)
    return view


def finished(view, qtbot, timeout=120_000):
    qtbot.waitUntil(lambda: not view.is_running(), timeout=timeout)


def test_tab_is_there(window):
    assert window.result_tabs.tabText(window.result_tabs.indexOf(window.sweep_view)) == "Sweep"
    assert window.sweep_view.objectName() == "sweepView"


def test_no_data_is_an_error_and_nothing_starts(home, window):
    assert not window.sweep_view.start_sweep()
    assert window.errors and window.errors[-1][0] == "Nothing to sweep"
    assert not window.sweep_view.is_running()


def test_a_bad_range_is_an_error(sweep, window):
    sweep.space_table.set_row("learning_rate", True, "0.1..0.01")
    assert not sweep.start_sweep()
    assert window.errors[-1][0] == "Cannot start the sweep"


def test_specs_follow_the_table(sweep, window):
    sweep.space_table.set_row("optimizer", False, "")
    vary, fix = sweep.space_table.specs(window.train_settings())
    assert "epochs=5" in fix and "optimizer=adamw" in fix  # the default optimizer
    assert any(spec.startswith("learning_rate=") for spec in vary)
    space = build_space(vary, fix)
    assert {p.name for p in space.params} == {s.split("=")[0] for s in vary}


def test_a_short_sweep_runs_and_its_best_is_used_and_exported(sweep, window, qtbot, tmp_path):
    ticks = []
    timer = QTimer()
    timer.timeout.connect(lambda: ticks.append(time.monotonic()))
    timer.start(50)
    sweep.trials_spin.setValue(3)
    assert sweep.start_sweep()
    assert sweep.is_running()
    finished(sweep, qtbot)
    timer.stop()
    assert not window.errors, window.errors
    # the GUI thread kept running its timers while the sweep ran in other processes
    assert len(ticks) > 10
    gaps = [b - a for a, b in zip(ticks, ticks[1:])]
    assert max(gaps) < 1.0
    assert sweep.trials_table.rowCount() == 3
    done = [t for t in sweep.trials if t.value is not None]
    assert len(done) == 3
    assert len(sweep.best_curve.curve.getData()[0]) == 3
    assert len(sweep.parallel.curves) == len(done)
    assert sweep.importances.values  # >= 2 completed trials
    assert sweep.outcome is not None and sweep.outcome["trials"]["COMPLETE"] == 3

    best = sweep.best_trial()
    assert sweep.use_best()
    layers = window.model_panel.layers()
    assert len(layers) == best.params["n_layers"]
    assert all(layer.units == best.params["units"] for layer in layers)
    assert all(layer.activation == best.params["activation"] for layer in layers)
    assert layers[0].dropout == pytest.approx(best.params["dropout"], abs=1e-2)
    values = window.settings_panel.values()
    assert values["optimizer"] == best.params["optimizer"]
    assert values["batch_size"] == best.params["batch_size"]
    assert values["learning_rate"] == pytest.approx(best.params["learning_rate"], abs=1e-5)
    assert values["epochs"] == 5

    target = tmp_path / "best.safetensors"
    window.dialogs.save_path = lambda *_args: str(target)
    assert sweep.export_best() == str(target)
    model = load_model(target)
    assert model is not None


def test_stop_ends_a_long_sweep_quickly(sweep, window, qtbot):
    sweep.space_table.set_row("epochs", False, "200")
    sweep.trials_spin.setValue(200)
    assert sweep.start_sweep()
    qtbot.waitUntil(lambda: any(t.state.name == "RUNNING" for t in sweep.trials), timeout=60_000)
    began = time.monotonic()
    sweep.stop_sweep()
    finished(sweep, qtbot, timeout=20_000)
    assert time.monotonic() - began < 10
    assert not [e for e in window.errors if e[0] == "The sweep failed"], window.errors
    assert "stopped" in sweep.status_label.text()
    assert not any(t.state.name == "RUNNING" for t in sweep.trials)
    # the window is still usable: another sweep can start and stop
    assert sweep.start_button.isEnabled()
    window.result_tabs.setCurrentIndex(0)
    assert window.train_settings().epochs > 0


def test_a_sweep_ends_with_the_app_that_started_it(sweep, qtbot):
    """The leader waits for the end of the stdin the app holds open: when the app is gone
    (here: the pipe closed, as a killed app's would be), the leader and its workers stop."""
    import psutil

    from engine.processes import alive

    sweep.space_table.set_row("epochs", False, "400")
    sweep.jobs_spin.setValue(2)
    sweep.trials_spin.setValue(50)
    assert sweep.start_sweep()
    leader = psutil.Process(sweep.process.processId())
    qtbot.waitUntil(lambda: sum(t.state.name == "RUNNING" for t in sweep.trials) == 2
                    and len(leader.children()) == 2, timeout=60_000)  # fmt: skip
    workers = leader.children()
    codes = []
    sweep.process.finished.connect(lambda code, _status: codes.append(code))
    sweep.process.closeWriteChannel()
    finished(sweep, qtbot, timeout=30_000)
    assert codes == [130]  # interrupted, as by Ctrl+C
    # ended (a zombie no one reaps counts as ended)
    qtbot.waitUntil(lambda: not any(alive(w.pid) for w in workers), timeout=40_000)
    sweep.request_read()
    qtbot.waitUntil(lambda: not any(t.state.name == "RUNNING" for t in sweep.trials),
                    timeout=10_000)  # fmt: skip


def test_parallel_coordinates_one_curve_per_completed_trial(qtbot):
    from types import SimpleNamespace

    from gui.sweep_plots import ParallelCoordinates

    plot = ParallelCoordinates()
    qtbot.addWidget(plot)
    trials = [
        SimpleNamespace(number=i, value=v, params={"learning_rate": lr, "optimizer": opt})
        for i, (v, lr, opt) in enumerate([(0.9, 1e-3, "adam"), (0.8, 1e-2, "sgd"),
                                          (None, 1e-4, "adam"), (0.95, 3e-3, "adamw")])
    ]  # fmt: skip
    plot.show_trials(trials, maximize=True)
    assert len(plot.curves) == 3
    assert plot.axes == ["optimizer", "learning_rate", "value"]
    numbers, best = best_so_far([t for t in trials if t.value is not None], maximize=True)
    assert list(numbers) == [0, 1, 3] and list(best) == [0.9, 0.9, 0.95]
    assert normalise([1e-4, 1e-2], "learning_rate") == [0.0, 1.0]
