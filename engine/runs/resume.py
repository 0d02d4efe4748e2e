"""Taking a recorded run up again from its last checkpoint, with the same data, split and
settings, for the epochs it had left or for more (``gpu-trainer train DATA --resume RUN``,
the app's Resume)."""

from __future__ import annotations

from engine.data.schema import Schema
from engine.errors import UserError
from engine.run.job import TrainingJob
from engine.run.prepare import prepare
from engine.run.settings import TrainSettings
from engine.runs.checkpoints import read_checkpoint
from engine.runs.fingerprint import file_sha256
from engine.runs.recorder import KEEP_CHECKPOINTS, RunRecorder
from engine.runs.store import RunStore


def resume_job(key: str, table, *, epochs: int | None = None, store=None,
               keep: int = KEEP_CHECKPOINTS):  # fmt: skip
    """``(job, recorder)`` that go on with run ``key`` (an id or a unique prefix) on
    ``table`` (a CsvTable of the same bytes). ``epochs``: the run's new total (a finished
    run is extended); by default the total it was started with."""
    store = store or RunStore()
    run = store.get(key)
    name = f"run {run['id']}"
    if run["status"] == "running":
        raise UserError(f"{name} is training now; stop it before resuming it")
    if not run["checkpoints"]:
        raise UserError(f"{name} has no checkpoint: it ended before its first epoch; train anew")
    if file_sha256(table.path) != run["data_sha256"]:
        raise UserError(
            f"{table.name}: is not the data {name} trained on (its SHA-256 differs); "
            f"pass {run['data_path']} or a copy of it"
        )
    settings = TrainSettings.from_dict(run["settings"])
    settings.seed = run["seed"]
    last = run["checkpoints"][-1]
    if epochs is not None:
        settings.epochs = int(epochs)
    if settings.epochs <= last["epoch"]:
        raise UserError(
            f"{name} has {last['epoch']} epochs already; ask for more than {last['epoch']} "
            "epochs (--epochs, or the Epochs box) to train it further"
        )
    state = read_checkpoint(last["path"])
    job = TrainingJob(prepare(table, Schema.from_dict(run["schema"]), settings), settings)
    recorder = RunRecorder.resume(job, run, store, keep)
    job.trainer.set_state(state)
    return job, recorder
