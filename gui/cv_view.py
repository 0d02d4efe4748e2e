"""Cross-validation in the app: Run ▸ Cross-validate… (Ctrl+Shift+K) runs the K folds of the
current data and settings in the background, with a progress bar and Stop, and shows each test
metric's mean ± std over the folds in the Evaluation tab.

The folds come from :func:`engine.run.crossval.cross_validate` (Qt-free); K is the Training
tab's "Cross-validation folds" (5 when off). The final model is trained as usual by Train.
"""

from __future__ import annotations

import threading
import time

from PySide6.QtCore import QObject, Qt, Signal
from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import (
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QProgressBar,
    QPushButton,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from engine.run.crossval import CrossValidationStopped, cross_validate
from gui.loader import BackgroundTask

DEFAULT_FOLDS = 5  # when the Training tab's folds box is off
REPORT_EVERY_S = 0.2  # progress signals at most 5 times a second
NAMES = {"accuracy": "accuracy", "macro_f1": "macro F1", "balanced_accuracy": "balanced accuracy",
         "roc_auc": "ROC AUC", "pr_auc": "PR AUC", "mae": "MAE (target units)",
         "rmse": "RMSE (target units)", "r2": "R²"}  # fmt: skip


def _item(text: str) -> QTableWidgetItem:
    item = QTableWidgetItem(text)
    item.setFlags(item.flags() & ~Qt.ItemFlag.ItemIsEditable)
    return item


def _number(value) -> str:
    return "N/A" if value is None or value != value else f"{value:.4g}"  # NaN: undefined


class CrossValidationView(QWidget):
    """A title, a progress bar with Stop while the folds run, then a table of each metric's
    mean, ± std and per-fold values. Hidden until a cross-validation starts."""

    stop_requested = Signal()

    def __init__(self, parent=None) -> None:
        super().__init__(parent)
        self.title = QLabel()
        self.title.setObjectName("cvTitle")
        self.title.setWordWrap(True)
        self.progress = QProgressBar()
        self.progress.setObjectName("cvProgress")
        self.stop_button = QPushButton("Stop")
        self.stop_button.setObjectName("cvStopButton")
        self.stop_button.clicked.connect(self.stop_requested)
        self.table = QTableWidget(0, 3)
        self.table.setObjectName("cvTable")
        self.table.verticalHeader().setVisible(False)
        self.table.setMaximumHeight(200)
        row = QHBoxLayout()
        row.addWidget(self.progress, 1)
        row.addWidget(self.stop_button)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.title)
        layout.addLayout(row)
        layout.addWidget(self.table)
        self.setVisible(False)

    def started(self, folds: int) -> None:
        self.setVisible(True)
        self.title.setText(f"Cross-validating over {folds} folds…")
        self.progress.setRange(0, 1000)
        self.progress.setValue(0)
        self.progress.setVisible(True)
        self.stop_button.setVisible(True)
        self.stop_button.setEnabled(True)
        self.table.setRowCount(0)

    def show_progress(self, fold: int, folds: int, fraction: float) -> None:
        """``fraction`` (0..1) of fold ``fold`` (0-based) done."""
        self.progress.setValue(int(1000 * (fold + fraction) / folds))
        self.progress.setFormat(f"fold {fold + 1} of {folds}: %p%")

    def show_result(self, result: dict) -> None:
        """``result`` as :func:`cross_validate` returns it."""
        self._done()
        folds, metrics = result["folds"], result["metrics"]
        kind = "stratified " if result.get("stratified") else ""
        self.title.setText(
            f"{folds}-fold {kind}cross-validation ({result['seconds']:.1f} s): each fold "
            "trained on the other folds' rows and tested on its own"
        )
        self.table.setColumnCount(3 + folds)
        folds_header = [f"fold {i + 1}" for i in range(folds)]
        self.table.setHorizontalHeaderLabels(["Metric", "Mean", "± Std", *folds_header])
        self.table.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.Stretch)
        self.table.setRowCount(len(metrics))
        for row, (name, m) in enumerate(metrics.items()):
            cells = [NAMES.get(name, name), _number(m["mean"]), f"± {_number(m['std'])}"]
            cells += [_number(v) for v in m["folds"]]
            for column, text in enumerate(cells):
                self.table.setItem(row, column, _item(text))

    def show_stopped(self, text: str) -> None:
        self._done()
        self.title.setText(text)

    def _done(self) -> None:
        self.progress.setVisible(False)
        self.stop_button.setVisible(False)


class _Reporter(QObject):
    """Carries progress from the folds' thread to the GUI thread (queued), at most every
    ``REPORT_EVERY_S``; ``should_stop`` reads the Stop flag."""

    progress = Signal(int, int, float)

    def __init__(self, folds: int) -> None:
        super().__init__()
        self.folds = folds
        self.stop = threading.Event()
        self._last = 0.0

    def on_step(self, fold: int, job, record) -> None:
        now = time.monotonic()
        if now - self._last >= REPORT_EVERY_S or job.trainer.done:
            self._last = now
            trainer = job.trainer
            self.progress.emit(fold, self.folds, trainer.global_step / max(1, trainer.total_steps))

    def should_stop(self) -> bool:
        return self.stop.is_set()


class CrossValidationLauncher(QObject):
    """The window's "Cross-validate…" action (Ctrl+Shift+K): enabled with data while nothing
    trains; runs the folds in a :class:`BackgroundTask` and fills ``view``."""

    finished = Signal(object)  # the result, or None when stopped or failed

    def __init__(self, window, view: CrossValidationView) -> None:
        super().__init__(window)
        self.window_, self.view = window, view
        self.task = BackgroundTask(self)
        self.task.done.connect(self._on_done)
        self.task.failed.connect(self._on_failed)
        self._reporter: _Reporter | None = None
        self._watching = False
        self.action = QAction("Cross-&validate…", window)
        self.action.setObjectName("crossValidateAction")
        self.action.setShortcut(QKeySequence("Ctrl+Shift+K"))
        self.action.setStatusTip("Train and test the settings on K folds of the data")
        self.action.triggered.connect(self.start)
        window.addAction(self.action)
        view.stop_requested.connect(self.stop)
        window.session.state_changed.connect(self._update)
        window.data_loaded.connect(self._update)
        self._update()

    @property
    def running(self) -> bool:
        return self.task.running

    def start(self) -> bool:
        window = self.window_
        if window.data_panel.table is None:
            window.show_error("Nothing to cross-validate", "Open a CSV file first (Ctrl+O).")
            return False
        if window.is_training() or self.running:
            window.show_error("Cannot cross-validate now", "Stop the training first.")
            return False
        folds = window.settings_panel.cv_folds() or DEFAULT_FOLDS
        table, schema, settings = (
            window.data_panel.table, window.data_panel.schema, window.train_settings()
        )  # fmt: skip
        reporter = _Reporter(folds)
        reporter.progress.connect(self.view.show_progress)
        self._reporter = reporter

        def work():
            try:
                return cross_validate(table, schema, settings, folds, reporter.on_step,
                                      reporter.should_stop)  # fmt: skip
            except CrossValidationStopped as exc:
                return str(exc)

        self.view.started(folds)
        window.result_tabs.setCurrentWidget(window.evaluation)
        self.task.start(work)
        self._update()
        handle = window.windowHandle()
        if handle is not None and not self._watching:  # closing stops the folds, waits
            handle.visibleChanged.connect(self._window_visible)
            self._watching = True
        return True

    def stop(self) -> None:
        if self._reporter is not None:
            self._reporter.stop.set()
            self.view.stop_button.setEnabled(False)

    def _on_done(self, result) -> None:
        if isinstance(result, str):
            self.view.show_stopped(f"Cross-validation {result}.")
            result = None
        else:
            self.view.show_result(result)
        self._reporter = None
        self._update()
        self.finished.emit(result)

    def _on_failed(self, message: str) -> None:
        self.view.show_stopped("Cross-validation failed.")
        self._reporter = None
        self._update()
        self.window_.show_error("Cross-validation failed", message)
        self.finished.emit(None)

    def _window_visible(self, visible: bool) -> None:
        if not visible and self.running:
            self.stop()
            self.task.join()

    def _update(self, *_args) -> None:
        window = self.window_
        idle = not window.is_training() and not self.running
        self.action.setEnabled(window.data_panel.table is not None and idle)
