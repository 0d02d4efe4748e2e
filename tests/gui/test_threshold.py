"""The Evaluation tab's decision threshold: moving it re-decides the test split live, and the
exported model keeps it."""

from __future__ import annotations

import numpy as np
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QDoubleSpinBox
from sklearn.metrics import accuracy_score, balanced_accuracy_score, confusion_matrix

from engine.io.predictor import load_model
from gui.evaluation import EvaluationView


def _train(window, qtbot, path) -> None:
    assert window.load_csv(path)
    window.settings_panel.epochs_spin.setValue(4)
    window.settings_panel.patience_spin.setValue(0)
    with qtbot.waitSignal(window.training_finished, timeout=60_000):
        qtbot.mouseClick(window.controls.train_button, Qt.MouseButton.LeftButton)


def _table(widget) -> np.ndarray:
    rows, cols = widget.rowCount(), widget.columnCount()
    return np.array([[int(widget.item(i, j).text()) for j in range(cols)] for i in range(rows)])


def _metric(view, name: str) -> float:
    table = view.metrics_table
    for row in range(table.rowCount()):
        if table.item(row, 0).text() == name:
            return float(table.item(row, 1).text())
    raise AssertionError(f"{name} not shown")


def test_the_threshold_redecides_the_test_split_and_is_exported(
    window, qtbot, breast_cancer, tmp_path
):
    _train(window, qtbot, breast_cancer)
    view = window.evaluation
    spin = view.findChild(QDoubleSpinBox, "thresholdSpin")
    assert spin is view.threshold_spin and spin.isVisible()
    assert spin.value() == 0.5 and view.threshold == 0.5
    report = window.session.report
    truth, score = np.asarray(report["y_true"]), np.asarray(report["y_score"])
    assert _table(view.confusion).tolist() == confusion_matrix(truth, score > 0.5).tolist()
    for value in (0.3, 0.7, 0.15):
        spin.setValue(value)
        decided = (score > value).astype(int)
        assert _table(view.confusion).tolist() == confusion_matrix(truth, decided).tolist()
        assert _metric(view, "accuracy") == round(accuracy_score(truth, decided), 4)
        balanced = balanced_accuracy_score(truth, decided)
        assert abs(_metric(view, "balanced accuracy") - balanced) < 1e-4
        assert view.report["threshold"] == value
    before = _table(view.confusion)
    spin.setValue(0.5)
    assert not np.array_equal(_table(view.confusion), before)  # the test rows did move
    spin.setValue(0.3)

    model_path = tmp_path / "model.safetensors"
    window.dialogs.save_path = lambda *_: str(model_path)
    assert window.exports.export_model() == model_path
    predictor = load_model(model_path)
    assert predictor.threshold == 0.3
    assert predictor.metrics["test"]["threshold"] == 0.3
    assert predictor.metrics["test"]["confusion_matrix"] == _table(view.confusion).tolist()
    predicted = predictor.predict(breast_cancer)
    p = predicted["probability_1"].to_numpy()
    assert np.array_equal(predicted["predicted_malignant"].to_numpy(), (p > 0.3).astype(int))


def test_no_threshold_for_regression(qtbot):
    view = EvaluationView()
    qtbot.addWidget(view)
    view.show()
    report = {"task": "regression", "n": 2, "mae": 1.0, "rmse": 1.0, "r2": 0.5}
    view.show_report("regression", {**report, "y_true": [1.0, 2.0], "y_pred": [1.5, 2.5]})
    assert not view.threshold_spin.isVisible() and view.threshold is None
