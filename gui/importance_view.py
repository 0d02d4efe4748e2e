"""Permutation importance of the last run's input columns on its test split: one horizontal bar
per column (the mean drop in score when its values are shuffled) with the spread over the
repeats as error bars (± one standard deviation).

Computed off the GUI thread (:func:`engine.run.explain.explain` in a
:class:`~gui.loader.BackgroundTask`) as soon as a run has its test report, with a progress
bar and Stop; Explain computes it again. On the bundled samples it takes well under a second
after scikit-learn's first import (see ``docs/CONTRACTS.md``, Explanations), so it starts
by itself rather than waiting for a click.
"""

from __future__ import annotations

import threading

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QObject, Signal
from PySide6.QtWidgets import (
    QHBoxLayout,
    QLabel,
    QProgressBar,
    QPushButton,
    QSizePolicy,
    QVBoxLayout,
    QWidget,
)

from gui.loader import BackgroundTask

BAR_COLOR = "#1f77b4"
IDLE_TEXT = "Column importance shows here once a run has been evaluated on its test split."


class _Relay(QObject):
    """Carries progress from the worker thread to the GUI thread (a queued signal)."""

    progress = Signal(int, int)


def _compute(job, stop: threading.Event, relay: _Relay):
    """In the worker thread: the importance on ``job``'s test split, or None when stopped."""
    from engine.run.explain import Cancelled, explain, job_predictor

    shown = [-1]  # percent last sent: at most 101 signals, however many passes

    def progress(done: int, total: int) -> None:
        percent = done * 100 // total
        if percent != shown[0]:
            shown[0] = percent
            relay.progress.emit(done, total)

    try:
        return explain(
            job_predictor(job),
            job.data.test_frame(),
            source="the test split",
            progress=progress,
            cancelled=stop.is_set,
        )
    except Cancelled:
        return None


class ImportanceView(QWidget):
    """``explain(job)`` starts the computation; ``explained(result)`` is emitted with the
    engine's result dict when it is shown. ``columns`` are the bars' column names, top first.
    """

    explained = Signal(object)

    def __init__(self, parent=None) -> None:
        super().__init__(parent)
        self.setObjectName("importanceView")
        self.title = QLabel(IDLE_TEXT)
        self.title.setObjectName("importanceTitle")
        self.title.setWordWrap(True)
        self.progress = QProgressBar()
        self.progress.setObjectName("importanceProgress")
        self.progress.setMaximumWidth(160)
        self.progress.hide()
        self.button = QPushButton("Explain")
        self.button.setObjectName("importanceButton")
        self.button.setEnabled(False)
        self.button.clicked.connect(self._on_button)

        self.plot = pg.PlotWidget(background="w")
        self.plot.setObjectName("importancePlot")
        self.plot.setMouseEnabled(x=False, y=False)
        self.plot.hideButtons()
        self.plot.showGrid(x=True, y=False, alpha=0.2)
        self.plot.getAxis("bottom").enableAutoSIPrefix(False)  # a drop of 0.1, not "100 (x0.001)"
        # shares the tab's height with the confusion matrix or scatter above it: its size hint
        # (433 px) would otherwise squeeze them to their minimum in a short window
        self.plot.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Ignored)
        self.plot.setMinimumHeight(140)
        self.bars = pg.BarGraphItem(x0=[], y=[], height=0.6, width=[], brush=BAR_COLOR, pen=None)
        self.spread = pg.ErrorBarItem(x=np.zeros(0), y=np.zeros(0), beam=0.2,
                                      pen=pg.mkPen("#333", width=1))  # fmt: skip
        self.plot.addItem(self.bars)
        self.plot.addItem(self.spread)
        self.columns: list[str] = []
        self.importances: dict | None = None

        header = QHBoxLayout()
        header.addWidget(self.title, 1)
        header.addWidget(self.progress)
        header.addWidget(self.button)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addLayout(header)
        layout.addWidget(self.plot, 1)

        self._job = None
        self._pending = None  # a job to explain once the running computation has ended
        self._stop = threading.Event()
        self._relay = _Relay(self)
        self._relay.progress.connect(self._on_progress)
        self._task = BackgroundTask(self)
        self._task.done.connect(self._on_done)
        self._task.failed.connect(self._on_failed)

    # --- public API ---------------------------------------------------------------------
    def follow(self, session) -> None:
        """Explain each of ``session``'s runs that ends with a test report; clear at a start."""
        session.started.connect(lambda _info: self.clear())
        session.finished.connect(
            lambda summary: self.explain(session.job) if summary.get("report") else None
        )

    @property
    def running(self) -> bool:
        return self._task.running

    def explain(self, job) -> None:
        """Compute the importance on ``job``'s test split in the background."""
        if job is None or job.data.test_rows is None or not len(job.data.test_rows):
            self.clear()
            if job is not None:
                self.title.setText("No test split to measure column importance on.")
            return
        self._job = job
        if self._task.running:  # the one running is stopped; this one follows it
            self._pending = job
            self._stop.set()
            return
        self._stop = threading.Event()
        stop, relay = self._stop, self._relay
        self._show_bars([])
        self.title.setText("Measuring each column's importance on the test split…")
        self.progress.setRange(0, 0)  # busy until the first pass reports
        self.progress.show()
        self.button.setText("Stop")
        self.button.setEnabled(True)
        self._task.start(lambda: _compute(job, stop, relay))

    def stop(self) -> None:
        self._pending = None
        self._stop.set()

    def clear(self) -> None:
        """Forget the shown result and stop a computation (a new run begins, or Reset)."""
        self.stop()
        self._job = None
        self.importances = None
        self._show_bars([])
        self.title.setText(IDLE_TEXT)
        self.progress.hide()
        self.button.setText("Explain")
        self.button.setEnabled(False)

    def shutdown(self) -> None:
        """Stop and wait for the computation (the window is closing)."""
        self.stop()
        self._task.join()

    # --- slots ----------------------------------------------------------------------------
    def _on_button(self) -> None:
        if self._task.running:
            self.stop()
        else:
            self.explain(self._job)

    def _on_progress(self, done: int, total: int) -> None:
        if self._task.running and not self._stop.is_set():
            self.progress.setRange(0, total)
            self.progress.setValue(done)

    def _on_done(self, result) -> None:
        if self._start_pending():
            return
        self._idle()
        if result is None or self._job is None:  # stopped, or cleared meanwhile
            if self._job is not None:
                self.title.setText("Stopped; Explain measures the importance again.")
            return
        self.importances = result
        self._show_result(result)
        self.explained.emit(result)

    def _on_failed(self, message: str) -> None:
        if self._start_pending():
            return
        self._idle()
        self.title.setText(f"Column importance could not be measured: {message}")

    def _start_pending(self) -> bool:
        job, self._pending = self._pending, None
        if job is not None:
            self.explain(job)
        return job is not None

    def _idle(self) -> None:
        self.progress.hide()
        self.button.setText("Explain")
        self.button.setEnabled(self._job is not None)

    # --- drawing ----------------------------------------------------------------------------
    def _show_result(self, result: dict) -> None:
        rows, total = result["rows"], result["rows_total"]
        scored = f"{rows:,} test rows" if rows == total else f"{rows:,} of {total:,} test rows"
        baseline = result["baseline"]
        base = "n/a" if baseline is None else f"{baseline:.4g}"
        self.title.setText(
            f"Drop in {result['metric_label']} (test score {base}) when a column is shuffled: "
            f"{scored}, {result['repeats']} repeats; whiskers ± 1 std"
        )
        self.plot.setLabel("bottom", f"Drop in {result['metric_label']}")
        self._show_bars(result["columns"])

    def _show_bars(self, columns: list[dict]) -> None:
        """Bars for ``columns`` (most important first, drawn on top)."""
        self.columns = [c["column"] for c in columns]
        shown = columns[::-1]
        ys = np.arange(len(shown), dtype=np.float64)
        means = np.array([c["importance_mean"] or 0.0 for c in shown], dtype=np.float64)
        stds = np.array([c["importance_std"] or 0.0 for c in shown], dtype=np.float64)
        # a negative mean (shuffling helped, by chance) is drawn leftwards from zero
        self.bars.setOpts(x0=np.minimum(means, 0.0), y=ys, width=np.abs(means), height=0.6)
        self.spread.setData(x=means, y=ys, left=stds, right=stds)
        self.plot.getAxis("left").setTicks([list(zip(ys.tolist(), [c["column"] for c in shown]))])
        if len(shown):
            low = float(min(0.0, (means - stds).min()))
            high = float(max(1e-9, (means + stds).max()))
            self.plot.setXRange(low, high, padding=0.05)
            self.plot.setYRange(-0.6, len(shown) - 0.4, padding=0)
