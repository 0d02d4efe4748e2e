"""What a sweep buys and costs: on each bundled sample, the best validation metric of a
sweep against a run with the default settings; and trials per minute with 1 and 2 jobs.

    python scripts/bench_sweep.py [--trials 30] [--jobs 2] [--pruners median,none]

Every run goes into a temporary run store. Classification samples report validation
accuracy (higher is better), regression ones validation MAE (lower is better).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from contextlib import redirect_stdout
from io import StringIO
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

TARGETS = {"breast_cancer_8": "malignant", "customer_churn": "churned",
           "diabetes": "progression", "wine": "cultivar"}  # fmt: skip


def _cli(argv: list[str]) -> dict:
    from engine.cli import main

    out = StringIO()
    with redirect_stdout(out):
        code = main(argv)
    if code:
        raise SystemExit(f"gpu-trainer {' '.join(argv)} exited {code}")
    return json.loads(out.getvalue())


def default_run(path: Path, target: str, folder: Path) -> float:
    from engine.runs.store import RunStore

    result = _cli(["train", str(path), "--target", target, "--json",
                   "--out", str(folder / f"{path.stem}.default.safetensors")])  # fmt: skip
    return RunStore().get(result["run"])["best_val"]


def sweep(path: Path, target: str, trials: int, jobs: int, pruner: str, folder: Path) -> dict:
    start = time.monotonic()
    result = _cli(["sweep", str(path), "--target", target, "--trials", str(trials), "--jobs",
                   str(jobs), "--pruner", pruner, "--json",
                   "--out", str(folder / f"{path.stem}.{jobs}.{pruner}.safetensors")])  # fmt: skip
    minutes = (time.monotonic() - start) / 60
    counted = result["trials"]["COMPLETE"] + result["trials"]["PRUNED"]
    return {"best": result["best"]["value"], "per_minute": counted / minutes, **result["trials"]}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--trials", type=int, default=30)
    parser.add_argument("--jobs", default="1,2", help="job counts to time, comma-separated")
    parser.add_argument("--pruners", default="median", help="pruners to compare")
    parser.add_argument("--samples", default=",".join(TARGETS))
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as home:
        os.environ["GPU_TRAINER_HOME"] = home
        folder = Path(home)
        print(f"{'sample':<16} {'metric':<13} {'default':>8} {'sweep':>8}  "
              f"{'jobs':>4} {'pruner':<7} {'trials/min':>10}  complete/pruned/failed")  # fmt: skip
        for name in args.samples.split(","):
            path = ROOT / "assets" / f"{name}.csv"
            base = default_run(path, TARGETS[name], folder)
            metric = "val_mae" if name == "diabetes" else "val_accuracy"
            for jobs in (int(j) for j in args.jobs.split(",")):
                for pruner in args.pruners.split(","):
                    r = sweep(path, TARGETS[name], args.trials, jobs, pruner, folder)
                    print(f"{name:<16} {metric:<13} {base:>8.4f} {r['best']:>8.4f}  {jobs:>4} "
                          f"{pruner:<7} {r['per_minute']:>10.1f}  "
                          f"{r['COMPLETE']}/{r['PRUNED']}/{r['FAIL']}", flush=True)  # fmt: skip
    return 0


if __name__ == "__main__":
    sys.exit(main())
