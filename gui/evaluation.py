"""After training: the test-split metrics, a confusion-matrix heatmap with per-class scores for
classification, a predicted-vs-actual scatter for regression, and the hardware summary."""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import Qt
from PySide6.QtGui import QBrush, QColor
from PySide6.QtWidgets import (
    QHeaderView,
    QLabel,
    QStackedWidget,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from engine.hardware.text import summary_line

METRIC_NAMES = {
    "n": "rows in the test split",
    "accuracy": "accuracy",
    "macro_f1": "macro F1",
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
        return f"{value:.4g}"
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
        self.metrics_table.setMaximumHeight(170)

        self.confusion = QTableWidget()
        self.confusion.setObjectName("confusionMatrix")
        self.per_class = QTableWidget(0, 4)
        self.per_class.setObjectName("perClassTable")
        self.per_class.setHorizontalHeaderLabels(["Class", "Precision", "Recall", "F1"])
        self.per_class.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.Stretch)
        classification = QWidget()
        box = QVBoxLayout(classification)
        box.setContentsMargins(0, 0, 0, 0)
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
        layout.addWidget(self.hardware)

    def clear(self) -> None:
        self.title.setText("Train a model to see how it does on the test split.")
        self.metrics_table.setRowCount(0)
        self.stack.setCurrentIndex(0)
        self.hardware.clear()

    def show_report(self, title: str, report: dict) -> None:
        """A test report from the engine: scalars become the metrics table; classification
        adds ``labels``, ``confusion_matrix`` (rows actual) and per-class ``precision``,
        ``recall``, ``f1``; regression adds ``y_true`` and ``y_pred`` (n,)."""
        self.title.setText(title)
        metrics = {
            k: v for k, v in report.items() if isinstance(v, int | float) and k not in ("task",)
        }
        self.metrics_table.setRowCount(len(metrics))
        for row, (name, value) in enumerate(metrics.items()):
            self.metrics_table.setItem(row, 0, _readonly(METRIC_NAMES.get(name, name)))
            self.metrics_table.setItem(row, 1, _readonly(_fmt(value)))
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
