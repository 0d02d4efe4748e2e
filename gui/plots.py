"""Live training plots: loss per step (raw and smoothed) with validation per epoch, and the metric.

Buffers are bounded: when one fills, every other point is dropped and later points are kept at
the coarser stride, so a run of any length keeps its whole shape in fixed memory.
"""

from __future__ import annotations

import math
import time

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import Qt
from PySide6.QtGui import QColor
from PySide6.QtWidgets import QCheckBox, QHBoxLayout, QVBoxLayout, QWidget

from engine.series import DecimatingBuffer

pg.setConfigOptions(antialias=False, useOpenGL=False)

PALETTE = ["#1f77b4", "#d62728", "#2ca02c", "#ff7f0e", "#9467bd", "#8c564b"]


class Ema:
    """Exponential moving average with bias correction (TensorBoard-style smoothing)."""

    def __init__(self, weight: float = 0.9) -> None:
        self.weight = weight
        self._value = 0.0
        self._count = 0

    def reset(self) -> None:
        self._value, self._count = 0.0, 0

    def update(self, values) -> np.ndarray:
        out = np.empty(len(values), np.float64)
        for i, v in enumerate(np.asarray(values, np.float64).tolist()):
            if math.isfinite(v):
                self._count += 1
                self._value = self.weight * self._value + (1.0 - self.weight) * v
            out[i] = self._value / (1.0 - self.weight**self._count) if self._count else np.nan
        return out


class LivePlotWidget(pg.PlotWidget):
    """A plot for live data: one paint per data change, and each paint's cost reported.

    pyqtgraph applies a pending auto-range at the start of a paint, and the new range then
    schedules a second, identical paint. ``settle()`` applies it before Qt paints, so a data
    change costs one paint instead of two. ``paint_cost``, when set, is called with the CPU
    seconds of every paint, so that a frame budget can count drawing that Qt does later.
    """

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.paint_cost = None

    def settle(self) -> None:
        if self.isVisible():  # a hidden plot settles in its first paint once shown
            self.scene().prepareForPaint()

    def paintEvent(self, event) -> None:
        if self.paint_cost is None:
            super().paintEvent(event)
            return
        started = time.thread_time()
        try:
            super().paintEvent(event)
        finally:
            self.paint_cost(time.thread_time() - started)


def share_x_range(plots: list[pg.PlotWidget]) -> None:
    """Keep the plots' x-ranges equal, whatever their sizes and places on screen.

    ``setXLink`` lines up views that overlap horizontally pixel by pixel instead, so a wide
    plot under a narrower one would show a longer span than it.
    """
    busy = False

    def follower(source):
        def follow(_view, x_range) -> None:
            nonlocal busy
            if busy:
                return
            busy = True
            try:
                for plot in plots:
                    if plot is not source:
                        plot.setXRange(*x_range, padding=0)
            finally:
                busy = False

        return follow

    for plot in plots:
        plot.getViewBox().sigXRangeChanged.connect(follower(plot))


def cheap_grid(widget: pg.PlotWidget) -> None:
    """Grid lines at the major and minor ticks only: the faint third level quadruples the lines
    each axis strokes, and that stroking was most of a live plot's repaint time."""
    for side in ("left", "bottom"):
        widget.getAxis(side).setStyle(maxTickLevel=1)
    widget.showGrid(x=True, y=True, alpha=0.2)


def _plot_widget(name: str, left: str, bottom: str) -> LivePlotWidget:
    widget = LivePlotWidget(background="w")
    widget.setObjectName(name)
    widget.setLabel("left", left)
    widget.setLabel("bottom", bottom)
    for side in ("left", "bottom"):
        widget.getAxis(side).enableAutoSIPrefix(False)  # the labels carry the units
    cheap_grid(widget)
    widget.addLegend(offset=(-10, 10))
    widget.setMinimumHeight(160)
    return widget


class LossPlot(QWidget):
    """Training loss per step (faint raw, bold smoothed) and validation loss per epoch."""

    def __init__(self, capacity: int = 4096, parent=None) -> None:
        super().__init__(parent)
        self.plot = _plot_widget("lossPlot", "Loss", "Training step (mini-batches)")
        self.log_toggle = QCheckBox("Log scale")
        self.log_toggle.setObjectName("logScaleCheck")
        self.log_toggle.toggled.connect(lambda on: self.plot.setLogMode(y=on))
        raw_color = QColor(PALETTE[0])
        raw_color.setAlpha(60)
        self.raw_curve = self.plot.plot(pen=pg.mkPen(raw_color, width=1), name="train (raw)")
        self.smooth_curve = self.plot.plot(pen=pg.mkPen(PALETTE[0], width=1), name="train")
        self.val_curve = self.plot.plot(
            pen=pg.mkPen(PALETTE[1], width=1),
            symbol="o",
            symbolSize=4,
            symbolBrush=PALETTE[1],
            name="validation (per epoch)",
        )
        self.raw = DecimatingBuffer(capacity)
        self.smooth = DecimatingBuffer(capacity)
        self._curves = {
            "raw": (self.raw_curve, self.raw),
            "smooth": (self.smooth_curve, self.smooth),
        }
        self._validation: tuple[list[float], int, int] = ([], 1, 0)
        self._dirty: set[str] = set()
        self._ema = Ema()
        bar = QHBoxLayout()
        bar.addStretch(1)
        bar.addWidget(self.log_toggle)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addLayout(bar)
        layout.addWidget(self.plot, 1)

    def set_loss_name(self, text: str) -> None:
        self.plot.setLabel("left", text)

    def clear(self) -> None:
        for buffer in (self.raw, self.smooth):
            buffer.clear()
        self._ema.reset()
        self._validation = ([], 1, 0)
        self._dirty.update((*self._curves, "val"))
        self.redraw()

    def add_steps(self, steps: np.ndarray, losses: np.ndarray) -> None:
        if len(steps):
            self.raw.extend(steps, losses)
            self.smooth.extend(steps, self._ema.update(losses))
            self._dirty.update(("raw", "smooth"))

    def show_validation(self, losses: list[float], steps_per_epoch: int, epochs: int) -> None:
        """The first ``epochs`` validation losses (the trainer's own per-epoch list, read
        where it is), each at the step its epoch ended."""
        self._validation = (losses, steps_per_epoch, epochs)
        self._dirty.add("val")

    def validation_points(self) -> tuple[np.ndarray, np.ndarray]:
        losses, per_epoch, epochs = self._validation
        values = np.asarray(losses[:epochs], dtype=np.float64)
        return np.arange(1, len(values) + 1) * per_epoch, values

    def redraw(self) -> bool:
        """Hand the plot the curves that changed since the last redraw (losses can be NaN, so
        pyqtgraph's finite check stays on); False when nothing changed."""
        changed = bool(self._dirty)
        for name in self._dirty:
            if name == "val":
                self.val_curve.setData(*self.validation_points())
                continue
            curve, buffer = self._curves[name]
            curve.setData(*buffer.data())
        self._dirty.clear()
        if changed:
            self.plot.settle()
        return changed


class MetricPlot(QWidget):
    """The task metric per epoch: one curve per metric key, training solid, validation dashed.

    Reads the trainer's own per-epoch history (:meth:`show_history`), keeping no copy of it."""

    def __init__(self, parent=None) -> None:
        super().__init__(parent)
        self.plot = _plot_widget("metricPlot", "Metric", "Epoch")
        self._curves: dict[str, pg.PlotDataItem] = {}
        self._history: dict[str, list[float]] = {}
        self._epochs = 0
        self._dirty = False
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.plot, 1)

    def set_metric_label(self, text: str, rising: bool = False) -> None:
        """The y-axis label; a ``rising`` metric (accuracy) moves the legend to the bottom
        right corner (a negative offset anchors it there), out of the way of curves that
        climb to the top."""
        self.plot.setLabel("left", text)
        self.plot.plotItem.legend.setOffset((-10, -10) if rising else (-10, 10))

    def clear(self) -> None:
        self.plot.clear()
        self._curves.clear()
        self._history, self._epochs = {}, 0

    def show_history(self, history: dict[str, list[float]], epochs: int) -> None:
        """Show the first ``epochs`` entries of ``history`` (``{key: [value per epoch]}``:
        loss and lr are the loss plot's and the status bar's; the rest are metrics)."""
        self._history, self._epochs = history, epochs
        for key in self._metric_keys():
            if key not in self._curves:
                self._curves[key] = self._new_curve(key, key.removeprefix("val_"))
        self._dirty = True

    def _metric_keys(self) -> list[str]:
        return [k for k in list(self._history) if k.removeprefix("val_") not in ("loss", "lr")]

    def _new_curve(self, key: str, base: str) -> pg.PlotDataItem:
        bases = sorted({k.removeprefix("val_") for k in self._metric_keys()})
        color = PALETTE[bases.index(base) % len(PALETTE)]
        style = Qt.PenStyle.DashLine if key.startswith("val_") else Qt.PenStyle.SolidLine
        name = f"{base} (validation)" if key.startswith("val_") else base
        pen = pg.mkPen(color, width=1, style=style)
        return self.plot.plot(pen=pen, name=name)

    def redraw(self) -> bool:
        """Hand the plot the epochs added since the last redraw; False when there were none."""
        changed, self._dirty = self._dirty, False
        if changed:
            for key, (xs, ys) in self.series().items():
                self._curves[key].setData(xs, ys)
            self.plot.settle()
        return changed

    def series(self) -> dict[str, tuple[np.ndarray, np.ndarray]]:
        """``{key: (epochs 1.., values)}`` of what is shown."""
        xs = np.arange(1, self._epochs + 1)
        return {
            k: (xs, np.asarray(self._history[k][: self._epochs], dtype=np.float64))
            for k in self._metric_keys()
        }
