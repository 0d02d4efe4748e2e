""" "Find the fastest settings": the advisor (``engine.advisor``) measures the window's data and
network on every device and batch size off the GUI thread; Apply puts its recommendation in
the Training tab.

The measuring thread (a :class:`~gui.loader.BackgroundTask`) only computes: it writes its
progress into an :class:`~engine.advisor.AdvisorState`, which a timer here reads five times a
second, so no signal is sent per step.
"""

from __future__ import annotations

from PySide6.QtCore import QObject, Qt, QTimer
from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import (
    QAbstractItemView,
    QCheckBox,
    QDialog,
    QDoubleSpinBox,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QProgressBar,
    QPushButton,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
)

from engine.advisor import (
    DEFAULT_BUDGET_S,
    AdvisorState,
    advise,
    available_devices,
    duration_text,
    memory_text,
    rate_text,
    util_text,
)
from engine.errors import UserError
from engine.run.prepare import prepare
from engine.run.settings import scaled_learning_rate
from gui.loader import BackgroundTask

TITLE = "Find the fastest settings"
COLUMNS = ("Device", "Batch size", "Samples/s", "Time per epoch", "Peak memory", "GPU util")
POLL_MS = 200


class AdvisorDialog(QDialog):
    """Non-modal. ``start()`` measures the window's current data, roles, layers and splits
    (``devices``: the advisor's device list, default the real ones; ``batch_sizes``: default
    the doubling ladder); ``stop()`` ends it with what was measured; ``apply()`` puts the
    recommended device and batch size in the Training tab. ``advice`` holds the last result."""

    def __init__(self, window, devices=None, budget_s: float = DEFAULT_BUDGET_S,
                 batch_sizes=None) -> None:  # fmt: skip
        super().__init__(window)
        self.setWindowTitle(TITLE)
        self.setObjectName("advisorDialog")
        self.setModal(False)
        self.resize(760, 420)
        self.window_ = window
        self.devices, self.batch_sizes = devices, batch_sizes
        self.advice = None
        self.state: AdvisorState | None = None
        self.task = BackgroundTask(self)
        self.task.done.connect(self._on_done)
        self.task.failed.connect(self._on_failed)
        self.timer = QTimer(self)
        self.timer.setInterval(POLL_MS)
        self.timer.timeout.connect(self._poll)
        self._build(budget_s)
        self._set_running(False)

    def _build(self, budget_s: float) -> None:
        self.intro = QLabel(
            "Trains the network of the Model tab on the loaded data for a few seconds on every "
            "device and batch size, and recommends the fastest."
        )
        self.intro.setWordWrap(True)
        self.budget_spin = QDoubleSpinBox()
        self.budget_spin.setObjectName("advisorBudget")
        self.budget_spin.setRange(0.5, 600.0)
        self.budget_spin.setDecimals(1)
        self.budget_spin.setSuffix(" s")
        self.budget_spin.setValue(budget_s)
        self.budget_spin.setToolTip("How long to measure, split across every device and batch")
        self.start_button = QPushButton("Measure")
        self.start_button.setObjectName("advisorStart")
        self.start_button.clicked.connect(self.start)
        self.stop_button = QPushButton("Stop")
        self.stop_button.setObjectName("advisorStop")
        self.stop_button.clicked.connect(self.stop)
        self.progress = QProgressBar()
        self.progress.setObjectName("advisorProgress")
        self.progress.setRange(0, 1000)
        self.progress.setTextVisible(False)
        self.eta_label = QLabel("")
        self.eta_label.setObjectName("advisorEta")
        self.table = QTableWidget(0, len(COLUMNS))
        self.table.setObjectName("advisorResults")
        self.table.setHorizontalHeaderLabels(COLUMNS)
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.NoSelection)
        self.table.verticalHeader().setVisible(False)
        header = self.table.horizontalHeader()
        header.setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        header.setSectionResizeMode(0, QHeaderView.ResizeMode.Stretch)
        self.recommendation = QLabel("")
        self.recommendation.setObjectName("advisorRecommendation")
        self.recommendation.setWordWrap(True)
        self.recommendation.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.apply_button = QPushButton("Apply")
        self.apply_button.setObjectName("advisorApply")
        self.apply_button.setToolTip("Put the recommended device and batch size in the "
                                     "Training tab")  # fmt: skip
        self.apply_button.clicked.connect(self.apply)
        self.scale_rate = QCheckBox("Scale the learning rate with the batch size")
        self.scale_rate.setObjectName("advisorScaleRate")
        self.scale_rate.setChecked(True)
        self.scale_rate.setToolTip("Apply also scales the Training tab's learning rate with "
                                   "the batch size: by the square root of new / old for adam, "
                                   "adamw and rmsprop, by new / old for sgd; at most 8× "
                                   "either way")  # fmt: skip
        close_button = QPushButton("Close")
        close_button.clicked.connect(self.close)

        top = QHBoxLayout()
        top.addWidget(QLabel("Time budget"))
        top.addWidget(self.budget_spin)
        top.addStretch(1)
        top.addWidget(self.start_button)
        top.addWidget(self.stop_button)
        bar = QHBoxLayout()
        bar.addWidget(self.progress, 1)
        bar.addWidget(self.eta_label)
        buttons = QHBoxLayout()
        buttons.addWidget(self.scale_rate)
        buttons.addStretch(1)
        buttons.addWidget(self.apply_button)
        buttons.addWidget(close_button)
        box = QVBoxLayout(self)
        box.addWidget(self.intro)
        box.addLayout(top)
        box.addLayout(bar)
        box.addWidget(self.table, 1)
        box.addWidget(self.recommendation)
        box.addLayout(buttons)

    # --- public API ---------------------------------------------------------------------
    @property
    def running(self) -> bool:
        return self.task.running

    def start(self) -> bool:
        """Measure the window's data and network now; False (said in the dialog) when there
        is nothing to measure or training runs."""
        if self.running:
            return False
        window = self.window_
        table, schema = window.data_panel.table, window.data_panel.schema
        if table is None or schema is None:
            return self._refuse("Open a CSV file first (Ctrl+O).")
        if window.is_training():
            return self._refuse("Stop the training first: it would slow the measurement down.")
        try:
            settings = window.train_settings()
            settings.check()
            schema.check(table.name)
        except UserError as exc:
            return self._refuse(str(exc))
        state = self.state = AdvisorState()
        budget, devices, sizes = self.budget_spin.value(), self.devices, self.batch_sizes

        def measure():
            data = prepare(table, schema, settings)
            chosen = available_devices() if devices is None else devices
            try:
                return advise(data, settings, chosen, budget, sizes, state.report,
                              state.stop_requested)  # fmt: skip
            finally:
                if devices is None:
                    for device in chosen:
                        device.close()

        self.advice = None
        self.table.setRowCount(0)
        self.progress.setValue(0)
        self.eta_label.setText("preparing the data…")
        self.recommendation.setText("")
        self._set_running(True)
        self.task.start(measure)
        self.timer.start()
        return True

    def stop(self) -> None:
        """End the measurement at the next step; what was measured is kept and advised on."""
        if self.state is not None:
            self.state.stop()

    def apply(self) -> bool:
        """Put the recommended device and batch size in the Training tab, and the learning
        rate scaled with the batch where "Scale the learning rate" is ticked."""
        advice, window = self.advice, self.window_
        if advice is None or advice.device is None:
            return False
        if window.is_training():
            window.show_error("Cannot apply the settings now", "Stop the training first.")
            return False
        panel = window.settings_panel
        values = panel.values()
        text = f"Applied the advisor's settings: {advice.label}, batch size {advice.batch_size}"
        if self.scale_rate.isChecked() and values["batch_size"] != advice.batch_size:
            rate = scaled_learning_rate(values["learning_rate"], values["batch_size"],
                                        advice.batch_size, values["optimizer"])  # fmt: skip
            text += f", learning rate {values['learning_rate']:g} → {rate:.3g}"
            values["learning_rate"] = rate
        values.update(device=_device_choice(panel, advice.device), batch_size=advice.batch_size)
        panel.set_values(values)
        window.statusBar().showMessage(text, 10_000)
        return True

    def shutdown(self) -> None:
        """Stop and wait for the measuring thread (the window is closing)."""
        self.stop()
        self.timer.stop()
        self.task.join()

    # --- progress and results -----------------------------------------------------------
    def _poll(self) -> None:
        progress = self.state.latest() if self.state is not None else None
        if progress is None:
            return
        self.progress.setValue(round(progress.fraction * 1000))
        self.eta_label.setText(f"{progress.eta_s:.0f} s left · {progress.text}")
        if len(progress.results) != self.table.rowCount():
            self._show_cells(progress.results)

    def _on_done(self, advice) -> None:
        self.timer.stop()
        self.advice = advice
        self._show_cells(advice.results, advice.recommended)
        self.progress.setValue(1000)
        ended = "stopped" if advice.stopped else "done"
        self.eta_label.setText(f"{ended} in {advice.seconds:.1f} s")
        self.recommendation.setText(advice.message)
        self._set_running(False)

    def _on_failed(self, message: str) -> None:
        self.timer.stop()
        self.eta_label.setText("failed")
        self.recommendation.setText(f"The measurement failed: {message}")
        self._set_running(False)

    def _show_cells(self, cells, chosen=None) -> None:
        self.table.setRowCount(len(cells))
        for row, cell in enumerate(cells):
            if cell.measured:
                values = (rate_text(cell.samples_per_s), duration_text(cell.epoch_s),
                          memory_text(cell), util_text(cell) if cell.is_gpu else "N/A")  # fmt: skip
            else:
                values = (cell.error or "N/A", "", "", "")
            for column, text in enumerate((cell.label, str(cell.batch_size), *values)):
                item = QTableWidgetItem(text)
                if column:
                    item.setTextAlignment(
                        Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter
                    )
                if column == 4 and cell.memory_source:
                    item.setToolTip(cell.memory_source)
                if cell is chosen:
                    font = item.font()
                    font.setBold(True)
                    item.setFont(font)
                self.table.setItem(row, column, item)

    def _refuse(self, text: str) -> bool:
        self.recommendation.setText(text)
        return False

    def _set_running(self, running: bool) -> None:
        self.start_button.setEnabled(not running)
        self.budget_spin.setEnabled(not running)
        self.stop_button.setEnabled(running)
        done = self.advice is not None and self.advice.device is not None
        self.apply_button.setEnabled(not running and done)

    def closeEvent(self, event) -> None:
        self.stop()  # closing the dialog ends the measurement; the thread ends at its next step
        super().closeEvent(event)


class AdvisorLauncher(QObject):
    """The window's "Find the fastest settings…" action (Ctrl+Shift+B) and its one dialog:
    enabled with data and while not training; the dialog's thread is joined when the window
    closes."""

    def __init__(self, window) -> None:
        super().__init__(window)
        self.window_ = window
        self.dialog: AdvisorDialog | None = None
        self.action = QAction("Find the &fastest settings…", window)
        self.action.setObjectName("findFastestAction")
        self.action.setShortcut(QKeySequence("Ctrl+Shift+B"))
        self.action.setStatusTip("Measure every device and batch size on this data and network")
        self.action.triggered.connect(self.show_dialog)
        window.addAction(self.action)
        window.session.state_changed.connect(self._update)
        window.data_loaded.connect(self._update)
        self._update()

    def show_dialog(self) -> AdvisorDialog | None:
        """Open the dialog and start measuring (unless it measures already)."""
        window = self.window_
        if window.data_panel.table is None:
            window.show_error("Nothing to measure", "Open a CSV file first (Ctrl+O).")
            return None
        if window.is_training():
            window.show_error("Cannot measure now", "Stop the training first.")
            return None
        if self.dialog is None:
            self.dialog = AdvisorDialog(window)
            handle = window.windowHandle()
            if handle is not None:  # the window closing ends the measurement and waits for it
                handle.visibleChanged.connect(self._window_visible)
        self.dialog.show()
        self.dialog.raise_()
        self.dialog.activateWindow()
        if not self.dialog.running:
            self.dialog.start()
        return self.dialog

    def _window_visible(self, visible: bool) -> None:
        if not visible and self.dialog is not None:
            self.dialog.shutdown()
            self.dialog.close()

    def _update(self, *_args) -> None:
        window = self.window_
        self.action.setEnabled(window.data_panel.table is not None and not window.is_training())


def _device_choice(panel, device: str) -> str:
    """The Device box's value for ``device``: 'gpu' is GPU 0; another GPU gets an entry."""
    combo = panel.device_combo
    if combo.findData(device) >= 0:
        return device
    if device == "gpu:0":
        return "gpu"
    combo.addItem(f"GPU {device.split(':')[1]} (CuPy)", device)
    return device
