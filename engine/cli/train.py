"""``gpu-trainer train DATA.csv``: read, prepare, train with a progress bar, test, save."""

from __future__ import annotations

import sys
import time
from dataclasses import replace
from pathlib import Path

from engine.cli.arguments import (
    DEFAULTS,
    add_data_arguments,
    add_network_arguments,
    add_threshold_argument,
    read_table,
    schema_from,
    settings_from,
)
from engine.cli.output import strict_json
from engine.errors import UserError
from engine.run.settings import AUTO_ACTIVATION, TrainSettings

KEEP_CHECKPOINTS = 3


def add_arguments(parser) -> None:
    d = DEFAULTS
    add_data_arguments(parser)
    parser.add_argument("--out", type=Path, help="model file to write (default: DATA.safetensors)")
    add_network_arguments(parser)
    parser.add_argument("--batch-size", type=int, default=d.batch_size)
    parser.add_argument("--epochs", type=int, default=None,
                        help=f"(default: {d.epochs}; with --resume: the run's own)")  # fmt: skip
    parser.add_argument(
        "--early-stopping",
        type=int,
        default=d.early_stopping,
        metavar="PATIENCE",
        help=f"epochs without a better validation loss before stopping; 0 = off "
        f"(default: {d.early_stopping})",
    )
    parser.add_argument("--device", default=d.device, help="auto, cpu, gpu or gpu:N")
    add_threshold_argument(parser)
    parser.add_argument(
        "--cv",
        type=int,
        metavar="K",
        help="first evaluate by K-fold cross-validation (stratified for classes; 2 to 20), "
        "then train the model on all rows",
    )
    parser.add_argument("--json", action="store_true", help="print one JSON object, no progress")
    runs = parser.add_argument_group("run history")
    runs.add_argument("--name", help="the run's name (default: DATA's name and the time)")
    runs.add_argument("--tag", action="append", default=[], help="tag the run (repeatable)")
    runs.add_argument("--resume", metavar="RUN", help="go on with a run from its last checkpoint")
    runs.add_argument("--manifest", type=Path, help="train again the run a manifest describes")
    runs.add_argument("--keep", type=int, default=KEEP_CHECKPOINTS, help="checkpoints kept")
    runs.add_argument("--no-record", action="store_true", help="do not record the run")


def run(args) -> int:
    out = args.out or args.data.with_suffix(".safetensors")
    if not out.parent.resolve().is_dir():
        raise UserError(f"--out {out}: folder {out.parent} does not exist; create it first")
    if out.is_dir():
        raise UserError(
            f"--out {out}: is a folder; give a file name such as {out / 'model.safetensors'}"
        )
    table = read_table(args)
    cv = _cross_validation(args, table) if args.cv is not None else None
    job, recorder = _job(args, table)
    data = job.data
    if not args.json:
        for note in [*data.notes, *data.pipeline.schema.problems]:
            print(f"note: {note}", file=sys.stderr)
        if isinstance(recorder, str):
            print(f"note: {recorder}", file=sys.stderr)
        print(_summary(job, recorder), file=sys.stderr)
    recorder = None if isinstance(recorder, str) else recorder
    sampler = _sampler(job)
    start = time.monotonic()
    try:
        job.run(None if args.json else Progress(job.trainer, sys.stderr).update)
    except BaseException as exc:
        _finish(recorder, sampler, job, _status(exc))
        raise
    seconds = time.monotonic() - start
    # a cross-validated model trained on every row: the folds' figures are its test figures
    metrics = job.evaluate() if cv is None else _cv_metrics(cv, data.task)
    hardware = sampler.end_run(job.trainer.epoch)
    extra = {"hardware": hardware, **(recorder.model_metadata() if recorder else {})}
    if cv is not None:
        extra["cv"] = cv
    job.save(out, metrics=metrics, extra_metadata=extra)
    _finish(recorder, sampler, job, "completed", metrics=metrics, hardware=hardware, model=out)
    result = {
        "model": str(out),
        "run": recorder.run_id if recorder else None,
        "task": data.task,
        "target": data.pipeline.target_name,
        "rows": {"train": len(data.x_train), "val": len(data.x_val), "test": len(data.x_test)},
        "epochs": len(job.trainer.history.get("loss", [])),
        "stopped_early": job.stopped_early,
        "seconds": round(seconds, 3),
        "device": job.model.backend.device,
        "test": {
            k: v for k, v in metrics.items() if k not in ("y_true", "y_pred", "y_score", "cv")
        },
        "hardware": hardware,
    }
    if cv is not None:
        result["cv"] = cv
    print(strict_json(result) if args.json else _report(result))
    return 0


def _job(args, table):
    """``(job, recorder)``: a new run (from the options, or from a manifest) or a resumed
    one; the recorder is None when not recording, or the reason the store cannot be used."""
    from engine.data.schema import Schema
    from engine.run.job import TrainingJob
    from engine.run.prepare import prepare
    from engine.runs.fingerprint import fingerprint
    from engine.runs.recorder import RunRecorder

    if args.resume:
        from engine.runs.resume import resume_job

        return resume_job(args.resume, table, epochs=args.epochs, keep=args.keep)
    if args.manifest:
        from engine.runs.fingerprint import file_sha256
        from engine.runs.manifest import check_data, read_manifest

        manifest = read_manifest(args.manifest)
        check_data(manifest, file_sha256(table.path), table.name)
        schema = Schema.from_dict(manifest["data"]["schema"])
        settings = TrainSettings.from_dict(manifest["settings"])
    else:
        settings = settings_from(args)
        schema = schema_from(args, table)
        if args.cv is not None:  # the model cross-validated is trained on every row
            settings = replace(settings, test_split=0.0)
    job = TrainingJob(prepare(table, schema, settings), settings)
    if args.no_record:
        return job, None
    name = args.name or f"{table.path.stem} {time.strftime('%Y-%m-%d %H:%M')}"
    recorder = RunRecorder.start(job, fingerprint(table, schema), name=name, source="cli",
                                 tags=args.tag, keep=args.keep)  # fmt: skip
    return job, recorder


def _cross_validation(args, table) -> dict:
    """Cross-validate the arguments' settings (a bar per fold unless --json)."""
    from engine.run.crossval import check_folds, cross_validate

    if args.resume or args.manifest:
        raise UserError("--cv trains a new run; leave out --resume and --manifest")
    check_folds(args.cv, None, [], table.name)
    bars: list[Progress] = []

    def on_step(fold, job, record):
        if len(bars) == fold:
            print(f"cross-validation fold {fold + 1}/{args.cv}", file=sys.stderr)
            bars.append(Progress(job.trainer, sys.stderr))
        bars[fold].update(record)

    step = None if args.json else on_step
    return cross_validate(table, schema_from(args, table), settings_from(args), args.cv, step)


def _cv_metrics(cv: dict, task: str) -> dict:
    """What the run store keeps of a cross-validated run: the folds' means as its test
    metrics (the runs table shows them), and the whole result under "cv"."""
    means = {name: m["mean"] for name, m in cv["metrics"].items()}
    return {"task": task, "split": "cv", "n": sum(cv["rows"]), **means, "cv": cv}


def _sampler(job):
    """The hardware sampler for the run (NVML on a GPU, else CPU and RAM), started."""
    from engine.hardware import Sampler

    sampler = Sampler()
    sampler.attach(job.model.backend)
    sampler.start()
    sampler.begin_run(time.monotonic())
    return sampler


def _finish(recorder, sampler, job, status: str, metrics=None, hardware=None, model=None):
    from engine.hardware import sample_to_dict

    if hardware is None:
        hardware = sampler.end_run(job.trainer.epoch)
    telemetry = [sample_to_dict(s) for s in sampler.training_samples()]
    sampler.close()
    if recorder is not None:
        recorder.finish(status, test_metrics=metrics, hardware=hardware, telemetry=telemetry,
                        model_path=model)  # fmt: skip


def _status(exc: BaseException) -> str:
    from engine.errors import TrainingDiverged

    if isinstance(exc, KeyboardInterrupt):
        return "stopped"
    return "diverged" if isinstance(exc, TrainingDiverged) else "failed"


def _summary(job, recorder) -> str:
    data, backend = job.data, job.model.backend
    run = (
        f"run {recorder.run_id}: " if recorder is not None and not isinstance(recorder, str) else ""
    )
    return run + (
        f"training {data.task} of {data.pipeline.target_name!r}: "
        f"{len(data.x_train):,} training rows, {data.n_inputs} inputs, "
        f"{job.model.count_params():,} parameters on {backend.describe()}; hidden layers "
        + ", ".join(f"{layer.units} {layer.activation}" for layer in job.settings.layers)
        + _auto_note(job)
    )


def _auto_note(job) -> str:
    """' (auto: a table of 178 rows)' where an "auto" activation was decided."""
    if AUTO_ACTIVATION not in job.requested_activations:
        return ""
    return f" (auto: a table of {job.data.rows:,} rows)"


def _report(result: dict) -> str:
    from engine.hardware.text import summary_line

    test = result["test"]
    if "cv" in result:  # no test rows: the model trained on all of them
        cv = result["cv"]
        metrics = cv["metrics"].items()
        scores = ", ".join(f"{k} {m['mean']:.4g} ± {m['std']:.4g}" for k, m in metrics)
        line = f"{cv['folds']}-fold cross-validation: {scores}; final model trained"
    elif result["task"] == "classification":
        line = f"test accuracy {test['accuracy']:.4f}, macro F1 {test['macro_f1']:.4f}"
        if "roc_auc" in test:  # two classes; N/A where the test rows hold one class only
            line += (
                f", balanced accuracy {_score(test['balanced_accuracy'])}, "
                f"ROC AUC {_score(test['roc_auc'])}, PR AUC {_score(test['pr_auc'])} "
                f"(threshold {test['threshold']:g})"
            )
    else:
        line = f"test MAE {test['mae']:.4g}, RMSE {test['rmse']:.4g}, R² {test['r2']:.4f}"
    stopped = " (early stopping)" if result["stopped_early"] else ""
    return (
        f"{line} on {test['n']:,} rows\n"
        f"{result['epochs']} epochs{stopped} in {result['seconds']:.1f} s; "
        f"model written to {result['model']}\n"
        f"{summary_line(result['hardware'])}"
    )


def _score(value: float) -> str:
    return "N/A" if value != value else f"{value:.4f}"  # NaN: not defined on these rows


class Progress:
    """A tqdm bar over the run's samples on a terminal (rate and ETA included); one line
    per epoch elsewhere, such as a log file."""

    def __init__(self, trainer, stream):
        from tqdm import tqdm

        self.trainer, self.stream, self.start = trainer, stream, time.monotonic()
        self.tty = bool(getattr(stream, "isatty", lambda: False)())
        self.epochs = trainer.total_steps // max(1, trainer.steps_per_epoch)
        self.bar = tqdm(
            total=self.epochs * trainer.n, unit="samples", unit_scale=True, file=stream,
            disable=not self.tty, dynamic_ncols=True, mininterval=0.1, leave=True,
        )  # fmt: skip

    def update(self, record) -> None:
        self.bar.update(record.samples)
        if record.epoch_end is not None:
            logs = " ".join(f"{k} {v:.4g}" for k, v in record.epoch_end.logs.items() if k != "lr")
            label = f"epoch {record.epoch + 1}/{self.epochs}"
            self.bar.set_description_str(label, refresh=False)
            self.bar.set_postfix_str(logs, refresh=False)
            if not self.tty:
                elapsed = time.monotonic() - self.start
                print(f"{label} {logs} | {elapsed:.1f} s", file=self.stream, flush=True)
        if self.trainer.done:
            self.bar.close()
