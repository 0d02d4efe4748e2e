"""One trial of a sweep: the trial's settings trained as a normal, recorded, resumable run,
reporting its validation metric every epoch so that the pruner can stop it early."""

from __future__ import annotations

import math
from pathlib import Path

from engine.nn.callbacks import Callback
from engine.run.job import TrainingJob
from engine.run.prepare import prepare
from engine.runs.recorder import RunRecorder


def monitor_for(task: str) -> tuple[str, str]:
    """``(logged value, direction)`` a sweep optimises for ``task``."""
    return ("val_accuracy", "maximize") if task == "classification" else ("val_mae", "minimize")


class ReportToTrial(Callback):
    """Reports the monitored value at each epoch's end; asks the trainer to stop when the
    pruner says the trial is not promising."""

    def __init__(self, trial, monitor: str) -> None:
        self.trial, self.monitor = trial, monitor
        self.pruned = False
        self.values: list[float] = []

    def on_epoch_end(self, epoch: int, logs=None) -> None:
        value = (logs or {}).get(self.monitor)
        if value is None or not math.isfinite(value):
            return
        self.values.append(value)
        self.trial.report(value, epoch)
        if self.trial.should_prune():
            self.pruned = True
            self.model.stop_training = True


def run_trial(trial, table, schema, base, space, *, study: str, folder: Path, data: dict,
              stop_check=None):  # fmt: skip
    """Train trial ``trial`` and return its best validation value; raises
    ``optuna.TrialPruned`` when pruned. The run is recorded with tags ``sweep:STUDY`` and
    ``trial:N``, and its model file is written to ``folder/trial-N.safetensors``.
    ``stop_check()`` runs between the trial's stages and after each step: a
    ``KeyboardInterrupt`` from it stops the trial (its run recorded as stopped)."""
    import optuna

    check = stop_check or _nothing
    settings = space.settings(trial, base)
    prepared = prepare(table, schema, settings)
    check()
    job = TrainingJob(prepared, settings)
    monitor, direction = monitor_for(job.data.task)
    reporter = ReportToTrial(trial, monitor)
    job.trainer.add_callback(reporter)
    recorder = RunRecorder.start(
        job, data, name=f"{study} trial {trial.number}", source="sweep",
        tags=(f"sweep:{study}", f"trial:{trial.number}"),
    )  # fmt: skip
    recorder = recorder if isinstance(recorder, RunRecorder) else None
    try:
        if recorder is not None:
            trial.set_user_attr("run_id", recorder.run_id)
        check()
        job.run(lambda _record: check())
        check()
        if reporter.pruned:
            if recorder is not None:
                recorder.finish("stopped")
            raise optuna.TrialPruned(f"stopped at epoch {len(reporter.values)}")
        if not reporter.values:
            raise ValueError(f"the trial logged no {monitor}: keep a validation split")
        best = max(reporter.values) if direction == "maximize" else min(reporter.values)
        metrics = job.evaluate()
        folder.mkdir(parents=True, exist_ok=True)
        model = folder / f"trial-{trial.number}.safetensors"
        extra = recorder.model_metadata() if recorder is not None else {}
        job.save(model, metrics=metrics, extra_metadata=extra)
        trial.set_user_attr("model", str(model))
        if recorder is not None:
            recorder.finish("completed", test_metrics=metrics, model_path=model)
    except BaseException as exc:
        # whenever it comes (Ctrl+C, the leader gone), the run says how it ended
        if recorder is not None and not recorder.finished:
            recorder.finish("stopped" if isinstance(exc, KeyboardInterrupt) else "failed")
        raise
    return best


def _nothing() -> None:
    pass
