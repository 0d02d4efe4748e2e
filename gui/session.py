"""One training run for the window: prepare the job off the GUI thread, drive its trainer in the
worker thread, evaluate the test split and save the model file. Knows the engine, not widgets."""

from __future__ import annotations

import logging
import time

from PySide6.QtCore import QObject, Signal

from engine.errors import UserError
from engine.run.job import TrainingJob
from engine.run.prepare import prepare
from engine.run.settings import TrainSettings
from gui.loader import BackgroundTask
from gui.worker import TrainingController

log = logging.getLogger(__name__)


class TrainingSession(QObject):
    """States: ``idle``, ``preparing``, ``running``, ``paused``.

    started(info): ``epochs``, ``total_steps``, ``task``, ``backend``, ``t0``, ``history``
    (the trainer's per-epoch lists, filled as epochs end) and ``steps_per_epoch``.
    progress(dict): the worker's batches. finished(dict): the worker's summary plus ``report``
    (test metrics, or None). failed(title, message).
    """

    state_changed = Signal(str)
    started = Signal(object)
    progress = Signal(object)
    finished = Signal(object)
    failed = Signal(str, str)

    def __init__(self, parent=None) -> None:
        super().__init__(parent)
        self.controller = TrainingController(self)
        self._prepare = BackgroundTask(self)
        self._prepare.done.connect(self._on_prepared)
        self._prepare.failed.connect(self._on_prepare_failed)
        self.controller.progress.connect(self.progress)
        self.controller.paused_changed.connect(self._on_paused)
        self.controller.failed.connect(lambda text: self.failed.emit("Training stopped", text))
        self.controller.finished.connect(self._on_finished)
        self.job: TrainingJob | None = None
        self.report: dict | None = None
        self.state = "idle"
        self._start_paused = False
        self._cancelled = False

    def is_active(self) -> bool:
        return self.state != "idle"

    def start(self, table, schema, settings: TrainSettings, start_paused: bool = False) -> bool:
        """Begin a run; False (with ``failed`` emitted) when the settings cannot be used."""
        if self.is_active():
            return False
        try:
            settings.check()
            schema.check(table.name)
        except UserError as exc:
            self.failed.emit("Cannot start training", str(exc))
            return False
        self.job, self.report = None, None
        self._start_paused = start_paused
        self._cancelled = False
        self._set_state("preparing")
        self._prepare.start(lambda: TrainingJob(prepare(table, schema, settings), settings))
        return True

    def pause(self) -> None:
        self.controller.pause()

    def resume(self) -> None:
        self.controller.resume()

    def step(self) -> None:
        self.controller.step()

    def stop(self) -> None:
        self._cancelled = self.state == "preparing"  # the prepared job will not start
        self.controller.stop()

    def set_learning_rate(self, lr: float) -> None:
        self.controller.set_learning_rate(lr)

    def join(self) -> None:
        """Stop whatever runs and wait for its threads (the window is closing)."""
        self._cancelled = True
        self._prepare.join()
        self.controller.join()

    def reset(self) -> None:
        if not self.is_active():
            self.job, self.report = None, None

    def save(self, path, extra_metadata: dict | None = None) -> None:
        if self.job is None:
            raise UserError("there is no trained model yet; train one first")
        self.job.save(path, extra_metadata=extra_metadata, metrics=self.report)

    def _on_prepared(self, job: TrainingJob) -> None:
        if self._cancelled:
            self._set_state("idle")
            return
        self.job = job
        trainer = job.trainer
        self.started.emit(
            {
                "epochs": job.settings.epochs,
                "total_steps": trainer.total_steps,
                "task": job.data.task,
                "backend": job.model.backend,
                "history": trainer.history,
                "steps_per_epoch": trainer.steps_per_epoch,
                "t0": time.monotonic(),
            }
        )
        self._set_state("paused" if self._start_paused else "running")
        self.controller.start(trainer, start_paused=self._start_paused)

    def _on_prepare_failed(self, message: str) -> None:
        self._set_state("idle")
        self.failed.emit("Cannot start training", message)

    def _on_paused(self, paused: bool) -> None:
        if self.state in ("running", "paused"):
            self._set_state("paused" if paused else "running")

    def _on_finished(self, summary: dict) -> None:
        summary = dict(summary)
        summary["report"] = None
        # a failed run (divergence, out of memory) is neither evaluated nor exported: its
        # weights may be the broken ones, and a model file must never hold those
        failed = summary.get("reason") == "failed"
        if failed:
            self.job = None
        if self.job is not None and self.job.trainer.global_step > 0:
            try:
                self.report = self.job.evaluate()
            except UserError as exc:
                self.failed.emit("Cannot evaluate the model", str(exc))
            except Exception as exc:  # a failed evaluation must not lose the run
                log.exception("evaluation failed")
                self.failed.emit("Cannot evaluate the model", f"{type(exc).__name__}: {exc}")
            summary["report"] = self.report
        self._set_state("idle")
        self.finished.emit(summary)

    def _set_state(self, state: str) -> None:
        if state != self.state:
            self.state = state
            self.state_changed.emit(state)
