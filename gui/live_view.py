"""The live tab: loss and metric plots over the hardware panel, fed by the worker's batches or
replayed from a stored run, on one x-axis (step, epoch or seconds) with one crosshair."""

from __future__ import annotations

import math
import time

import numpy as np
import pandas as pd
from PySide6.QtCore import Qt, QTimer
from PySide6.QtWidgets import (
    QComboBox,
    QHBoxLayout,
    QLabel,
    QSizePolicy,
    QSplitter,
    QVBoxLayout,
    QWidget,
)

from gui.crosshair import Crosshair
from gui.hardware_panel import HardwarePanel
from gui.plots import LossPlot, MetricPlot, SharedXRange
from gui.time_axis import (
    MODES,
    TimeAxis,
    finite,
    recorded_epoch_ends,
    recorded_start,
    replay_anchors,
)

LOSS_LABELS = {
    "classification": "Loss (cross-entropy, nats)",
    "regression": "Loss (MSE, standardised target)",
}
METRIC_LABELS = {
    "classification": "Accuracy (fraction correct)",
    "regression": "MAE (standardised target)",
}
NOT_LOGS = ("epoch", "step", "seconds")  # a stored epoch row's fields besides its logs


class FrameBudget:
    """Spaces redraws so that drawing takes about ``share`` of a core at most.

    On a small machine a live plot's repaint costs milliseconds, and every millisecond the GUI
    thread draws is taken from training (the worker needs the GIL and the cores). A frame's
    cost is the redraw's own CPU time (``spent``) plus the paints Qt runs after it
    (``charge``: any paint of a live plot, so a user's resizing also spaces redraws out); the
    wait after a redraw is that cost divided by ``share``, within ``[min_s, max_s]``: a fast
    machine redraws every ``min_s``, a slow one less often, and never less than every
    ``max_s``.
    """

    def __init__(self, share: float = 0.02, min_s: float = 0.25, max_s: float = 2.0) -> None:
        self.share, self.min_s, self.max_s = share, min_s, max_s
        self.interval = min_s
        self.last = -float("inf")
        self.cost = 0.0

    def wait(self, now: float) -> float:
        """Seconds until the next redraw is due (0 when due now)."""
        return max(0.0, self.last + self.interval - now)

    def spent(self, started: float, seconds: float) -> None:
        """A redraw began at ``started`` and took ``seconds`` of CPU."""
        self.last, self.cost = started, seconds
        self._space()

    def charge(self, seconds: float) -> None:
        """Drawing that followed the redraw (Qt paints in the event loop, later)."""
        self.cost += seconds
        self._space()

    def _space(self) -> None:
        self.interval = min(self.max_s, max(self.min_s, self.cost / self.share))


class LiveView(QWidget):
    """Owns the plots' data for one run: per-step losses, per-epoch logs and the time axis.

    All live drawing (loss, metric and the hardware panel's plots) goes through one
    :class:`FrameBudget`: at most 4 redraws a second, and fewer when they cost more than 2 %
    of a core. On a 2-core machine every millisecond the GUI thread draws stalls the
    training's two BLAS threads, so this is what keeps the window's cost to training low.

    The x-axis (``xAxisMode``: step, epoch, time) applies to the loss and metric plots; in
    time mode they share one x-range with the hardware plots, whose x is always seconds since
    the start. ``axis`` (:class:`~gui.time_axis.TimeAxis`) maps steps to seconds from one
    anchor per progress batch. A crosshair on every plot reads the values at one moment into
    ``crosshairReadout``.
    """

    def __init__(self, parent=None) -> None:
        super().__init__(parent)
        self.budget = FrameBudget()
        self._redraw_timer = QTimer(self, singleShot=True)
        self._redraw_timer.timeout.connect(self.flush)
        self.axis = TimeAxis()
        self.t0: float | None = None  # the run's start on time.monotonic()
        self.loss = LossPlot(axis=self.axis)
        # not "metric": that would hide QWidget.metric()
        self.metric_plot = MetricPlot(axis=self.axis)
        self.hardware = HardwarePanel()
        self.hardware.request_redraw = self._schedule
        self.history: dict[str, list[float]] = {}  # the trainer's own per-epoch lists
        self.steps_per_epoch = 1
        self.epochs = 0  # finished epochs reported so far
        self._marks_dirty = False
        self.x_mode_combo = QComboBox(objectName="xAxisMode")
        self.x_mode_combo.addItems(list(MODES))
        self.x_mode_combo.setToolTip(
            "The loss and metric plots' x-axis; in time mode every plot shows the same seconds"
        )
        self.x_mode_combo.currentTextChanged.connect(self.set_x_mode)
        self.readout = QLabel("Point at a plot to read its values at that moment.",
                              objectName="crosshairReadout")  # fmt: skip
        self.readout.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        # a long read-out is cut at the window's edge rather than widening the window
        self.readout.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)
        self.plots = QSplitter(Qt.Orientation.Vertical)
        self.plots.setObjectName("plotsSplitter")
        self.plots.addWidget(self.loss)
        self.plots.addWidget(self.metric_plot)
        self.plots.addWidget(self.hardware)
        self.plots.setSizes([300, 220, 300])
        for plot in self._plot_widgets():
            plot.paint_cost = self.budget.charge
        self.x_range = SharedXRange([self.loss.plot, self.metric_plot.plot])
        self.crosshair = Crosshair(self._plot_widgets(), self._locate, parent=self)
        bar = QHBoxLayout()
        bar.addWidget(QLabel("x-axis"))
        bar.addWidget(self.x_mode_combo)
        bar.addWidget(self.readout, 1)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addLayout(bar)
        layout.addWidget(self.plots, 1)

    def clear(self) -> None:
        self.loss.clear()
        self.metric_plot.clear()
        self.history, self.epochs = {}, 0
        self.axis.reset()
        self.hardware.set_epoch_marks([])
        self.crosshair.place({})

    def start(self, task: str, t0: float, backend=None, history=None, steps_per_epoch=1,
              start_step: int = 0) -> None:  # fmt: skip
        """A run begins at ``t0`` (``time.monotonic()``) from global step ``start_step``;
        ``history`` is its trainer's per-epoch ``{key: [values]}``, read (never copied) up to
        the finished epochs each progress batch reports."""
        self.history = history if history is not None else {}
        self.steps_per_epoch, self.epochs = steps_per_epoch, 0
        self.t0 = t0
        self.axis.reset(steps_per_epoch)
        self.axis.add(start_step, 0.0)
        self._set_labels(task)
        if backend is not None:
            self.hardware.attach(backend)
        self.hardware.run_started(t0)

    def _set_labels(self, task: str) -> None:
        self.loss.set_loss_name(LOSS_LABELS.get(task, "Loss"))
        self.metric_plot.set_metric_label(
            METRIC_LABELS.get(task, "Metric"), rising=task == "classification"
        )

    def add_progress(self, batch: dict) -> None:
        if self.t0 is not None:
            self.axis.add(batch["global_step"], batch["time"] - self.t0)
        self.loss.add_steps(batch["steps"], batch["losses"])
        if batch["epoch"] > self.epochs:
            self.epochs = batch["epoch"]
            self._show_epochs()
        self._schedule()

    def _show_epochs(self) -> None:
        validation = self.history.get("val_loss")
        if validation is not None:
            self.loss.show_validation(validation, self.steps_per_epoch, self.epochs)
        self.metric_plot.show_history(self.history, self.epochs)
        self._marks_dirty = True

    def replay(self, run: dict) -> None:
        """Show a stored run (``RunStore.get``'s dict): its loss series, per-epoch history
        and telemetry, on the same axes as a live run, without training."""
        rows = run.get("history") or []
        series = run.get("series") or {}
        telemetry = series.get("telemetry") or {}
        self.clear()
        self.t0 = recorded_start(telemetry)
        per_epoch, steps, seconds = replay_anchors(rows, recorded_epoch_ends(rows, telemetry))
        self.axis.reset(per_epoch)
        for step, second in zip(steps, seconds):
            self.axis.add(step, second)
        self.steps_per_epoch = per_epoch
        keys = dict.fromkeys(k for row in rows for k in row if k not in NOT_LOGS)
        self.history = {k: [row.get(k, math.nan) for row in rows] for k in keys}
        self.epochs = len(rows)
        self._set_labels(run.get("task") or "")
        loss = series.get("loss") or {}
        self.loss.add_steps(np.asarray(loss.get("step") or [], dtype=np.float64),
                            np.asarray(loss.get("loss") or [], dtype=np.float64))  # fmt: skip
        self._show_epochs()
        record = {"samples": telemetry.get("samples") or [], "summary": run.get("hardware")}
        self.hardware.load_samples(record, t0=self.t0)
        self.flush()

    def set_x_mode(self, mode: str) -> None:
        """Plot the loss and the metric against ``mode`` ("step", "epoch" or "time"); in time
        mode the hardware plots share their x-range."""
        if self.x_mode_combo.currentText() != mode:
            self.x_mode_combo.setCurrentText(mode)  # comes back here
            return
        self.loss.set_x_mode(mode)
        self.metric_plot.set_x_mode(mode)
        shared = [self.loss.plot, self.metric_plot.plot]
        self.x_range.set_plots(shared + (self.hardware.plots if mode == "time" else []))
        self.crosshair.place({})
        self.flush()
        # the loss plot's auto-range leads in time mode: the hardware's would go on growing
        # with the idle samples after the run and squeeze the training curves
        leaders = [self.loss.plot] + ([] if mode == "time" else [self.hardware.plots[0]])
        for plot in leaders:
            plot.enableAutoRange(x=True)
            plot.settle()
        self.x_range.align(self.loss.plot)

    def crosshair_to(self, x: float, hardware: bool = False) -> str:
        """Put the crosshair at ``x``: on the loss and metric plots' x-axis, or in seconds on
        the hardware plots' when ``hardware``; returns the read-out."""
        mode = self.x_mode_combo.currentText()
        if hardware or mode == "time":
            seconds = x
            step = float(self.axis.steps_at(x))
        else:
            step = float(self.axis.steps_of_x(x, mode))
            seconds = float(self.axis.seconds_at(step))
        training = x if mode == "time" else float(self.axis.x_of_steps(step, mode))
        positions = {self.loss.plot: training, self.metric_plot.plot: training}
        if finite(seconds):
            positions.update(dict.fromkeys(self.hardware.plots, seconds))
        self.crosshair.place({plot: v for plot, v in positions.items() if finite(v)})
        text = self._readout(step, seconds)
        self.readout.setText(text)
        self.readout.setToolTip(text)  # whole, where a narrow window cuts the line
        return text

    def _locate(self, plot, x: float) -> None:
        self.crosshair_to(x, hardware=plot in self.hardware.plots)

    def _readout(self, step: float, seconds: float) -> str:
        parts = []
        if finite(seconds):
            parts.append(f"{seconds:,.1f} s")
        if finite(step) and len(self.axis):
            epoch = step / self.steps_per_epoch
            parts += [f"step {step:,.0f}", f"epoch {epoch:,.2f}"]
            loss = self.loss.loss_at(step)
            if finite(loss):
                parts.append(f"loss {loss:.4g}")
            done = min(self.epochs, int(math.floor(epoch + 1e-9)))
            parts += [f"{k} {v:.4g}" for k, v in self.metric_plot.values_at(done).items()]
        reading = self.hardware.reading_at(seconds) if finite(seconds) else None
        if reading:
            parts.append(reading)
        return " · ".join(parts) or "no values at this moment"

    def _schedule(self) -> None:
        """Redraw now if the budget allows, else when it does (one pending redraw at most)."""
        wait = self.budget.wait(time.monotonic())
        if wait == 0.0:
            self.flush()
        elif not self._redraw_timer.isActive():
            self._redraw_timer.start(max(1, round(wait * 1000)))

    def flush(self) -> None:
        """Hand the plots what has arrived; Qt paints them once, in the event loop, and those
        paints are charged to the budget as they happen."""
        self._redraw_timer.stop()
        started, cpu = time.monotonic(), time.thread_time()
        for view in (self.loss, self.metric_plot, self.hardware):
            view.redraw()
        if self._marks_dirty:
            self._marks_dirty = False
            self.hardware.set_epoch_marks(self.axis.epoch_end_seconds(self.epochs))
        self.budget.spent(started, time.thread_time() - cpu)

    def _plot_widgets(self) -> list:
        return [self.loss.plot, self.metric_plot.plot, *self.hardware.plots]

    def run_finished(self, epochs: int) -> dict:
        self.flush()
        return self.hardware.run_finished(epochs)

    def history_frame(self) -> pd.DataFrame:
        """One row per epoch: epoch, the global step it ended at, ``time_s`` (seconds since
        the start when it ended) and every logged value."""
        n = self.epochs
        epochs = np.arange(1, n + 1)
        columns = {"epoch": epochs, "step": epochs * self.steps_per_epoch}
        columns["time_s"] = self.axis.epoch_end_seconds(n)
        columns.update({key: values[:n] for key, values in list(self.history.items())})
        return pd.DataFrame(columns) if n else pd.DataFrame()

    def hardware_frame(self) -> pd.DataFrame:
        """The hardware samples on the same time axis (``HardwarePanel.samples_frame``)."""
        return self.hardware.samples_frame()

    def shutdown(self) -> None:
        self.hardware.shutdown()
