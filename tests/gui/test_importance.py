"""The Evaluation tab's column importance: measured in the background after a run, one bar per
input column, Stop and Explain again, and cleared by Reset."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QWidget

CLICK = Qt.MouseButton.LeftButton


def _train(window, qtbot, path, target=None):
    assert window.load_csv(path, target=target)
    window.settings_panel.epochs_spin.setValue(8)
    window.settings_panel.patience_spin.setValue(0)
    view = window.evaluation.importance
    with qtbot.waitSignal(view.explained, timeout=90_000) as explained:
        with qtbot.waitSignal(window.training_finished, timeout=60_000):
            qtbot.mouseClick(window.controls.train_button, CLICK)
        assert view.running  # measured after the run, off the GUI thread
    return view, explained.args[0]


def test_after_a_run_the_plot_has_one_bar_per_input_column(window, qtbot, sample_dir):
    view, result = _train(window, qtbot, sample_dir / "customer_churn.csv", "churned")
    inputs = window.session.job.data.pipeline.input_columns
    assert window.findChild(QWidget, "importancePlot") is view.plot
    assert sorted(view.columns) == sorted(inputs) and "customer_id" not in view.columns
    assert len(view.bars.opts["width"]) == len(inputs)
    ticks = [name for _, name in view.plot.getAxis("left")._tickLevels[0]]
    assert sorted(ticks) == sorted(inputs)
    assert view.columns == [c["column"] for c in result["columns"]]
    assert result["metric"] == "roc_auc" and result["rows"] == len(window.session.job.data.x_test)
    assert "ROC AUC" in view.title.text()
    assert not view.progress.isVisible() and view.button.text() == "Explain"


def test_stop_then_explain_again_then_reset(window, qtbot, sample_dir):
    view, first = _train(window, qtbot, sample_dir / "wine.csv")
    assert first["metric"] == "accuracy"
    view.explain(window.session.job)
    assert view.button.text() == "Stop" and view.progress.isVisible()
    assert view.columns == []  # the old bars go while it is measured again
    qtbot.mouseClick(view.button, CLICK)
    qtbot.waitUntil(lambda: not view.running, timeout=30_000)
    assert view.title.text().startswith("Stopped") and view.columns == []
    with qtbot.waitSignal(view.explained, timeout=60_000) as explained:
        qtbot.mouseClick(view.button, CLICK)  # "Explain"
    assert explained.args[0] == first  # the same seed, the same result
    assert len(view.columns) == 13
    window.reset()
    assert view.columns == [] and view.importances is None and not view.button.isEnabled()
