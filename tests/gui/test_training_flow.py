"""Train in the real window, offscreen: to the end, paused and stepped, stopped, closed mid-run,
then export, reload and predict."""

from __future__ import annotations

import numpy as np
import pandas as pd
from PySide6.QtCore import Qt

from engine.cli import main as cli_main
from engine.io.predictor import load_model

CLICK = Qt.MouseButton.LeftButton


def _ready(window, path, epochs, batch_size=32):
    assert window.load_csv(path)
    window.settings_panel.epochs_spin.setValue(epochs)
    window.settings_panel.batch_size_spin.setValue(batch_size)
    window.settings_panel.patience_spin.setValue(0)
    window.settings_panel.learning_rate_spin.setValue(0.01)


def _train_to_end(window, qtbot, timeout=60_000):
    with qtbot.waitSignal(window.training_finished, timeout=timeout) as finished:
        qtbot.mouseClick(window.controls.train_button, CLICK)
    return finished.args[0]


def test_training_to_the_end_lowers_the_loss_and_fills_the_views(window, qtbot, breast_cancer):
    _ready(window, breast_cancer, epochs=15)
    summary = _train_to_end(window, qtbot)
    assert summary["reason"] == "completed"
    assert not window.is_training()
    history = summary["history"]
    assert len(history["loss"]) == 15
    assert history["loss"][-1] < history["loss"][0]
    steps, losses = window.live.loss.raw.data()
    assert len(steps) > 50 and np.all(np.diff(steps) > 0)
    assert np.mean(losses[-10:]) < np.mean(losses[:10])
    assert len(window.live.loss.validation_points()[0]) == 15
    assert len(window.live.metric_plot.series()["accuracy"][1]) == 15
    frame = window.live.history_frame()
    assert len(frame) == 15 and frame["loss"].tolist() == history["loss"]
    assert window.status.progress.value() == window.status.progress.maximum()
    assert window.status.epoch.text().startswith("Completed")
    report = window.session.report
    assert report["accuracy"] > 0.8
    assert window.evaluation.confusion.rowCount() == 2
    assert window.evaluation.per_class.rowCount() == 2
    assert window.evaluation.hardware.text()
    assert window.result_tabs.currentWidget() is window.evaluation
    assert window.controls.export_button.isEnabled()
    assert window.controls.train_button.isEnabled()


def test_pause_step_resume_and_learning_rate_while_paused(window, qtbot, breast_cancer):
    _ready(window, breast_cancer, epochs=300)
    controls = window.controls
    with qtbot.waitSignal(window.session.progress, timeout=30_000):
        qtbot.mouseClick(controls.train_button, CLICK)
    assert window.is_training()
    assert not window.settings_panel.epochs_spin.isEnabled()
    assert not window.model_panel.isEnabled()
    assert not window.settings_panel.learning_rate_spin.isEnabled()
    qtbot.mouseClick(controls.pause_button, CLICK)
    qtbot.waitUntil(lambda: window.session.state == "paused", timeout=5_000)
    assert controls.pause_button.text() == "Resume"
    assert controls.step_button.isEnabled()
    assert window.settings_panel.learning_rate_spin.isEnabled()
    trainer = window.session.job.trainer
    before = trainer.global_step
    qtbot.wait(200)
    assert trainer.global_step == before  # paused means no steps
    window.settings_panel.learning_rate_spin.setValue(0.002)
    with qtbot.waitSignal(window.session.progress, timeout=5_000):
        qtbot.mouseClick(controls.step_button, CLICK)
    assert trainer.global_step == before + 1
    assert trainer.learning_rate == 0.002
    qtbot.mouseClick(controls.pause_button, CLICK)
    qtbot.waitUntil(lambda: trainer.global_step > before + 20, timeout=10_000)
    assert window.session.state == "running"
    with qtbot.waitSignal(window.training_finished, timeout=10_000) as finished:
        qtbot.mouseClick(controls.stop_button, CLICK)
    assert finished.args[0]["reason"] == "stopped"


def test_space_toggles_pause(window, qtbot, breast_cancer):
    _ready(window, breast_cancer, epochs=300)
    with qtbot.waitSignal(window.session.progress, timeout=30_000):
        window.train()
    window.pause_action.trigger()
    qtbot.waitUntil(lambda: window.session.state == "paused", timeout=5_000)
    assert window.pause_action.shortcut().toString() == "Space"
    window.pause_action.trigger()
    qtbot.waitUntil(lambda: window.session.state == "running", timeout=5_000)
    with qtbot.waitSignal(window.training_finished, timeout=10_000):
        window.stop()


def test_stop_mid_run_keeps_the_model_and_the_window_usable(window, qtbot, breast_cancer):
    _ready(window, breast_cancer, epochs=500)
    with qtbot.waitSignal(window.session.progress, timeout=30_000):
        qtbot.mouseClick(window.controls.train_button, CLICK)
    with qtbot.waitSignal(window.training_finished, timeout=10_000) as finished:
        qtbot.mouseClick(window.controls.stop_button, CLICK)
    assert finished.args[0]["reason"] == "stopped"
    assert window.session.job.trainer.global_step < window.session.job.trainer.total_steps
    assert not window.is_training()
    assert window.settings_panel.epochs_spin.isEnabled()
    assert window.controls.export_button.isEnabled()
    qtbot.mouseClick(window.controls.reset_button, CLICK)
    assert len(window.live.loss.raw) == 0
    assert not window.controls.export_button.isEnabled()


def test_closing_the_window_mid_run_stops_and_joins_the_worker(qtbot, breast_cancer):
    from gui.app import create_main_window

    window = create_main_window()
    qtbot.addWidget(window)
    window.show()
    _ready(window, breast_cancer, epochs=1000)
    with qtbot.waitSignal(window.session.progress, timeout=30_000):
        window.train()
    thread = window.session.controller._thread
    assert thread is not None and thread.isRunning()
    assert window.close()
    assert not window.is_training() or window.session.controller._thread is None
    assert window.session.job.trainer.done


def test_export_then_load_the_file_and_predict(window, qtbot, breast_cancer, tmp_path):
    _ready(window, breast_cancer, epochs=5)
    summary = _train_to_end(window, qtbot)
    model_path = tmp_path / "model.safetensors"
    window.dialogs.save_path = lambda *_: str(model_path)
    qtbot.mouseClick(window.controls.export_button, CLICK)
    assert model_path.is_file(), window.errors
    predictor = load_model(model_path)
    hardware = predictor.metadata["extra"]["hardware"]  # the run summary travels with the model
    assert hardware == window.hardware_summary and hardware["device"] == "cpu"
    from engine.runs.store import RunStore

    run = RunStore().get(summary["run"])  # the app recorded the run, and the file carries it
    assert predictor.metadata["extra"]["run_id"] == run["id"]
    assert run["status"] == "completed" and run["epochs"] == 5 and run["source"] == "app"
    assert run["model_path"] == str(model_path.resolve()) and run["hardware"] == hardware
    assert run["test_metric"] == window.session.report["accuracy"]
    frame = pd.read_csv(breast_cancer).head(20)
    predictions = predictor.predict(frame)
    assert len(predictions) == 20

    out = tmp_path / "predictions.csv"
    answers = iter([str(model_path), str(breast_cancer)])
    window.dialogs.open_path = lambda *_: next(answers)
    window.dialogs.save_path = lambda *_: str(out)
    qtbot.mouseClick(window.controls.predict_button, CLICK)
    qtbot.waitUntil(lambda: not window.exports.predicting, timeout=20_000)
    assert out.is_file(), window.errors
    written = pd.read_csv(out)
    assert len(written) == 569
    inputs = list(pd.read_csv(breast_cancer).columns)
    assert list(written.columns) == [*inputs, *predictor.pipeline.prediction_columns]

    # a European CSV comes back in its own format, as `gpu-trainer predict` writes it
    european = tmp_path / "european.csv"
    pd.read_csv(breast_cancer).head(30).to_csv(european, sep=";", decimal=",", index=False)
    answers = iter([str(model_path), str(european)])
    window.dialogs.save_path = lambda *_: str(tmp_path / "european_predictions.csv")
    qtbot.mouseClick(window.controls.predict_button, CLICK)
    qtbot.waitUntil(lambda: not window.exports.predicting, timeout=20_000)
    app_text = (tmp_path / "european_predictions.csv").read_text()
    cli_out = tmp_path / "cli_predictions.csv"
    assert cli_main(["predict", str(model_path), str(european), "--out", str(cli_out)]) == 0
    assert app_text == cli_out.read_text()
    assert app_text.splitlines()[0].count(";") == len(inputs) + 2 and "," in app_text


def test_a_damaged_model_file_is_an_error_message(window, qtbot, breast_cancer, tmp_path):
    broken = tmp_path / "broken.safetensors"
    broken.write_bytes(b"not a model")
    answers = iter([str(broken), str(breast_cancer)])
    window.dialogs.open_path = lambda *_: next(answers)
    window.dialogs.save_path = lambda *_: str(tmp_path / "out.csv")
    with qtbot.waitSignal(window.exports._predict.failed, timeout=10_000):
        window.exports.predict_csv()
    assert window.errors[-1][0] == "Prediction failed"
    assert not (tmp_path / "out.csv").exists()


def test_regression_shows_a_predicted_vs_actual_scatter(window, qtbot, sample_dir):
    _ready(window, sample_dir / "diabetes.csv", epochs=5)
    summary = _train_to_end(window, qtbot)
    assert summary["report"]["task"] == "regression"
    assert window.evaluation.stack.currentWidget() is window.evaluation.scatter
    assert len(window.evaluation._points.data) == summary["report"]["n"]


def test_export_plots_and_history(window, qtbot, breast_cancer, tmp_path):
    _ready(window, breast_cancer, epochs=3)
    _train_to_end(window, qtbot)
    window.dialogs.save_path = lambda *_: str(tmp_path / "plots.png")
    assert window.exports.export_plots().stat().st_size > 1000
    window.dialogs.save_path = lambda *_: str(tmp_path / "missing" / "plots.png")
    assert window.exports.export_plots() is None  # said, and nothing half-written
    assert window.errors[-1][0] == "Cannot export the plots" and "missing" in window.errors[-1][1]
    assert [p.name for p in tmp_path.glob("*plots*")] == ["plots.png"]
    window.errors.clear()
    window.dialogs.save_path = lambda *_: str(tmp_path / "history.csv")
    history = pd.read_csv(window.exports.export_history())
    epochs = history[history["epoch"].notna()]  # the other rows are hardware samples
    assert list(epochs["epoch"]) == [1, 2, 3] and epochs["time_s"].is_monotonic_increasing
    assert {"time_s", "loss", "val_loss"} <= set(history.columns)


def test_stop_while_the_run_is_being_prepared_starts_nothing(window, qtbot, breast_cancer):
    _ready(window, breast_cancer, epochs=50)
    window.train()
    assert window.session.state == "preparing"
    assert window.controls.stop_button.isEnabled()
    qtbot.mouseClick(window.controls.stop_button, CLICK)
    qtbot.waitUntil(lambda: window.session.state == "idle", timeout=20_000)
    qtbot.wait(200)  # the prepared job has arrived and been dropped
    assert not window.is_training()
    assert window.session.job is None
    assert not window.session.controller.is_running()
    assert window.controls.train_button.isEnabled()


def test_a_diverged_run_cannot_be_exported(window, qtbot, sample_dir, tmp_path):
    """A run that fails says so and leaves nothing to export: no model file with NaN weights."""
    _ready(window, sample_dir / "diabetes.csv", epochs=50)
    window.settings_panel.learning_rate_spin.setValue(10.0)
    window.settings_panel.optimizer_combo.setCurrentText("sgd")
    summary = _train_to_end(window, qtbot)
    assert summary["reason"] == "diverged" and summary["report"] is None
    from engine.runs.store import RunStore

    assert RunStore().get(summary["run"])["status"] == "diverged"  # and it is recorded so
    assert any("diverged" in text for _, text in window.errors)
    assert not window.controls.export_button.isEnabled()
    assert not window.export_action.isEnabled() and not window.export_onnx_action.isEnabled()
    assert window.controls.train_button.isEnabled()  # and the app stays usable
    window.dialogs.save_path = lambda *_: str(tmp_path / "m.safetensors")
    window.exports.export_model()  # even when asked directly
    assert not (tmp_path / "m.safetensors").exists()


def test_a_recorded_run_resumes_from_the_runs_tab_and_extends(window, qtbot, breast_cancer):
    """Train 4 epochs, then Resume it to 7 from the Runs tab: the run goes on from its last
    checkpoint (same id, 7 epochs in all) and ends as a 7-epoch run trained straight does."""
    from engine.runs.store import RunStore

    _ready(window, breast_cancer, epochs=4)
    # a schedule over 4 epochs differs from one over 7: only a constant rate extends exactly
    window.settings_panel.lr_schedule_combo.setCurrentText("constant")
    first = _train_to_end(window, qtbot)
    run = RunStore().get(first["run"])
    assert run["epochs"] == 4 and [c["epoch"] for c in run["checkpoints"]][-1] == 4
    window.settings_panel.epochs_spin.setValue(7)
    with qtbot.waitSignal(window.training_finished, timeout=60_000) as finished:
        assert window.resume_run(run)
    summary = finished.args[0]
    assert summary["reason"] == "completed" and summary["run"] == run["id"]
    assert len(summary["history"]["loss"]) == 7  # the first 4 epochs came back with the state
    resumed = RunStore().get(run["id"])
    assert resumed["status"] == "completed" and resumed["epochs"] == 7
    assert [h["epoch"] for h in resumed["history"]] == list(range(7))
    weights = window.session.job.model.get_weights()

    window.settings_panel.epochs_spin.setValue(7)
    straight = _train_to_end(window, qtbot)
    assert straight["history"] == summary["history"]
    for a, b in zip(weights, window.session.job.model.get_weights()):
        np.testing.assert_array_equal(a, b)


def test_the_app_and_two_cli_runs_record_at_once_and_lose_nothing(
    window, qtbot, breast_cancer, tmp_path
):
    """Real concurrent writers on one store: two CLI processes train while the app does."""
    import subprocess
    import sys
    from pathlib import Path

    from engine.runs.store import RunStore

    before = {r["id"] for r in RunStore().runs()}
    code = "import sys; from engine.cli import main; sys.exit(main(sys.argv[1:]))"
    root = Path(__file__).resolve().parents[2]
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", code, "train", str(breast_cancer), "--epochs", "40",
             "--early-stopping", "0", "--json", "--keep", "1", "--name", f"cli {i}",
             "--out", str(tmp_path / f"cli{i}.safetensors")],
            cwd=root, stdout=subprocess.DEVNULL,
        )
        for i in range(2)
    ]  # fmt: skip
    _ready(window, breast_cancer, epochs=40)
    app = _train_to_end(window, qtbot)
    assert [p.wait(timeout=120) for p in procs] == [0, 0]
    new = [RunStore().get(r["id"]) for r in RunStore().runs() if r["id"] not in before]
    assert sorted(r["source"] for r in new) == ["app", "cli", "cli"]
    for run in new:
        assert run["status"] == "completed" and len(run["history"]) == 40, run["name"]
    assert app["run"] in {r["id"] for r in new}


def test_training_goes_on_when_the_run_store_is_damaged(window, qtbot, breast_cancer, tmp_path,
                                                        monkeypatch):  # fmt: skip
    """The store cannot be used: the app says so once, trains, and the model is exportable."""
    home = tmp_path / "home"
    home.mkdir()
    (home / "runs.sqlite").write_bytes(b"not a database, not at all" * 40)
    monkeypatch.setenv("GPU_TRAINER_HOME", str(home))
    _ready(window, breast_cancer, epochs=3)
    summary = _train_to_end(window, qtbot)
    assert summary["reason"] == "completed" and summary["run"] is None
    titles = [title for title, _ in window.errors]
    assert titles.count("Run history unavailable") == 1
    assert "runs.sqlite is damaged" in dict(window.errors)["Run history unavailable"]
    assert window.controls.export_button.isEnabled()


def test_the_auto_activation_says_what_it_chose(window, qtbot, breast_cancer):
    """The Model tab says "auto"; the run trains ELU on this 569-row sample and says so."""
    _ready(window, breast_cancer, epochs=2)
    assert {layer.activation for layer in window.model_panel.layers()} == {"auto"}
    summary = _train_to_end(window, qtbot)
    assert summary["reason"] == "completed"
    assert window.session.job.settings.layers[0].activation == "elu"
    with qtbot.waitSignal(window.session.started, timeout=30_000):
        qtbot.mouseClick(window.controls.train_button, CLICK)
    message = window.statusBar().currentMessage()
    assert message.startswith("Hidden layers: elu, elu ('auto' on a table of 569 rows"), message
    qtbot.waitUntil(lambda: not window.is_training(), timeout=30_000)
