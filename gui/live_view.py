"""The live tab: loss and metric plots over the hardware panel, fed by the worker's batches."""

from __future__ import annotations

import time

import numpy as np
import pandas as pd
from PySide6.QtCore import Qt, QTimer
from PySide6.QtWidgets import QSplitter, QVBoxLayout, QWidget

from gui.hardware_panel import HardwarePanel
from gui.plots import LossPlot, MetricPlot

LOSS_LABELS = {
    "classification": "Loss (cross-entropy, nats)",
    "regression": "Loss (MSE, standardised target)",
}
METRIC_LABELS = {
    "classification": "Accuracy (fraction correct)",
    "regression": "MAE (standardised target)",
}


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
    """Owns the plots' data for one run: per-step losses and per-epoch logs.

    All live drawing (loss, metric and the hardware panel's plots) goes through one
    :class:`FrameBudget`: at most 4 redraws a second, and fewer when they cost more than 2 %
    of a core. On a 2-core machine every millisecond the GUI thread draws stalls the
    training's two BLAS threads, so this is what keeps the window's cost to training low.
    """

    def __init__(self, parent=None) -> None:
        super().__init__(parent)
        self.budget = FrameBudget()
        self._redraw_timer = QTimer(self, singleShot=True)
        self._redraw_timer.timeout.connect(self.flush)
        self.loss = LossPlot()
        self.metric_plot = MetricPlot()  # not "metric": that would hide QWidget.metric()
        self.hardware = HardwarePanel()
        self.hardware.request_redraw = self._schedule
        self.history: dict[str, list[float]] = {}  # the trainer's own per-epoch lists
        self.steps_per_epoch = 1
        self.epochs = 0  # finished epochs reported so far
        self.plots = QSplitter(Qt.Orientation.Vertical)
        self.plots.setObjectName("plotsSplitter")
        self.plots.addWidget(self.loss)
        self.plots.addWidget(self.metric_plot)
        self.plots.addWidget(self.hardware)
        self.plots.setSizes([300, 220, 300])
        for plot in self._plot_widgets():
            plot.paint_cost = self.budget.charge
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.plots)

    def clear(self) -> None:
        self.loss.clear()
        self.metric_plot.clear()
        self.history, self.epochs = {}, 0

    def start(self, task: str, t0: float, backend=None, history=None, steps_per_epoch=1) -> None:
        """A run begins; ``history`` is its trainer's per-epoch ``{key: [values]}``, read
        (never copied) up to the finished epochs each progress batch reports."""
        self.history = history if history is not None else {}
        self.steps_per_epoch, self.epochs = steps_per_epoch, 0
        self.loss.set_loss_name(LOSS_LABELS.get(task, "Loss"))
        self.metric_plot.set_metric_label(
            METRIC_LABELS.get(task, "Metric"), rising=task == "classification"
        )
        if backend is not None:
            self.hardware.attach(backend)
        self.hardware.run_started(t0)

    def add_progress(self, batch: dict) -> None:
        self.loss.add_steps(batch["steps"], batch["losses"])
        if batch["epoch"] > self.epochs:
            self.epochs = batch["epoch"]
            validation = self.history.get("val_loss")
            if validation is not None:
                self.loss.show_validation(validation, self.steps_per_epoch, self.epochs)
            self.metric_plot.show_history(self.history, self.epochs)
        self._schedule()

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
        self.budget.spent(started, time.thread_time() - cpu)

    def _plot_widgets(self) -> list:
        return [self.loss.plot, self.metric_plot.plot, *self.hardware.plots]

    def run_finished(self, epochs: int) -> dict:
        self.flush()
        return self.hardware.run_finished(epochs)

    def history_frame(self) -> pd.DataFrame:
        """One row per epoch: epoch, the global step it ended at, and every logged value."""
        n = self.epochs
        epochs = np.arange(1, n + 1)
        columns = {"epoch": epochs, "step": epochs * self.steps_per_epoch}
        columns.update({key: values[:n] for key, values in list(self.history.items())})
        return pd.DataFrame(columns) if n else pd.DataFrame()

    def shutdown(self) -> None:
        self.hardware.shutdown()
