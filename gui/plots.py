"""Live training plots: loss per step (raw and smoothed) with validation per epoch, and the metric.

Buffers are bounded: when one fills, every other point is dropped and later points are kept at
the coarser stride, so a run of any length keeps its whole shape in fixed memory. The data is
kept in steps and epochs; the x-axis (step, epoch or seconds, ``gui.time_axis``) is applied
when the curves are handed to pyqtgraph.
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
from gui.time_axis import X_LABELS, TimeAxis

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


class SharedXRange:
    """Keeps its plots' x-ranges equal, whatever their sizes and places on screen; the plots
    can change (the live view adds the hardware plots in time mode).

    ``setXLink`` lines up views that overlap horizontally pixel by pixel instead, so a wide
    plot under a narrower one would show a longer span than it.
    """

    def __init__(self, plots=()) -> None:
        self.plots: list[pg.PlotWidget] = []
        self._busy = False
        self._followers: dict[int, object] = {}
        self.set_plots(plots)

    def set_plots(self, plots) -> None:
        for plot in self.plots:
            plot.getViewBox().sigXRangeChanged.disconnect(self._followers.pop(id(plot)))
        self.plots = list(plots)
        for plot in self.plots:
            self._followers[id(plot)] = self._follower(plot)
            plot.getViewBox().sigXRangeChanged.connect(self._followers[id(plot)])

    def align(self, source: pg.PlotWidget) -> None:
        """Give every plot ``source``'s x-range now."""
        self._follow(source, source.getViewBox().viewRange()[0])

    def _follower(self, source):
        return lambda _view, x_range: self._follow(source, x_range)

    def _follow(self, source, x_range) -> None:
        if self._busy:
            return
        self._busy = True
        try:
            for plot in self.plots:
                if plot is not source:
                    plot.setXRange(*x_range, padding=0)
        finally:
            self._busy = False


def share_x_range(plots: list[pg.PlotWidget]) -> SharedXRange:
    """Keep the plots' x-ranges equal (:class:`SharedXRange`)."""
    return SharedXRange(plots)


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
    """Training loss per step (faint raw, bold smoothed) and validation loss per epoch.

    ``axis`` (a :class:`~gui.time_axis.TimeAxis`, shared with the live view) maps the steps
    onto the x-axis chosen with :meth:`set_x_mode`."""

    def __init__(self, capacity: int = 4096, axis: TimeAxis | None = None, parent=None) -> None:
        super().__init__(parent)
        self.axis = axis if axis is not None else TimeAxis()
        self.x_mode = "step"
        self.plot = _plot_widget("lossPlot", "Loss", X_LABELS["step"])
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

    def set_x_mode(self, mode: str) -> None:
        """Plot against ``mode``: "step", "epoch" or "time" (``gui.time_axis.MODES``)."""
        self.x_mode = mode
        self.plot.setLabel("bottom", X_LABELS[mode])
        self._dirty.update((*self._curves, "val"))

    def loss_at(self, step: float) -> float:
        """The training loss logged nearest ``step`` (NaN when there is none)."""
        steps, losses = self.raw.data()
        if not len(steps) or not np.isfinite(step):
            return math.nan
        i = int(np.searchsorted(steps, step))
        nearest = min((j for j in (i - 1, i) if 0 <= j < len(steps)),
                      key=lambda j: abs(steps[j] - step))  # fmt: skip
        return float(losses[nearest])

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
                curve, (steps, values) = self.val_curve, self.validation_points()
            else:
                curve, buffer = self._curves[name]
                steps, values = buffer.data()
            curve.setData(self.axis.x_of_steps(steps, self.x_mode), values)
        self._dirty.clear()
        if changed:
            self.plot.settle()
        return changed


class MetricPlot(QWidget):
    """The task metric per epoch: one curve per metric key, training solid, validation dashed.

    Reads the trainer's own per-epoch history (:meth:`show_history`), keeping no copy of it.
    Epoch ``k`` is drawn where it ended on ``axis``'s x-axis (:meth:`set_x_mode`)."""

    def __init__(self, axis: TimeAxis | None = None, parent=None) -> None:
        super().__init__(parent)
        self.axis = axis if axis is not None else TimeAxis()
        self.x_mode = "step"
        self.plot = _plot_widget("metricPlot", "Metric", X_LABELS["step"])
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

    def set_x_mode(self, mode: str) -> None:
        """Plot against ``mode``: "step", "epoch" or "time" (``gui.time_axis.MODES``)."""
        self.x_mode = mode
        self.plot.setLabel("bottom", X_LABELS[mode])
        self._dirty = True

    def clear(self) -> None:
        # its own curves only: other items (the live view's crosshair) stay on the plot
        for curve in self._curves.values():
            self.plot.removeItem(curve)
        self._curves.clear()
        self._history, self._epochs = {}, 0

    def values_at(self, epochs: int) -> dict[str, float]:
        """``{key: value}`` of every metric after ``epochs`` finished epochs (none before the
        first)."""
        if not 1 <= epochs <= self._epochs:
            return {}
        return {k: float(self._history[k][epochs - 1]) for k in self._metric_keys()}

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
                x = self.axis.x_of_steps(xs * self.axis.steps_per_epoch, self.x_mode)
                self._curves[key].setData(x, ys)
            self.plot.settle()
        return changed

    def series(self) -> dict[str, tuple[np.ndarray, np.ndarray]]:
        """``{key: (epochs 1.., values)}`` of what is shown."""
        xs = np.arange(1, self._epochs + 1)
        return {
            k: (xs, np.asarray(self._history[k][: self._epochs], dtype=np.float64))
            for k in self._metric_keys()
        }
