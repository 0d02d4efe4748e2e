"""``gpu-trainer sweep DATA --target T``: a hyperparameter search with Optuna, trials in
worker processes, each trial a recorded run; prints the best trial and writes its model."""

from __future__ import annotations

import argparse
import json
import shutil
import sys
import time
from pathlib import Path

from engine.errors import UserError


def add_arguments(parser) -> None:
    parser.add_argument("data", type=Path, help="the CSV to train on")
    parser.add_argument("--target", help="column to predict (default: the last column)")
    parser.add_argument("--task", choices=("classification", "regression"), help="override")
    parser.add_argument("--ignore", action="append", default=[], metavar="COL", help="skip COL")
    parser.add_argument("--val-split", type=float, default=None, help="validation fraction")
    parser.add_argument("--test-split", type=float, default=None, help="test fraction")
    parser.add_argument("--trials", type=int, default=50, help="trials in all (default: 50)")
    parser.add_argument("--timeout", help="stop starting trials after this long: 90s, 10m, 1h")
    parser.add_argument("--jobs", type=int, default=1, help="trials at once, each a process")
    parser.add_argument("--vary", action="append", default=[], metavar="NAME=LOW..HIGH|A,B",
                        help="narrow a range (repeatable): learning_rate=1e-4..1e-2")  # fmt: skip
    parser.add_argument("--fix", action="append", default=[], metavar="NAME=VALUE",
                        help="fix a setting (repeatable), e.g. optimizer=adam")  # fmt: skip
    parser.add_argument("--pruner", default="median", help="median (default), hyperband, none")
    parser.add_argument("--storage", help="study storage URL (default: SQLite beside the runs); "
                        "postgresql://user@host/db to share one study across machines")  # fmt: skip
    parser.add_argument("--study", help="study name (default: DATA's name and the time)")
    parser.add_argument("--device", default="auto", help="auto, cpu, gpu or gpu:N")
    parser.add_argument("--out", type=Path, help="best model file (default: DATA.best.safetensors)")
    parser.add_argument("--json", action="store_true", help="print one JSON object, no progress")
    parser.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)


def run(args) -> int:
    from engine.search.lifeline import watch
    from engine.search.space import SearchSpace

    watch()  # started by the app or a leader: stop when it ends
    if args.trials < 1 or args.jobs < 1:
        raise UserError("--trials and --jobs must be at least 1")
    space = SearchSpace.default().varied(*args.vary).fixing(*args.fix)
    if args.worker:
        return _work(args, space)
    return _lead(args, space)


def _inputs(args):
    """The table, its schema and fingerprint, the base settings and the study's direction."""
    from engine.data import infer_schema, read_csv
    from engine.run.settings import TrainSettings
    from engine.runs.fingerprint import fingerprint
    from engine.search.objective import monitor_for

    table = read_csv(args.data)
    schema = infer_schema(table.frame, target=args.target, source=table.name)
    for name in args.ignore:
        schema = schema.with_role(name, "ignored")
    if args.task:
        schema = schema.with_task(args.task)
    schema.check(table.name)
    base = TrainSettings(device=args.device, early_stopping=10)
    if args.val_split is not None:
        base.val_split = args.val_split
    if args.test_split is not None:
        base.test_split = args.test_split
    return table, schema, fingerprint(table, schema), base, monitor_for(schema.task)[1]


def _lead(args, space) -> int:
    from engine.io.atomic import atomic_path
    from engine.search.study import open_study
    from engine.search.sweep import parse_seconds, run_workers, surplus

    parse_seconds(args.timeout)  # a bad value is said here, not by every worker
    out = args.out or args.data.with_suffix(".best.safetensors")
    if not out.parent.is_dir():  # said now, not after the sweep
        raise UserError(f"--out {out}: folder {out.parent} does not exist; create it or pick "
                        "another")  # fmt: skip
    if out.is_dir():
        raise UserError(f"--out {out}: is a folder; give a file name inside it")
    table, schema, _, _, direction = _inputs(args)  # fails here, once, for bad data
    args.study = args.study or f"{table.path.stem}-{time.strftime('%Y%m%d-%H%M%S')}"
    study = open_study(args.study, direction, args.storage, args.pruner)
    argv = _worker_argv(args)
    if not args.json:
        print(f"sweep {args.study!r}: {args.trials} trials, {args.jobs} at once; "
              f"{'maximising' if direction == 'maximize' else 'minimising'} the validation "
              f"{'accuracy' if direction == 'maximize' else 'MAE'}", file=sys.stderr)  # fmt: skip
    start = time.monotonic()
    bar = None if args.json else _Bar(args.trials)
    failed_workers = run_workers(argv, args.jobs, args.device, study,
                                 None if bar is None else bar.update)  # fmt: skip
    if bar is not None:
        bar.close()
    done = [t for t in study.get_trials(deepcopy=False) if t.state.name == "COMPLETE"]
    if not done:
        raise UserError(f"sweep {args.study!r}: no trial completed; see the messages above")
    best = study.best_trial
    trials = study.get_trials(deepcopy=False)
    with atomic_path(out) as tmp:  # Ctrl+C or a full disk leave no partial model file
        shutil.copyfile(best.user_attrs["model"], tmp)
    result = {
        "study": args.study, "storage": args.storage or "default",
        "trials": {s: sum(1 for t in trials if t.state.name == s and not surplus(t))
                   for s in ("COMPLETE", "PRUNED", "FAIL")},
        "best": {"trial": best.number, "value": best.value, "params": best.params,
                 "run": best.user_attrs.get("run_id")},
        "model": str(out), "seconds": round(time.monotonic() - start, 1),
        "failed_workers": failed_workers,
    }  # fmt: skip
    if args.json:
        print(json.dumps(result, allow_nan=False))
    else:
        params = ", ".join(f"{k}={v:.4g}" if isinstance(v, float) else f"{k}={v}"
                           for k, v in best.params.items())  # fmt: skip
        print(f"best: trial {best.number}, value {best.value:.4f} ({params}); "
              f"{result['trials']['COMPLETE']} completed, {result['trials']['PRUNED']} pruned, "
              f"{result['trials']['FAIL']} failed in {result['seconds']:.0f} s; "
              f"model written to {out}")  # fmt: skip
    return 0


def _worker_argv(args) -> list[str]:
    argv = ["sweep", str(args.data), "--trials", str(args.trials), "--study", args.study,
            "--pruner", args.pruner, "--device", args.device]  # fmt: skip
    options = {"--target": args.target, "--timeout": args.timeout, "--storage": args.storage,
               "--task": args.task, "--val-split": args.val_split,
               "--test-split": args.test_split}  # fmt: skip
    for flag, value in options.items():
        if value is not None:
            argv += [flag, str(value)]
    for name in args.ignore:
        argv += ["--ignore", name]
    for spec in args.vary:
        argv += ["--vary", spec]
    for spec in args.fix:
        argv += ["--fix", spec]
    return argv


def _work(args, space) -> int:
    from engine.runs import home
    from engine.search.objective import run_trial
    from engine.search.study import open_study
    from engine.search.sweep import StopRequest, parse_seconds, work

    table, schema, data, base, direction = _inputs(args)
    study = open_study(args.study, direction, args.storage, args.pruner)
    folder = home.home() / "sweeps" / args.study
    stop = StopRequest()

    def objective(trial):
        return run_trial(trial, table, schema, base, space, study=args.study, folder=folder,
                         data=data, stop_check=stop.check)  # fmt: skip

    try:
        work(study, objective, args.trials, parse_seconds(args.timeout), stop=stop)
    except KeyboardInterrupt:
        return 130
    return 0


class _Bar:
    """Trials done out of the total, with the best value so far."""

    def __init__(self, total: int) -> None:
        from tqdm import tqdm

        self.bar = tqdm(total=total, unit="trial", file=sys.stderr,
                        disable=not sys.stderr.isatty(), dynamic_ncols=True)  # fmt: skip
        self.total = total
        self.seen = 0

    def update(self, p) -> None:
        finished = p.complete + p.pruned + p.failed
        self.bar.update(max(0, finished - self.seen))
        self.seen = max(self.seen, finished)
        if p.best is not None:
            self.bar.set_postfix_str(f"best {p.best:.4f} (trial {p.best_trial})", refresh=False)

    def close(self) -> None:
        self.bar.close()
