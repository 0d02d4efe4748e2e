"""After training: the test-split metrics, a confusion-matrix heatmap with per-class scores for
classification, a predicted-vs-actual scatter for regression, and the hardware summary.

For two classes a decision threshold (``thresholdSpin``) re-decides the test rows from their
stored probabilities as it moves: the confusion matrix, accuracy, balanced accuracy and the
per-class scores follow it, and exporting the model stores it (``threshold``)."""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import Qt
from PySide6.QtGui import QBrush, QColor
from PySide6.QtWidgets import (
    QDoubleSpinBox,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QStackedWidget,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from engine.hardware.text import summary_line
from engine.run.evaluation import classification_report
from gui.cv_view import CrossValidationView  # Run ▸ Cross-validate…'s table
from gui.importance_view import ImportanceView  # permutation importance per column

METRIC_NAMES = {
    "n": "rows in the test split",
    "accuracy": "accuracy",
    "macro_f1": "macro F1",
    "balanced_accuracy": "balanced accuracy",
    "roc_auc": "ROC AUC",
    "pr_auc": "PR AUC (average precision)",
    "mae": "MAE (target units)",
    "rmse": "RMSE (target units)",
    "r2": "R²",
    "loss": "loss",
}


def _readonly(text: str) -> QTableWidgetItem:
    item = QTableWidgetItem(text)
    item.setFlags(item.flags() & ~Qt.ItemFlag.ItemIsEditable)
    return item


def _fmt(value) -> str:
    if isinstance(value, float | np.floating):
        return "N/A" if np.isnan(value) else f"{value:.4g}"  # NaN: not defined on the split
    return str(value)


class EvaluationView(QWidget):
    """Fills itself from the dict the engine's evaluation returns (see ``show_report``)."""

    def __init__(self, parent=None) -> None:
        super().__init__(parent)
        self.title = QLabel("Train a model to see how it does on the test split.")
        self.title.setObjectName("evaluationTitle")
        self.title.setWordWrap(True)
        self.metrics_table = QTableWidget(0, 2)
        self.metrics_table.setObjectName("testMetricsTable")
        self.metrics_table.setHorizontalHeaderLabels(["Test metric", "Value"])
        self.metrics_table.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.Stretch)
        self.metrics_table.verticalHeader().setVisible(False)
        self.metrics_table.setMaximumHeight(230)
        self._report: dict | None = None

        self.threshold_spin = QDoubleSpinBox()
        self.threshold_spin.setObjectName("thresholdSpin")
        self.threshold_spin.setRange(0.001, 0.999)
        self.threshold_spin.setDecimals(3)
        self.threshold_spin.setSingleStep(0.01)
        self.threshold_spin.setValue(0.5)
        self.threshold_spin.setToolTip(
            "Predict the second class where its probability is above this value; the test "
            "split is re-decided as you change it, and an exported model keeps it"
        )
        self.threshold_spin.valueChanged.connect(self._on_threshold)
        self.threshold_row = QWidget()
        row = QHBoxLayout(self.threshold_row)
        row.setContentsMargins(0, 0, 0, 0)
        row.addWidget(QLabel("Decision threshold (probability of the second class)"))
        row.addWidget(self.threshold_spin)
        row.addStretch(1)

        self.confusion = QTableWidget()
        self.confusion.setObjectName("confusionMatrix")
        self.per_class = QTableWidget(0, 4)
        self.per_class.setObjectName("perClassTable")
        self.per_class.setHorizontalHeaderLabels(["Class", "Precision", "Recall", "F1"])
        self.per_class.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.Stretch)
        classification = QWidget()
        box = QVBoxLayout(classification)
        box.setContentsMargins(0, 0, 0, 0)
        box.addWidget(self.threshold_row)
        box.addWidget(QLabel("Confusion matrix (rows: actual, columns: predicted)"))
        box.addWidget(self.confusion, 2)
        box.addWidget(self.per_class, 1)

        self.scatter = pg.PlotWidget(background="w")
        self.scatter.setObjectName("predictionScatter")
        self.scatter.setLabel("bottom", "Actual value (target units)")
        self.scatter.setLabel("left", "Predicted value (target units)")
        self.scatter.showGrid(x=True, y=True, alpha=0.2)
        self._points = pg.ScatterPlotItem(size=5, pen=None, brush=pg.mkBrush(31, 119, 180, 140))
        self._diagonal = pg.PlotDataItem(pen=pg.mkPen("#888", width=1, style=Qt.PenStyle.DashLine))
        self.scatter.addItem(self._points)
        self.scatter.addItem(self._diagonal)

        self.stack = QStackedWidget()
        self.stack.addWidget(QWidget())
        self.stack.addWidget(classification)
        self.stack.addWidget(self.scatter)
        self.hardware = QLabel()
        self.hardware.setObjectName("hardwareSummary")
        self.hardware.setWordWrap(True)
        self.hardware.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)

        layout = QVBoxLayout(self)
        layout.addWidget(self.title)
        layout.addWidget(self.metrics_table)
        layout.addWidget(self.stack, 1)
        self.importance = ImportanceView()
        layout.addWidget(self.importance, 1)
        layout.addWidget(self.hardware)
        self.cross_validation = CrossValidationView()
        layout.addWidget(self.cross_validation)

    @property
    def report(self) -> dict | None:
        """The report shown: for two classes, decided at :attr:`threshold`."""
        return self._report

    @property
    def threshold(self) -> float | None:
        """The decision threshold chosen for a two-class report; None for any other."""
        if self._report is None or "y_score" not in self._report:
            return None
        return float(self.threshold_spin.value())

    def clear(self) -> None:
        self.title.setText("Train a model to see how it does on the test split.")
        self._report = None
        self.metrics_table.setRowCount(0)
        self.stack.setCurrentIndex(0)
        self.hardware.clear()

    def show_report(self, title: str, report: dict) -> None:
        """A test report from the engine: scalars become the metrics table; classification
        adds ``labels``, ``confusion_matrix`` (rows actual) and per-class ``precision``,
        ``recall``, ``f1`` (two classes: ``threshold``, ``y_true`` and ``y_score`` (n,) for
        re-deciding); regression adds ``y_true`` and ``y_pred`` (n,)."""
        self.title.setText(title)
        self._report = report
        binary = "y_score" in report
        self.threshold_row.setVisible(binary)
        if binary:
            self.threshold_spin.blockSignals(True)  # the report is already decided at it
            self.threshold_spin.setValue(float(report["threshold"]))
            self.threshold_spin.blockSignals(False)
        self._show_metrics(report)
        if "confusion_matrix" in report:
            labels = [str(label) for label in report["labels"]]
            self._show_confusion(labels, np.asarray(report["confusion_matrix"]))
            self._show_per_class(labels, report)
            self.stack.setCurrentIndex(1)
        elif "y_true" in report:
            self._show_scatter(np.asarray(report["y_true"]), np.asarray(report["y_pred"]))
            self.stack.setCurrentIndex(2)
        else:
            self.stack.setCurrentIndex(0)

    def _show_metrics(self, report: dict) -> None:
        hidden = ("task", "threshold")  # the threshold has its own control
        metrics = {
            k: v for k, v in report.items() if isinstance(v, int | float) and k not in hidden
        }
        self.metrics_table.setRowCount(len(metrics))
        for row, (name, value) in enumerate(metrics.items()):
            self.metrics_table.setItem(row, 0, _readonly(METRIC_NAMES.get(name, name)))
            self.metrics_table.setItem(row, 1, _readonly(_fmt(value)))

    def _on_threshold(self, value: float) -> None:
        """Re-decide the test rows at ``value`` from their stored probabilities."""
        report = self._report
        if report is None or "y_score" not in report:
            return
        score = np.asarray(report["y_score"], dtype=np.float64)
        proba = np.stack([1.0 - score, score], axis=1)
        decided = classification_report(report["y_true"], proba, report["labels"], value)
        self._report = {**report, **decided}
        labels = [str(label) for label in decided["labels"]]
        self._show_metrics(self._report)
        self._show_confusion(labels, np.asarray(decided["confusion_matrix"]))
        self._show_per_class(labels, decided)

    def show_hardware(self, summary: dict | None) -> None:
        if not summary:
            self.hardware.clear()
            return
        self.hardware.setText(f"Hardware during the run: {summary_line(summary)}")

    def _show_confusion(self, classes: list[str], counts: np.ndarray) -> None:
        k = len(classes)
        self.confusion.clear()
        self.confusion.setRowCount(k)
        self.confusion.setColumnCount(k)
        self.confusion.setHorizontalHeaderLabels([f"pred {c}" for c in classes])
        self.confusion.setVerticalHeaderLabels([f"true {c}" for c in classes])
        self.confusion.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.Stretch)
        row_totals = counts.sum(axis=1, keepdims=True).clip(min=1)
        share = counts / row_totals
        for i in range(k):
            for j in range(k):
                item = _readonly(str(int(counts[i, j])))
                item.setTextAlignment(Qt.AlignmentFlag.AlignCenter)
                shade = int(255 - 180 * share[i, j])
                item.setBackground(QBrush(QColor(shade, shade, 255)))
                item.setForeground(QBrush(QColor("white" if share[i, j] > 0.6 else "black")))
                item.setToolTip(f"{share[i, j]:.1%} of actual {classes[i]}")
                self.confusion.setItem(i, j, item)

    def _show_per_class(self, labels: list[str], report: dict) -> None:
        self.per_class.setRowCount(len(labels))
        for row, name in enumerate(labels):
            self.per_class.setItem(row, 0, _readonly(name))
            for col, key in enumerate(("precision", "recall", "f1"), start=1):
                self.per_class.setItem(row, col, _readonly(_fmt(float(report[key][row]))))

    def _show_scatter(self, y_true: np.ndarray, y_pred: np.ndarray) -> None:
        self._points.setData(y_true.ravel(), y_pred.ravel())
        if len(y_true):
            low = float(min(y_true.min(), y_pred.min()))
            high = float(max(y_true.max(), y_pred.max()))
            self._diagonal.setData([low, high], [low, high])
