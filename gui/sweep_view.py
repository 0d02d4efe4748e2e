"""The Sweep tab: a hyperparameter search over the window's loaded CSV, run as
``gpu-trainer sweep`` in a process of its own (QProcess; its trials in worker processes), and
watched by reading its Optuna study once a second: the trials, the best value so far, the
settings against the value and the parameter importances. "Use best" puts the best trial's
settings in the Model and Training tabs; "Export best model…" copies its model file."""

from __future__ import annotations

import datetime as dt
import json
import os
import shutil
import signal
import sys
import time
import uuid
import warnings
from pathlib import Path

from PySide6.QtCore import QProcess, QProcessEnvironment, Qt, QTimer
from PySide6.QtWidgets import (
    QAbstractItemView,
    QCheckBox,
    QFormLayout,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QPushButton,
    QSpinBox,
    QSplitter,
    QTableWidget,
    QTableWidgetItem,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)

from engine.errors import UserError
from engine.io.atomic import atomic_path
from engine.runs import home
from engine.search.lifeline import tied
from engine.search.objective import monitor_for
from engine.search.study import open_study
from gui.dialogs import MODEL_FILTER
from gui.loader import BackgroundTask
from gui.sweep_plots import BestCurve, Importances, ParallelCoordinates
from gui.sweep_space import SweepSpaceTable, build_space

POLL_MS = 1000
STOP_GRACE_MS = 5000  # after SIGINT, then terminate(); then kill() as long again after
ROOT = Path(__file__).resolve().parents[1]
FIXED_COLUMNS = ("#", "state", "value", "seconds")


class SweepView(QWidget):
    """The tab of ``window`` (a MainWindow): reads its data, target and settings, reports
    errors through its ``show_error`` and hands the best settings to its
    ``use_sweep_settings``. ``study_name`` is the sweep shown; ``trials`` its last read."""

    def __init__(self, window, parent=None) -> None:
        super().__init__(parent)
        self.setObjectName("sweepView")
        self.window_ = window
        self.process: QProcess | None = None
        self.study = None
        self.study_name: str | None = None
        self.space = None
        self.maximize = True
        self.trials: list = []
        self.outcome: dict | None = None
        self.stopping = False
        self._stdout = b""
        self._stderr = b""
        self._shown: tuple | None = None
        self._importance_count = -1
        self._started_at = 0.0

        self.space_table = SweepSpaceTable()
        self.trials_spin = self._spin("sweepTrials", 1, 100_000, 20)
        self.minutes_spin = self._spin("sweepMinutes", 1, 10_000, 10)
        self.budget_box = QCheckBox("Time budget (minutes)")
        self.budget_box.setObjectName("sweepBudget")
        self.budget_box.toggled.connect(self.minutes_spin.setEnabled)
        self.minutes_spin.setEnabled(False)
        self.jobs_spin = self._spin("sweepJobs", 1, max(1, os.cpu_count() or 1), 1)
        self.start_button = self._button("Start", "sweepStart", self.start_sweep)
        self.stop_button = self._button("Stop", "sweepStop", self.stop_sweep)
        self.best_button = self._button("Use best", "sweepUseBest", self.use_best)
        self.export_button = self._button("Export best model…", "sweepExport", self.export_best)
        self.status_label = QLabel("No sweep yet: open a CSV, choose what varies, press Start.")
        self.status_label.setObjectName("sweepStatus")
        self.status_label.setWordWrap(True)
        self.trials_table = self._trials_table()
        self.best_curve = BestCurve()
        self.parallel = ParallelCoordinates()
        self.importances = Importances()
        self.poll_timer = QTimer(self)
        self.poll_timer.setInterval(POLL_MS)
        self.poll_timer.timeout.connect(self.request_read)
        self.stop_timer = QTimer(self)
        self.stop_timer.setSingleShot(True)
        self.stop_timer.timeout.connect(self._force_stop)
        self._build_layout()
        self._terminated = False
        self._finishing: tuple[int, bool] | None = None  # (exit code, stopped) until read
        self._read_again = False
        self.reader = BackgroundTask(self)  # opening the study and importances take a while
        self.reader.done.connect(self._on_read)
        self.reader.failed.connect(self._on_read_failed)
        self._set_running(False)

    # --- construction ---------------------------------------------------------------------
    def _spin(self, name: str, low: int, high: int, value: int) -> QSpinBox:
        spin = QSpinBox()
        spin.setObjectName(name)
        spin.setRange(low, high)
        spin.setValue(value)
        return spin

    def _button(self, text: str, name: str, slot) -> QPushButton:
        button = QPushButton(text)
        button.setObjectName(name)
        button.clicked.connect(lambda _checked=False: slot())
        return button

    def _trials_table(self) -> QTableWidget:
        table = QTableWidget(0, len(FIXED_COLUMNS))
        table.setObjectName("sweepTrialsTable")
        table.setHorizontalHeaderLabels(list(FIXED_COLUMNS))
        table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        table.verticalHeader().setVisible(False)
        table.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        return table

    def _build_layout(self) -> None:
        form = QFormLayout()
        form.addRow("Trials", self.trials_spin)
        budget = QHBoxLayout()
        budget.addWidget(self.budget_box)
        budget.addWidget(self.minutes_spin)
        form.addRow(budget)
        form.addRow("Parallel jobs", self.jobs_spin)
        buttons = QHBoxLayout()
        for button in (self.start_button, self.stop_button, self.best_button,
                       self.export_button):  # fmt: skip
            buttons.addWidget(button)
        buttons.addStretch(1)
        left = QWidget()
        box = QVBoxLayout(left)
        box.setContentsMargins(0, 0, 0, 0)
        box.addWidget(self.space_table, 1)
        box.addLayout(form)
        charts = QTabWidget()
        charts.setObjectName("sweepCharts")
        charts.addTab(self.best_curve, "Best so far")
        charts.addTab(self.parallel, "Parallel coordinates")
        charts.addTab(self.importances, "Importances")
        bottom = QSplitter(Qt.Orientation.Horizontal)
        bottom.addWidget(self.trials_table)
        bottom.addWidget(charts)
        split = QSplitter(Qt.Orientation.Vertical)
        split.addWidget(left)
        split.addWidget(bottom)
        split.setSizes([320, 420])
        layout = QVBoxLayout(self)
        layout.addLayout(buttons)
        layout.addWidget(self.status_label)
        layout.addWidget(split, 1)

    # --- state ----------------------------------------------------------------------------
    def is_running(self) -> bool:
        """True from Start until the process has ended and its last trials are shown."""
        return self.process is not None or self._finishing is not None

    def _set_running(self, running: bool) -> None:
        has_best = any(t.value is not None for t in self.trials)
        self.start_button.setEnabled(not running)
        self.stop_button.setEnabled(running and not self.stopping)
        self.space_table.setEnabled(not running)
        for widget in (self.trials_spin, self.budget_box, self.jobs_spin):
            widget.setEnabled(not running)
        self.minutes_spin.setEnabled(not running and self.budget_box.isChecked())
        self.best_button.setEnabled(has_best)
        self.export_button.setEnabled(has_best)

    # --- starting -------------------------------------------------------------------------
    def command(self) -> list[str] | None:
        """The sweep's arguments (after ``python``) for the window's data and this tab's
        choices; None, said through ``show_error``, when there is nothing to sweep."""
        window = self.window_
        table, schema = window.data_panel.table, window.data_panel.schema
        path = getattr(table, "path", None) or window.current_path
        if table is None or schema is None or path is None:
            window.show_error("Nothing to sweep", "Open a CSV file first (Ctrl+O).")
            return None
        if schema.target is None:
            window.show_error("Nothing to sweep", "Choose the column to predict first.")
            return None
        try:
            vary, fix = self.space_table.specs(window.train_settings())
            space = build_space(vary, fix)
        except (UserError, ValueError) as exc:
            window.show_error("Cannot start the sweep", str(exc))
            return None
        stem = "".join(c if c.isalnum() or c in "-_" else "-" for c in Path(path).stem)
        name = f"{stem}-{time.strftime('%Y%m%d-%H%M%S')}-{uuid.uuid4().hex[:6]}"
        out = home.home() / "sweeps" / name / "best.safetensors"
        args = ["-m", "gui.launcher", "sweep", str(path), "--target", schema.target,
                "--trials", str(self.trials_spin.value()), "--jobs", str(self.jobs_spin.value()),
                "--study", name, "--json", "--out", str(out)]  # fmt: skip
        val_split, test_split = window.data_panel.splits()
        args += ["--task", schema.task, "--val-split", str(val_split),
                 "--test-split", str(test_split)]  # fmt: skip
        for column in schema.columns:  # the roles set in the Data tab reach every worker
            if column.role == "ignored":
                args += ["--ignore", column.name]
        if self.budget_box.isChecked():
            args += ["--timeout", f"{self.minutes_spin.value()}m"]
        for spec in vary:
            args += ["--vary", spec]
        for spec in fix:
            args += ["--fix", spec]
        self.space, self.study_name = space, name
        self.maximize = monitor_for(schema.task)[1] == "maximize"
        return args

    def start_sweep(self) -> bool:
        """Start a sweep in a process of its own; False (said) when it cannot start."""
        if self.is_running() or self.reader.running:
            return False
        args = self.command()
        if args is None:
            return False
        out = Path(args[args.index("--out") + 1])
        try:
            out.parent.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            self.window_.show_error("Cannot start the sweep", f"{out.parent}: {exc}")
            return False
        self._clear()
        process = QProcess(self)
        env = QProcessEnvironment.systemEnvironment()
        paths = [str(ROOT), env.value("PYTHONPATH")] if env.contains("PYTHONPATH") else [str(ROOT)]
        env.insert("PYTHONPATH", os.pathsep.join(paths))
        # the sweep ends when the app does, even killed: it waits for the end of its stdin,
        # which QProcess holds open (engine.search.lifeline)
        for name, value in tied({}).items():
            env.insert(name, value)
        process.setProcessEnvironment(env)
        process.setWorkingDirectory(str(ROOT))
        process.readyReadStandardOutput.connect(self._read_stdout)
        process.readyReadStandardError.connect(self._read_stderr)
        process.finished.connect(self._on_finished)
        process.errorOccurred.connect(self._on_error)
        self.process, self.stopping = process, False
        self._started_at = time.monotonic()
        process.start(sys.executable, args)
        self._set_running(True)
        self.status_label.setText(f"Sweep {self.study_name}: starting…")
        self.poll_timer.start()
        return True

    def _clear(self) -> None:
        self.study, self.trials, self.outcome = None, [], None
        self._stdout, self._stderr, self._shown = b"", b"", None
        self._importance_count = -1
        self.trials_table.setRowCount(0)
        self.best_curve.show_trials([], self.maximize)
        self.parallel.show_trials([], self.maximize)
        self.importances.show_importances({}, "Importances show once two trials have completed.")

    # --- stopping -------------------------------------------------------------------------
    def stop_sweep(self) -> None:
        """Ask the sweep to stop: SIGINT to its leader (which stops its workers, failing their
        running trials), then ``terminate`` and ``kill`` if it does not end in time."""
        process = self.process
        if process is None or self.stopping:
            return
        self.stopping = True
        self._set_running(True)
        self.status_label.setText(f"Sweep {self.study_name}: stopping…")
        pid = process.processId()
        if pid > 0 and hasattr(signal, "SIGINT") and os.name == "posix":
            try:
                os.kill(pid, signal.SIGINT)
            except OSError:
                process.terminate()
        else:
            process.terminate()
        self.stop_timer.start(STOP_GRACE_MS)

    def _force_stop(self) -> None:
        process = self.process
        if process is None:
            return
        if not getattr(self, "_terminated", False):
            self._terminated = True
            process.terminate()
            self.stop_timer.start(STOP_GRACE_MS)
        else:
            process.kill()

    def shutdown(self, timeout_ms: int = 10_000) -> None:
        """Stop a running sweep and wait for it (the window is closing)."""
        process = self.process
        if process is None:
            return
        self.stop_sweep()
        if not process.waitForFinished(timeout_ms):
            process.kill()
            process.waitForFinished(2000)
        self.poll_timer.stop()
        self.reader.join()

    # --- the process ------------------------------------------------------------------------
    def _read_stdout(self) -> None:
        if self.process is not None:
            self._stdout += bytes(self.process.readAllStandardOutput().data())

    def _read_stderr(self) -> None:
        if self.process is not None:
            self._stderr = (self._stderr + bytes(self.process.readAllStandardError().data()))[
                -20_000:
            ]

    def _on_error(self, error) -> None:
        if error == QProcess.ProcessError.FailedToStart:
            self._end()
            self.window_.show_error("Cannot start the sweep", self.process_error or str(error))

    @property
    def process_error(self) -> str:
        return self.process.errorString() if self.process is not None else ""

    def _on_finished(self, code: int, _status) -> None:
        self._read_stdout()
        self._read_stderr()
        stopped = self.stopping
        self._end()
        self._finishing = (code, stopped)
        self.request_read()  # the last states; then _complete

    def _complete(self) -> None:
        code, stopped = self._finishing
        self._finishing = None
        text = self._stdout.decode(errors="replace").strip()
        try:
            self.outcome = json.loads(text.splitlines()[-1]) if text else None
        except (ValueError, IndexError):
            self.outcome = None
        done = sum(1 for t in self.trials if t.value is not None)
        took = time.monotonic() - self._started_at
        if stopped:
            self.status_label.setText(
                f"Sweep {self.study_name}: stopped after {took:.0f} s; {done} trial(s) completed."
            )
        elif code == 0:
            self.status_label.setText(
                f"Sweep {self.study_name}: finished in {took:.0f} s; {done} trial(s) completed."
            )
        else:
            lines = self._stderr.decode(errors="replace").strip().splitlines()
            detail = "\n".join(lines[-8:]) or f"the sweep process ended with status {code}"
            self.status_label.setText(f"Sweep {self.study_name}: failed.")
            self.window_.show_error("The sweep failed", detail)
        self._set_running(False)

    def _end(self) -> None:
        self.poll_timer.stop()
        self.stop_timer.stop()
        self._terminated = False
        process, self.process = self.process, None
        self.stopping = False
        if process is not None:
            process.deleteLater()
        self._set_running(False)

    # --- reading the study -------------------------------------------------------------------
    def request_read(self) -> None:
        """Read the study's trials (and, when more have completed, the importances) off the
        GUI thread; a read asked for while one runs follows it."""
        if self.study_name is None:
            return
        if self.reader.running:
            self._read_again = True
            return
        self._read_again = False
        study, name, maximize = self.study, self.study_name, self.maximize
        known = self._importance_count
        self.reader.start(lambda: read_study(study, name, maximize, known))

    def _on_read(self, result: dict) -> None:
        if result["name"] == self.study_name:
            self.study, self.trials = result["study"], result["trials"]
            self.status_label.setToolTip("")
            self._show(result.get("importances"))
        self._after_read()

    def _on_read_failed(self, message: str) -> None:
        # a study not made yet, a locked database: the next tick reads again
        self.status_label.setToolTip(message)
        self._after_read()

    def _after_read(self) -> None:
        if self._read_again:
            self.request_read()
        elif self._finishing is not None:
            self._complete()

    def _show(self, importances=None) -> None:
        snapshot = tuple((t.number, t.state.name, t.value) for t in self.trials)
        running = [t for t in self.trials if t.state.name == "RUNNING"]
        if snapshot == self._shown and not running and importances is None:
            return
        self._shown = snapshot
        self._fill_table()
        self.best_curve.show_trials(self.trials, self.maximize)
        self.parallel.show_trials(self.trials, self.maximize)
        done = [t for t in self.trials if t.value is not None]
        if importances is not None:
            self._importance_count = importances[0]
            self._show_importances(*importances)
        if self.process is not None and not self.stopping:
            best = self.best_trial()
            text = f"Sweep {self.study_name}: {len(done)} completed, {len(running)} running"
            if best is not None:
                text += f"; best {best.value:.4f} (trial {best.number})"
            self.status_label.setText(text)
        self._set_running(self.process is not None)

    def _fill_table(self) -> None:
        names = list(dict.fromkeys(n for t in self.trials for n in t.params))
        headers = [*FIXED_COLUMNS, *names]
        table = self.trials_table
        if [table.horizontalHeaderItem(i).text() for i in range(table.columnCount())] != headers:
            table.setColumnCount(len(headers))
            table.setHorizontalHeaderLabels(headers)
        table.setRowCount(len(self.trials))
        now = dt.datetime.now()
        for row, trial in enumerate(self.trials):
            if trial.duration is not None:
                seconds = trial.duration.total_seconds()
            elif trial.datetime_start is not None:
                seconds = (now - trial.datetime_start).total_seconds()
            else:
                seconds = None
            cells = [str(trial.number), trial.state.name.lower(), _number(trial.value),
                     "" if seconds is None else f"{seconds:.1f}"]  # fmt: skip
            cells += [_number(trial.params.get(n)) for n in names]
            for column, text in enumerate(cells):
                item = table.item(row, column)
                if item is None:
                    table.setItem(row, column, QTableWidgetItem(text))
                elif item.text() != text:
                    item.setText(text)

    def _show_importances(self, completed: int, values, error: str | None) -> None:
        if completed < 2:
            self.importances.show_importances(
                {}, "Importances show once two trials have completed."
            )
        elif error is not None:
            self.importances.show_importances({}, f"No importances yet: {error}")
        else:
            self.importances.show_importances(values)

    def best_trial(self):
        """The best completed trial read so far, or None."""
        done = [t for t in self.trials if t.value is not None and t.state.name == "COMPLETE"]
        if not done:
            return None
        pick = max if self.maximize else min
        return pick(done, key=lambda t: t.value)

    # --- the best trial -------------------------------------------------------------------
    def best_settings(self):
        """The best trial's settings on the window's current ones (as the trial was made:
        the sweep's space, with its fixed values)."""
        import optuna

        best = self.best_trial()
        if best is None or self.space is None:
            raise UserError("No trial has completed yet.")
        trial = optuna.trial.FixedTrial(best.params, number=best.number)
        return self.space.settings(trial, self.window_.train_settings())

    def use_best(self) -> bool:
        try:
            settings = self.best_settings()
        except (UserError, ValueError, TypeError) as exc:
            self.window_.show_error("Cannot use the best trial", str(exc))
            return False
        self.window_.use_sweep_settings(settings)
        return True

    def export_best(self) -> str | None:
        """Copy the best trial's model file to a path the user picks; the path, or None."""
        best = self.best_trial()
        source = best.user_attrs.get("model") if best is not None else None
        if not source or not Path(source).is_file():
            self.window_.show_error("No model to export",
                                    "The best trial's model file is not there (yet).")  # fmt: skip
            return None
        suggested = f"{self.study_name}-trial-{best.number}.safetensors"
        path = self.window_.dialogs.save_path("Export best model", suggested, MODEL_FILTER)
        if not path:
            return None
        try:
            with atomic_path(path) as tmp:
                shutil.copyfile(source, tmp)
        except (UserError, OSError) as exc:
            self.window_.show_error("Cannot export the model", str(exc))
            return None
        self.window_.statusBar().showMessage(f"Best model written to {path}", 10_000)
        return path


def _number(value) -> str:
    if value is None:
        return ""
    if isinstance(value, float):
        return f"{value:.4g}"
    return str(value)


def read_study(study, name: str, maximize: bool, known: int) -> dict:
    """(In a worker thread.) The study ``name`` (opened when ``study`` is None), its trials,
    and its importances as ``(completed, values, error)`` when ``completed`` is not
    ``known``, else None."""
    if study is None:
        study = open_study(name, "maximize" if maximize else "minimize", None, "median")
    trials = list(study.get_trials(deepcopy=False))
    completed = sum(1 for t in trials if t.state.name == "COMPLETE")
    importances = None
    if completed != known:
        values, error = {}, None
        if completed >= 2:
            try:
                import optuna

                # with few trials Optuna warns that its importances are all equal: the
                # chart shows that, and the warning would only reach the user's terminal
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore", UserWarning)
                    found = optuna.importance.get_param_importances(study)
                values = {k: float(v) for k, v in found.items()}
            except Exception as exc:  # noqa: BLE001 - too few distinct values, one parameter…
                error = str(exc) or type(exc).__name__
        importances = (completed, values, error)
    return {"name": name, "study": study, "trials": trials, "importances": importances}
