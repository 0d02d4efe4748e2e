"""Several runs on one chart: loss (training solid, validation dashed) and the metric, one
colour per run, against the epoch, the training step or the seconds since the run started."""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QComboBox, QHBoxLayout, QLabel, QSplitter, QVBoxLayout, QWidget

from gui.plots import PALETTE, cheap_grid, share_x_range

X_AXES = ("epoch", "step", "time")
X_LABELS = {
    "epoch": "Epoch",
    "step": "Training step (mini-batches)",
    "time": "Seconds since the run started",
}
NOT_METRICS = ("epoch", "step", "seconds", "lr", "loss", "val_loss")


def x_values(history: list[dict], x_axis: str) -> np.ndarray:
    """``(epochs,)`` x-coordinates: epochs from 1, the step each epoch ended at, or the summed
    epoch durations (the store keeps each epoch's own seconds)."""
    if x_axis == "epoch":
        return np.array([row["epoch"] + 1 for row in history], dtype=np.float64)
    if x_axis == "step":
        steps = [np.nan if row.get("step") is None else row["step"] for row in history]
        return np.array(steps, dtype=np.float64)
    return np.cumsum([row.get("seconds") or 0.0 for row in history], dtype=np.float64)


def series(history: list[dict], key: str) -> np.ndarray:
    """``(epochs,)`` values of ``key`` (NaN where an epoch lacks it)."""
    values = [row.get(key) for row in history]
    return np.array([np.nan if v is None else v for v in values], dtype=np.float64)


def metric_keys(history: list[dict]) -> list[str]:
    """The logged metrics besides the loss and the learning rate, in the order first seen."""
    keys: dict[str, None] = {}
    for row in history:
        keys.update((k, None) for k in row if k not in NOT_METRICS)
    return list(keys)


def run_colour(i: int, n: int):
    """The i-th of n runs' colour: the live plots' palette while it lasts, then evenly spaced
    hues so that every run keeps a colour of its own."""
    return PALETTE[i] if n <= len(PALETTE) else pg.intColor(i, hues=n)


class RunsOverlay(QWidget):
    """The chosen runs' curves; ``curves[(run_id, key)]`` holds each one (tests read them)."""

    def __init__(self, parent=None) -> None:
        super().__init__(parent)
        self.x_combo = QComboBox()
        self.x_combo.setObjectName("runsXAxis")
        self.x_combo.addItems(X_AXES)
        self.x_combo.currentTextChanged.connect(lambda _text: self._draw())
        self.note = QLabel("Select runs in the table to compare their curves.")
        self.note.setObjectName("runsPlotNote")
        self.loss_plot = self._plot("runsLossPlot", "Loss (solid: training, dashed: validation)")
        self.metric_plot = self._plot("runsMetricPlot", "Metric")
        share_x_range([self.loss_plot, self.metric_plot])
        self.curves: dict[tuple[str, str], pg.PlotDataItem] = {}
        self._runs: list[dict] = []

        bar = QHBoxLayout()
        bar.addWidget(self.note, 1)
        bar.addWidget(QLabel("x-axis"))
        bar.addWidget(self.x_combo)
        plots = QSplitter(Qt.Orientation.Horizontal)
        plots.addWidget(self.loss_plot)
        plots.addWidget(self.metric_plot)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addLayout(bar)
        layout.addWidget(plots, 1)

    def _plot(self, name: str, left: str) -> pg.PlotWidget:
        widget = pg.PlotWidget(background="w")
        widget.setObjectName(name)
        widget.setLabel("left", left)
        cheap_grid(widget)
        widget.addLegend(offset=(-10, 10))
        widget.setMinimumHeight(160)
        return widget

    def show_runs(self, runs: list[dict], note: str = "") -> None:
        """Draw ``runs`` (RunStore.get() results); ``note`` says what was left out."""
        self._runs = runs
        if not runs:
            note = note or "Select runs in the table to compare their curves."
        self.note.setText(note)
        self._draw()

    def _draw(self) -> None:
        x_axis = self.x_combo.currentText()
        for plot in (self.loss_plot, self.metric_plot):
            plot.clear()
            plot.setLabel("bottom", X_LABELS[x_axis])
        self.curves.clear()
        names: dict[str, None] = {}
        for i, run in enumerate(self._runs):
            history = run.get("history") or []
            if not history:
                continue
            x, colour = x_values(history, x_axis), run_colour(i, len(self._runs))
            metrics = metric_keys(history)
            names.update((k.removeprefix("val_"), None) for k in metrics)
            for plot, keys in ((self.loss_plot, ["loss", "val_loss"]), (self.metric_plot, metrics)):
                named = False
                for key in keys:
                    if not any(key in row for row in history):
                        continue
                    dashed = key.startswith("val_")
                    style = Qt.PenStyle.DashLine if dashed else Qt.PenStyle.SolidLine
                    label = None if named else run["name"]
                    pen = pg.mkPen(colour, width=1, style=style)
                    curve = plot.plot(x, series(history, key), pen=pen, name=label)
                    self.curves[(run["id"], key)] = curve
                    named = True
        metric_label = " / ".join(names) or "Metric"
        self.metric_plot.setLabel("left", f"{metric_label} (solid: training, dashed: validation)")
