"""One training run for the window: prepare the job off the GUI thread, drive its trainer in the
worker thread, evaluate the test split and save the model file; every run is recorded in the
run store, and a recorded one can be resumed. Knows the engine, not widgets."""

from __future__ import annotations

import logging
import time

from PySide6.QtCore import QObject, Signal

from engine.errors import UserError
from engine.run.job import TrainingJob
from engine.run.prepare import prepare
from engine.run.settings import TrainSettings
from engine.runs.fingerprint import fingerprint
from engine.runs.recorder import RunRecorder
from engine.runs.resume import resume_job
from gui.loader import BackgroundTask
from gui.worker import TrainingController

log = logging.getLogger(__name__)


class TrainingSession(QObject):
    """States: ``idle``, ``preparing``, ``running``, ``paused``.

    started(info): ``epochs``, ``total_steps``, ``task``, ``backend``, ``t0``, ``history``
    (the trainer's per-epoch lists, filled as epochs end), ``steps_per_epoch`` and
    ``global_step`` (the steps done before: a resumed run's).
    progress(dict): the worker's batches. finished(dict): the worker's summary plus ``report``
    (test metrics, or None) and ``run`` (its id in the run store, or None). failed(title,
    message); a run store that cannot be used is said this way once, and training goes on.
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
        self.recorder: RunRecorder | None = None
        self.report: dict | None = None
        self.state = "idle"
        self._start_paused = False
        self._cancelled = False
        self._ended: str | None = None  # how the last run ended, until the next begins
        self._t0: float | None = None  # the last run's start, on time.monotonic()

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
        self._begin(lambda: _new_run(table, schema, settings), start_paused)
        return True

    def resume_run(self, run_id: str, table, epochs: int | None = None) -> bool:
        """Go on with recorded run ``run_id`` on ``table`` from its last checkpoint (to
        ``epochs`` in all, or its own count)."""
        if self.is_active():
            return False
        self._begin(lambda: resume_job(run_id, table, epochs=epochs), False)
        return True

    def _begin(self, make, start_paused: bool) -> None:
        """Make ``(job, recorder)`` off the GUI thread (reading, splitting, hashing the file)."""
        self.job, self.recorder, self.report = None, None, None
        self._start_paused = start_paused
        self._cancelled = False
        self._set_state("preparing")
        self._prepare.start(make)

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

    def save(self, path, extra_metadata: dict | None = None, recorded: bool = True) -> None:
        """Write the model file; ``recorded``: the run's record names it as its model."""
        if self.job is None:
            raise UserError("there is no trained model yet; train one first")
        extra = dict(extra_metadata or {})
        if self.recorder is not None:
            extra.update(self.recorder.model_metadata())
        self.job.save(path, extra_metadata=extra, metrics=self.report)
        if self.recorder is not None and recorded:
            self.recorder.model_saved(path)

    def set_threshold(self, threshold: float) -> None:
        """Decide the trained two-class model at ``threshold`` (the Evaluation tab's choice):
        its report and the model files saved after it use it."""
        if self.job is not None and (self.report or {}).get("threshold") != threshold:
            self.job.set_threshold(threshold)
            self.report = self.job.evaluate()

    def record_hardware(self, summary: dict | None, telemetry: list[dict]) -> None:
        """The finished run's hardware summary and telemetry, for its record."""
        if self.recorder is not None and self._ended is not None:
            self.recorder.finish(self._ended, hardware=summary, telemetry=telemetry, t0=self._t0)

    def _on_prepared(self, result) -> None:
        job, recorder = result
        if isinstance(recorder, str):
            self.failed.emit("Run history unavailable", recorder)
            recorder = None
        if self._cancelled:
            if recorder is not None:
                recorder.finish("stopped")
            self._set_state("idle")
            return
        self.job, self.recorder, self._ended = job, recorder, None
        trainer = job.trainer
        self._t0 = time.monotonic()
        self.started.emit(
            {
                "epochs": job.settings.epochs,
                "total_steps": trainer.total_steps,
                "task": job.data.task,
                "backend": job.model.backend,
                "history": trainer.history,
                "steps_per_epoch": trainer.steps_per_epoch,
                "global_step": trainer.global_step,
                "t0": self._t0,
                "activations": [layer.activation for layer in job.settings.layers],
                "requested_activations": job.requested_activations,
                "rows": job.data.rows,
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
        self._ended = summary.get("reason", "completed")
        if self._ended in ("failed", "diverged"):
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
        summary["run"] = None
        if self.recorder is not None:
            self.recorder.finish(self._ended, test_metrics=self.report)
            if self.recorder.problem:
                self.failed.emit("Run history unavailable", self.recorder.problem)
            summary["run"] = self.recorder.run_id
        self._set_state("idle")
        self.finished.emit(summary)

    def _set_state(self, state: str) -> None:
        if state != self.state:
            self.state = state
            self.state_changed.emit(state)


def _new_run(table, schema, settings: TrainSettings):
    """``(job, recorder)`` for a new run; the recorder is the reason when the store cannot
    be used."""
    job = TrainingJob(prepare(table, schema, settings), settings)
    name = f"{table.path.stem} {time.strftime('%Y-%m-%d %H:%M')}"
    return job, RunRecorder.start(job, fingerprint(table, schema), name=name, source="app")
