"""The main window: composes the panels, owns the actions, menus and the status bar, and routes
every error to one place (``show_error``) so the app stays usable."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import (
    QMainWindow,
    QSplitter,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)

from engine.backend import get_backend, probe_gpu
from engine.data.pipeline import network_io
from engine.errors import UserError
from engine.run.settings import (
    AUTO_ACTIVATION,
    LARGE_TABLE_ACTIVATION,
    SMALL_TABLE_ACTIVATION,
    SMALL_TABLE_ROWS,
    LayerSpec,
    TrainSettings,
    head_for,
)
from gui.advisor_dialog import AdvisorLauncher
from gui.controls import ControlsBar
from gui.cv_view import CrossValidationLauncher
from gui.data_loading import DataLoading
from gui.data_panel import DataPanel
from gui.dialogs import Dialogs
from gui.evaluation import EvaluationView
from gui.exports import ExportActions
from gui.live_view import LiveView
from gui.model_panel import ModelPanel
from gui.runs_view import RunsView
from gui.session import TrainingSession
from gui.settings_panel import SettingsPanel
from gui.settings_store import SettingsStore
from gui.status_bar import TrainingStatus
from gui.sweep_view import SweepView


class MainWindow(QMainWindow):
    """``load_csv(path)`` returns once the file is loaded (True) or refused (False);
    ``load_csv_async`` returns at once and ends with ``data_loaded`` or ``load_failed``.
    ``training_finished`` carries the run summary (``reason``, ``history``, ``report``)."""

    data_loaded = Signal(object)
    load_failed = Signal(str)
    training_finished = Signal(object)

    def __init__(self, store: SettingsStore | None = None) -> None:
        super().__init__()
        self.setWindowTitle("GPU Trainer")
        self.setObjectName("mainWindow")
        self.resize(1280, 820)
        self.setAcceptDrops(True)
        self.store = store or SettingsStore()
        self.dialogs = Dialogs(self)
        self.errors: list[tuple[str, str]] = []
        self.current_path: Path | None = None
        self.hardware_summary: dict | None = None
        self.loading = DataLoading(self)
        self.session = TrainingSession(self)

        probe = probe_gpu()
        self.data_panel = DataPanel()
        self.model_panel = ModelPanel()
        self.settings_panel = SettingsPanel(probe.usable, probe.reason)
        self.controls = ControlsBar()
        self.live = LiveView()
        self.evaluation = EvaluationView()
        self.runs_view = RunsView(self.dialogs)
        self.sweep_view = SweepView(self)
        self.exports = ExportActions(self)
        self._build_layout()
        self.status = TrainingStatus(self.statusBar())
        backend = self._default_backend()
        self.status.set_device(backend.describe() if backend else "CPU · NumPy")
        if backend is not None:
            self.live.hardware.attach(backend)
        self._build_actions()
        self._connect()
        self.settings_panel.set_values(self.store.training_settings())
        self._restore_layers()
        self._restore_window()
        self.set_state("empty")

    # --- construction ---------------------------------------------------------------------
    def _build_layout(self) -> None:
        self.config_tabs = QTabWidget()
        self.config_tabs.setObjectName("configTabs")
        self.config_tabs.addTab(self.data_panel, "Data")
        self.config_tabs.addTab(self.model_panel, "Model")
        self.config_tabs.addTab(self.settings_panel, "Training")
        self.result_tabs = QTabWidget()
        self.result_tabs.setObjectName("resultTabs")
        self.result_tabs.addTab(self.live, "Live")
        self.result_tabs.addTab(self.evaluation, "Evaluation")
        self.result_tabs.addTab(self.runs_view, "Runs")
        self.result_tabs.addTab(self.sweep_view, "Sweep")
        right = QWidget()
        box = QVBoxLayout(right)
        box.setContentsMargins(0, 0, 0, 0)
        box.addWidget(self.controls)
        box.addWidget(self.result_tabs, 1)
        self.splitter = QSplitter(Qt.Orientation.Horizontal)
        self.splitter.setObjectName("mainSplitter")
        self.splitter.addWidget(self.config_tabs)
        self.splitter.addWidget(right)
        self.splitter.setSizes([520, 760])
        self.setCentralWidget(self.splitter)

    def _action(self, text: str, slot, shortcut=None, name: str = "") -> QAction:
        action = QAction(text, self)
        if shortcut is not None:
            action.setShortcut(QKeySequence(shortcut))
        if name:
            action.setObjectName(name)
        action.triggered.connect(slot)
        self.addAction(action)
        return action

    def _build_actions(self) -> None:
        self.open_action = self._action(
            "&Open CSV…", self.open_csv_dialog, QKeySequence.StandardKey.Open, "openCsvAction"
        )
        self.export_action = self._action(
            "&Export model…",
            self.exports.export_model,
            QKeySequence.StandardKey.Save,
            "exportAction",
        )
        self.export_onnx_action = self._action(
            "Export &ONNX…", self.exports.export_onnx, None, "exportOnnxAction"
        )
        self.train_action = self._action("&Train", self.train, "Ctrl+Return", "trainAction")
        self.pause_action = self._action("&Pause/Resume", self.toggle_pause, "Space", "pauseAction")
        self.step_action = self._action("&Step", self.step, None, "stepAction")
        self.stop_action = self._action("St&op", self.stop, None, "stopAction")
        file_menu = self.menuBar().addMenu("&File")
        file_menu.addAction(self.open_action)
        self.loading.add_menus(file_menu)
        self.recent_menu, self.samples_menu = self.loading.recent_menu, self.loading.samples_menu
        file_menu.addSeparator()
        file_menu.addAction(self.export_action)
        file_menu.addAction(self.export_onnx_action)
        file_menu.addAction("&Predict CSV…", self.exports.predict_csv)
        file_menu.addAction("Export plots as &PNG…", self.exports.export_plots)
        file_menu.addAction("Export &history as CSV…", self.exports.export_history)
        file_menu.addSeparator()
        file_menu.addAction("&Quit", QKeySequence.StandardKey.Quit, self.close)
        run_menu = self.menuBar().addMenu("&Run")
        for action in (self.train_action, self.pause_action, self.step_action, self.stop_action):
            run_menu.addAction(action)
        run_menu.addAction("&Reset", self.reset)
        self.advisor = AdvisorLauncher(self)  # "Find the fastest settings…" (Ctrl+Shift+B)
        run_menu.addSeparator()
        run_menu.addAction(self.advisor.action)
        self.cross_validation = CrossValidationLauncher(self, self.evaluation.cross_validation)
        run_menu.addAction(self.cross_validation.action)  # "Cross-validate…" (Ctrl+Shift+K)
        self.data_panel.sample_button.setMenu(self.samples_menu)

    def _connect(self) -> None:
        self.data_panel.open_button.clicked.connect(self.open_csv_dialog)
        self.data_panel.schema_changed.connect(self._update_model_io)
        self.controls.train_button.clicked.connect(self.train)
        self.controls.pause_button.clicked.connect(self.toggle_pause)
        self.controls.step_button.clicked.connect(self.step)
        self.controls.stop_button.clicked.connect(self.stop)
        self.controls.reset_button.clicked.connect(self.reset)
        self.controls.export_button.clicked.connect(self.exports.export_model)
        self.controls.predict_button.clicked.connect(self.exports.predict_csv)
        self.settings_panel.learning_rate_changed.connect(self._on_learning_rate)
        self.session.state_changed.connect(self.set_state)
        self.session.started.connect(self._on_started)
        self.session.progress.connect(self._on_progress)
        self.session.failed.connect(self.show_error)
        self.session.finished.connect(self._on_finished)
        self.evaluation.importance.follow(self.session)  # column importance after each run
        self.runs_view.open_requested.connect(self.open_run)
        self.runs_view.resume_requested.connect(self.resume_run)
        self.runs_view.replay_requested.connect(self.replay_run)
        self.runs_view.failed.connect(self.show_error)
        self.training_finished.connect(self.runs_view.training_ended)

    # --- public API ---------------------------------------------------------------------
    def is_training(self) -> bool:
        return self.session.is_active()

    def show_error(self, title: str, text: str) -> None:
        """A non-modal message; the window stays usable (tests read ``errors``)."""
        self.errors.append((title, text))
        self.statusBar().showMessage(f"{title}: {text}", 15_000)
        self.dialogs.show_message(title, text)

    def open_csv_dialog(self) -> None:
        self.loading.open_dialog()

    def open_startup_data(self) -> None:
        """The most recent file that still exists, else the bundled breast-cancer sample."""
        self.loading.open_startup_data()

    def load_csv_async(self, path, target: str | None = None) -> bool:
        """Start loading ``path`` off the GUI thread; False when busy training or loading."""
        return self.loading.load_async(path, target)

    def load_csv(self, path, target: str | None = None) -> bool:
        """Load ``path`` as the dialog does and return once done: True when it loaded."""
        return self.loading.load(path, target)

    def open_run(self, run: dict) -> bool:
        """Load a remembered run's CSV and put its settings, roles and splits back, ready to
        train again; a file that is gone is said, and nothing changes."""
        path = Path(run.get("data_path") or "")
        if not run.get("data_path") or not path.is_file():
            self.show_error(
                "Cannot open the run",
                f"{run['name']}: its data file {path} is gone; put it back there, or open "
                "the CSV where it is now and set the run's settings by hand.",
            )
            return False
        try:
            settings = TrainSettings.from_dict(run.get("settings") or {})
        except (TypeError, ValueError) as exc:
            self.show_error("Cannot open the run", f"{run['name']}: unreadable settings ({exc})")
            return False
        columns = (run.get("schema") or {}).get("columns") or []
        roles = {c["name"]: c["role"] for c in columns if "name" in c and "role" in c}
        target = next((name for name, role in roles.items() if role == "target"), None)
        if not self.load_csv(path, target):
            return False
        self.data_panel.restore(roles, (run.get("schema") or {}).get("task"))
        self.data_panel.set_splits(settings.val_split, settings.test_split)
        values = {**settings.to_dict(), "seed": run.get("seed", settings.seed)}
        self.settings_panel.set_values({k: v for k, v in values.items() if v is not None})
        self.model_panel.set_layers(settings.layers)
        self.statusBar().showMessage(f"Opened run {run['name']}: its data and settings", 10_000)
        return True

    def resume_run(self, run: dict) -> bool:
        """Go on with a remembered run from its last checkpoint: its data and settings come
        back (as Open does), then it trains to its own epoch count, or to the Epochs box's
        (as it was before) when that is beyond the epochs done: a finished run is extended."""
        wanted = self.settings_panel.values()["epochs"]
        if self.is_training() or not self.open_run(run):
            return False
        done = max((c["epoch"] for c in run.get("checkpoints") or []), default=0)
        epochs = wanted if wanted > done else None
        if epochs is not None:
            self.settings_panel.epochs_spin.setValue(epochs)
        self.live.clear()
        self.evaluation.clear()
        self.hardware_summary = None
        return self.session.resume_run(run["id"], self.data_panel.table, epochs=epochs)

    def replay_run(self, run: dict) -> bool:
        """Show a remembered run's loss, history and telemetry in the Live tab, on the same
        axes as a live run, without training (refused while a run trains)."""
        if self.is_training():
            self.show_error("Cannot replay the run now", "Stop the training first.")
            return False
        self.live.replay(run)
        self.result_tabs.setCurrentWidget(self.live)
        self.statusBar().showMessage(f"Replaying run {run['name']}", 10_000)
        return True

    def train_settings(self) -> TrainSettings:
        val_split, test_split = self.data_panel.splits()
        return TrainSettings(
            layers=self.model_panel.layers(),
            val_split=val_split,
            test_split=test_split,
            **self.settings_panel.values(),
        )

    def use_sweep_settings(self, settings: TrainSettings) -> None:
        """Put a sweep trial's settings (its layers and training values) in the Model and
        Training tabs, ready to train."""
        if self.is_training():
            self.show_error("Cannot use the settings now", "Stop the training first.")
            return
        self.model_panel.set_layers(settings.layers)
        values = {k: v for k, v in settings.to_dict().items() if v is not None}
        self.settings_panel.set_values(values)
        self.statusBar().showMessage("The sweep's best settings are in the Model and "
                                     "Training tabs", 10_000)  # fmt: skip

    def train(self, start_paused: bool = False) -> bool:
        if self.data_panel.table is None:
            self.show_error("Nothing to train on", "Open a CSV file first (Ctrl+O).")
            return False
        if self.is_training():
            return False
        self._save_training_settings()
        self.live.clear()
        self.evaluation.clear()
        self.hardware_summary = None
        return self.session.start(
            self.data_panel.table, self.data_panel.schema, self.train_settings(), start_paused
        )

    def toggle_pause(self) -> None:
        if self.session.state == "running":
            self.session.pause()
        elif self.session.state == "paused":
            self.session.resume()

    def step(self) -> None:
        if self.session.state == "paused":
            self.session.step()

    def stop(self) -> None:
        self.session.stop()

    def reset(self) -> None:
        if self.is_training():
            return
        self.session.reset()
        self.live.clear()
        self.evaluation.clear()
        self.evaluation.importance.clear()
        self.status.idle()
        self.set_state(self.session.state)

    def dragEnterEvent(self, event) -> None:
        if self.loading.accepts(event):
            event.acceptProposedAction()

    def dropEvent(self, event) -> None:
        self.loading.drop(event)

    # --- training -------------------------------------------------------------------------
    def _update_model_io(self) -> None:
        schema = self.data_panel.schema
        if schema is None or schema.target is None:
            return
        n_inputs, n_outputs = network_io(self.data_panel.table.frame, schema)
        activation, loss, _ = head_for(schema.task, n_outputs)
        units = f"{n_outputs} unit{'s' if n_outputs > 1 else ''}"
        text = f"{units}, {activation} ({schema.task}, {loss.replace('_', ' ')})"
        self.model_panel.set_io(n_inputs, n_outputs, schema.task, text)

    def _on_started(self, info: dict) -> None:
        self.status.set_device(info["backend"].describe())
        self.status.start(info["epochs"], info["total_steps"])
        self.live.start(
            info["task"], info["t0"], info["backend"], info["history"], info["steps_per_epoch"],
            start_step=info.get("global_step", 0),
        )  # fmt: skip
        self.result_tabs.setCurrentWidget(self.live)
        if AUTO_ACTIVATION in info.get("requested_activations", ()):
            chosen = ", ".join(info["activations"])
            self.statusBar().showMessage(
                f"Hidden layers: {chosen} ('auto' on a table of {info['rows']:,} rows: "
                f"{SMALL_TABLE_ACTIVATION} under {SMALL_TABLE_ROWS:,}, else "
                f"{LARGE_TABLE_ACTIVATION})",
                15_000,
            )

    def _on_progress(self, batch: dict) -> None:
        self.live.add_progress(batch)
        self.status.update(batch, at_once=self.session.state == "paused")  # a single step

    def _on_finished(self, summary: dict) -> None:
        history = summary.get("history", {})
        epochs = len(history.get("loss", []))
        self.hardware_summary = self.live.run_finished(epochs)
        self.session.record_hardware(self.hardware_summary, self.live.hardware.run_samples())
        reason = summary.get("reason", "completed")
        self.status.finish(f"{reason.capitalize()} after {epochs} epoch(s)")
        report = summary.get("report")
        if report is not None:
            title = f"Test split of {self.current_path.name}: run {reason} after {epochs} epoch(s)"
            self.evaluation.show_report(title, report)
            if reason == "completed":
                self.result_tabs.setCurrentWidget(self.evaluation)
        self.evaluation.show_hardware(self.hardware_summary)
        self.set_state(self.session.state)
        self.training_finished.emit(summary)

    def _on_learning_rate(self, lr: float) -> None:
        if self.session.state == "paused":
            self.session.set_learning_rate(lr)

    def set_state(self, state: str) -> None:
        """Enable what ``state`` (empty, idle, preparing, running, paused) allows."""
        if state == "idle" and self.data_panel.table is None:
            state = "empty"
        trained = self.session.job is not None and self.session.state == "idle"
        self.controls.set_state(state, trained)
        self.export_action.setEnabled(self.controls.export_button.isEnabled())
        self.export_onnx_action.setEnabled(self.controls.export_button.isEnabled())
        panel_state = "idle" if state in ("idle", "empty") else state
        self.data_panel.set_state(panel_state)
        self.settings_panel.set_state(panel_state)
        self.model_panel.setEnabled(panel_state == "idle")
        self.open_action.setEnabled(panel_state == "idle")

    # --- settings and closing ---------------------------------------------------------------
    def _default_backend(self):
        try:
            return get_backend()
        except UserError as exc:  # a bad $GPU_TRAINER_DEVICE must not stop the window opening
            self.show_error("Device unavailable", str(exc))
            return None

    def _save_training_settings(self) -> None:
        values = self.settings_panel.values()
        values["layers"] = [vars(layer) for layer in self.model_panel.layers()]
        self.store.save_training_settings(values)

    def _restore_layers(self) -> None:
        layers = self.store.training_settings().get("layers")
        try:
            specs = [LayerSpec(**layer) for layer in layers or []]
        except TypeError:
            return
        if specs:
            self.model_panel.set_layers(specs)

    def _restore_window(self) -> None:
        geometry, state, splitter = self.store.window_state()
        if geometry is not None:
            self.restoreGeometry(geometry)
        if state is not None:
            self.restoreState(state)
        if splitter is not None:
            self.splitter.restoreState(splitter)

    def closeEvent(self, event) -> None:
        self.sweep_view.shutdown()
        self.session.join()
        self.evaluation.importance.shutdown()
        self.loading.join()
        self.exports.join()
        self.live.shutdown()
        self.store.save_window_state(
            self.saveGeometry(), self.saveState(), self.splitter.saveState()
        )
        self.store.sync()
        self.dialogs.close_all()
        super().closeEvent(event)
