"""Recording a training job as a run: one row per epoch, the bounded per-step losses, a
checkpoint every epoch (the last ``keep`` kept), how the run ended, and its telemetry with the
start and the epochs' ends on the samples' clock, so that a replay lines them up.

:class:`RunRecorder` is the trainer's last callback, so at an epoch's end it sees what every
other callback did (early stopping's best weights, a reduced learning rate) and the trainer
between epochs. The store failing (corrupt, locked, read-only, full disk) never stops the
training: the recorder stops recording and keeps the reason in ``problem`` for the app or
the CLI to say once.
"""

from __future__ import annotations

import logging
import time
from pathlib import Path

from engine.errors import UserError
from engine.nn.callbacks import Callback
from engine.runs.checkpoints import prune, write_checkpoint
from engine.runs.manifest import manifest_for
from engine.runs.store import RunStore

log = logging.getLogger(__name__)
KEEP_CHECKPOINTS = 3
MAX_TELEMETRY = 1000  # samples kept of a run's hardware telemetry
MAX_EPOCH_ENDS = 4000  # epoch end times kept (as many as the store keeps epoch rows)


class RunRecorder(Callback):
    """Records ``job`` (a :class:`~engine.run.job.TrainingJob`) as run ``run_id``."""

    def __init__(self, store: RunStore, run_id: str, job, keep: int = KEEP_CHECKPOINTS):
        self.store, self.run_id, self.job, self.keep = store, run_id, job, max(1, int(keep))
        self.folder = store.path.parent / "checkpoints" / run_id
        self.problem: str | None = None
        self._checkpoints: list[str] = []
        self._epoch_start = time.monotonic()
        self.t0: float | None = None  # when the trainer began, on time.monotonic()
        self._epoch_ends: tuple[list[int], list[float]] = ([], [])
        self.finished = False  # finish() has recorded how the run ended
        job.trainer.add_callback(self)

    @classmethod
    def start(cls, job, data: dict, *, name: str, source: str, store=None, tags=(),
              keep: int = KEEP_CHECKPOINTS) -> RunRecorder | str:  # fmt: skip
        """Record ``job`` as a new run of the data ``data`` (a fingerprint); returns the
        recorder, or the one-sentence reason the store cannot be used."""
        from engine.run.versions import environment

        store = store or RunStore()
        settings, model = job.settings, job.model
        monitor = "val_accuracy" if job.data.task == "classification" else "val_mae"
        try:
            run_id = store.create_run(
                name=name, source=source, data=data, settings=settings.to_dict(),
                seed=settings.seed, environment=environment(model.backend), task=job.data.task,
                target=job.data.pipeline.target_name, monitor=monitor,
                parameters=model.count_params(), device=model.backend.device,
            )  # fmt: skip
            if tags:
                store.update(run_id, tags=list(tags))
        except UserError as exc:
            return str(exc)
        return cls(store, run_id, job, keep)

    @classmethod
    def resume(cls, job, run: dict, store: RunStore, keep: int = KEEP_CHECKPOINTS) -> RunRecorder:
        """Record ``job`` as the continuation of ``run`` (a store row, with checkpoints)."""
        store.reopen(run["id"], job.settings.to_dict())
        recorder = cls(store, run["id"], job, keep)
        recorder._checkpoints = [c["path"] for c in run["checkpoints"]]
        return recorder

    # -- the trainer's callbacks -----------------------------------------------------------
    def on_train_begin(self, logs=None) -> None:
        self.t0 = time.monotonic()

    def on_epoch_begin(self, epoch: int, logs=None) -> None:
        self._epoch_start = time.monotonic()

    def on_epoch_end(self, epoch: int, logs=None) -> None:
        trainer = self.job.trainer
        now = time.monotonic()
        seconds = now - self._epoch_start
        self._note_epoch_end(epoch, now)

        def record():
            self.store.add_epoch(self.run_id, epoch, trainer.global_step, seconds, dict(logs))
            steps, losses = trainer.loss_log.data()
            self.store.set_series(self.run_id, "loss",
                                  {"step": steps.tolist(), "loss": losses.tolist()})  # fmt: skip
            path = write_checkpoint(self.folder, trainer.epoch, trainer.get_state())
            self.store.add_checkpoint(self.run_id, trainer.epoch, path)
            self._checkpoints = [p for p in self._checkpoints if p != str(path)] + [str(path)]
            for old in prune(self._checkpoints, self.keep):
                self.store.drop_checkpoint(self.run_id, _epoch_of(old))
                self._checkpoints.remove(old)

        self._guarded(record)

    def _note_epoch_end(self, epoch: int, now: float) -> None:
        epochs, times = self._epoch_ends
        if len(epochs) == MAX_EPOCH_ENDS:  # every other older one goes; the newest stay
            epochs[:] = epochs[:-1:2] + epochs[-1:]
            times[:] = times[:-1:2] + times[-1:]
        epochs.append(epoch)
        times.append(now)

    # -- the end --------------------------------------------------------------------------
    def finish(self, status: str, *, test_metrics: dict | None = None, hardware=None,
               telemetry: list | None = None, model_path=None,
               t0: float | None = None) -> None:  # fmt: skip
        """How the run ended: ``status`` (completed, stopped, diverged, failed), its test
        metrics, hardware summary and telemetry (samples as dicts, thinned to a bound).

        The telemetry series is ``{"samples", "t0", "epoch_ends": {"epoch": [0-based],
        "time": [...]}}``, times on the samples' ``time.monotonic()``: ``t0`` the run's start
        (given, else when the trainer began), each epoch's end as this recorder saw it."""
        fields = {}
        if test_metrics is not None:
            series = ("y_true", "y_pred", "y_score")  # per-row values, for plots only
            metrics = {k: v for k, v in test_metrics.items() if k not in series}
            key = "accuracy" if metrics.get("task") == "classification" else "r2"
            fields.update(test_metrics=metrics, test_metric=metrics.get(key))
        if hardware is not None:
            fields.update(hardware=hardware, energy_j=hardware.get("energy_j"))
        if model_path is not None:
            fields["model_path"] = str(Path(model_path).resolve())

        def record():
            if telemetry:
                step = max(1, -(-len(telemetry) // MAX_TELEMETRY))
                epochs, times = self._epoch_ends
                self.store.set_series(self.run_id, "telemetry", {
                    "samples": telemetry[::step],
                    "t0": t0 if t0 is not None else self.t0,
                    "epoch_ends": {"epoch": list(epochs), "time": list(times)},
                })  # fmt: skip
            self.store.finish(self.run_id, status, **fields)

        self._guarded(record)
        self.finished = True

    def model_saved(self, path) -> None:
        """The run's model file was written to ``path``."""
        self._guarded(lambda: self.store.update(self.run_id, model_path=str(Path(path).resolve())))

    def model_metadata(self) -> dict:
        """What the model file carries of its run: the run id and the manifest."""
        try:
            return {"run_id": self.run_id, "manifest": manifest_for(self.store.get(self.run_id))}
        except UserError:
            return {"run_id": self.run_id}

    def _guarded(self, work) -> None:
        if self.problem is not None:
            return
        try:
            work()
        except (UserError, OSError) as exc:
            self.problem = f"{exc}; this run is no longer recorded"
            log.warning("%s", self.problem)


def _epoch_of(path: str) -> int:
    return int(Path(path).stem.split("-")[1])
