"""Run ▸ Cross-validate…: the folds run in the background, the Evaluation tab shows each
metric's mean ± std, Stop ends them, and the folds box skips 1."""

from __future__ import annotations

import numpy as np
import pytest
from PySide6.QtWidgets import QSpinBox, QTableWidget


def _fast(window, epochs: int) -> None:
    panel = window.settings_panel
    panel.epochs_spin.setValue(epochs)
    panel.device_combo.setCurrentIndex(panel.device_combo.findData("cpu"))
    window.findChild(QSpinBox, "cvFolds").setValue(2)


def test_the_action_needs_data(window, breast_cancer):
    launcher = window.cross_validation
    assert launcher.action.shortcut().toString() == "Ctrl+Shift+K"
    assert not launcher.action.isEnabled()
    assert window.load_csv(breast_cancer)
    assert launcher.action.isEnabled()


def test_two_folds_show_mean_and_std_of_each_metric(window, qtbot, breast_cancer):
    assert window.load_csv(breast_cancer)
    _fast(window, epochs=3)
    launcher = window.cross_validation
    with qtbot.waitSignal(launcher.finished, timeout=120_000) as blocker:
        launcher.action.trigger()
        assert launcher.running and not launcher.action.isEnabled()  # the GUI thread goes on
    result = blocker.args[0]
    assert result["folds"] == 2
    table = window.findChild(QTableWidget, "cvTable")
    assert window.result_tabs.currentWidget() is window.evaluation and table.isVisible()
    assert table.rowCount() == len(result["metrics"]) >= 2
    assert table.columnCount() == 3 + 2
    shown = {table.item(r, 0).text(): r for r in range(table.rowCount())}
    row = shown["accuracy"]
    m = result["metrics"]["accuracy"]
    assert float(table.item(row, 1).text()) == pytest.approx(np.mean(m["folds"]), abs=1e-3)
    assert table.item(row, 2).text() == f"± {np.std(m['folds']):.4g}"
    assert launcher.action.isEnabled()


def test_stop_ends_the_folds(window, qtbot, breast_cancer):
    assert window.load_csv(breast_cancer)
    _fast(window, epochs=10_000)
    launcher = window.cross_validation
    view = window.evaluation.cross_validation
    with qtbot.waitSignal(view.progress.valueChanged, timeout=60_000):
        launcher.action.trigger()
    with qtbot.waitSignal(launcher.finished, timeout=60_000) as blocker:
        view.stop_button.click()
    assert blocker.args[0] is None and not launcher.running
    assert "stopped in fold 1 of 2" in view.title.text()
    assert not view.progress.isVisible() and launcher.action.isEnabled()


def test_the_folds_box_is_off_by_default_and_skips_one(window):
    spin = window.findChild(QSpinBox, "cvFolds")
    assert spin.value() == 0 and spin.text() == "off"
    spin.stepUp()
    assert spin.value() == 2
    spin.stepDown()
    assert spin.value() == 0
    assert window.settings_panel.cv_folds() == 0


def test_closing_the_window_ends_the_folds(window, qtbot, breast_cancer):
    assert window.load_csv(breast_cancer)
    _fast(window, epochs=10_000)
    launcher = window.cross_validation
    view = window.evaluation.cross_validation
    with qtbot.waitSignal(view.progress.valueChanged, timeout=60_000):
        launcher.action.trigger()
    window.close()
    assert not launcher.running
