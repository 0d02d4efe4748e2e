"""Reading benchmark: a CSV from file to training arrays, against plain pandas + pyarrow.

Generates a CSV (default 1,000,000 rows × 30 columns: 20 numeric with 1% gaps, 9
categorical and a yes/no target), then times, each in a fresh process so that peak memory
is its own:

* ``pandas``: ``pandas.read_csv(path, engine="pyarrow")``;
* ``pipeline``: what ``gpu-trainer train`` runs before training: ``engine.data.read_csv``
  -> ``infer_schema`` -> ``engine.run.prepare.prepare`` (split, preprocessing fitted on the
  training rows, the train/val/test arrays the trainer takes: standardised float32 numbers
  and, per categorical column, the index of its one-hot column, which the trainer expands
  batch by batch on the device; see ``engine.encoded_rows``).

The categorical columns have 2, 3, 5, 8, 12, 16, 20, 25 and 30 categories with Zipf-like
frequencies (the k-th most common in proportion to 1/k), as names, codes and product types
in real tables have: a few common values and a tail of rare ones, so the widest columns have
categories under 1% that the preprocessing pools into one "other" column, and the one-hot
output (137 float32 columns) is as wide as such data makes it. 1% of categorical values
are missing too.

After one warm-up run of each, each runs ``--repeats`` times, alternating; the best and the
median time of each are reported with their ratios, each process's peak resident memory, and
the load average before and after (other work on the machine makes times noisy), and the
median CPU time (user + system, all threads), which such work disturbs less.

    python scripts/bench_read.py                 # 1M × 30, about a minute
    python scripts/bench_read.py --rows 100000   # quick
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

N_NUMERIC = 20
LEVELS = (2, 3, 5, 8, 12, 16, 20, 25, 30)  # categories per categorical column
N_CATEGORICAL = len(LEVELS)


def generate(path: Path, rows: int, seed: int = 0) -> None:
    """Write the benchmark CSV: numeric ``x00..x19``, categorical ``c0..c8``, target ``label``."""
    import pyarrow as pa
    import pyarrow.csv as pacsv

    rng = np.random.default_rng(seed)
    columns = {}
    for j in range(N_NUMERIC):
        x = rng.normal(loc=j, scale=1 + j / 10, size=rows).round(4)
        x[rng.random(rows) < 0.01] = np.nan
        columns[f"x{j:02d}"] = x
    for j, n_levels in enumerate(LEVELS):
        levels = np.array([f"level_{k}" for k in range(n_levels)])
        zipf = 1.0 / np.arange(1, n_levels + 1)
        values = levels[rng.choice(n_levels, rows, p=zipf / zipf.sum())].astype(object)
        values[rng.random(rows) < 0.01] = None
        columns[f"c{j}"] = values
    score = columns["x00"] - columns["x01"] + 0.5 * (columns["c0"] == "level_1")
    columns["label"] = np.where(np.nan_to_num(score) + rng.normal(size=rows) > -1, "yes", "no")
    pacsv.write_csv(pa.table(columns), path)


def measure(kind: str, path: str) -> dict:
    """Time one kind of read in this process; peak RSS is this process's high-water mark."""
    import pandas as pd

    from engine.data import infer_schema, read_csv
    from engine.run.prepare import prepare

    start, cpu_start = time.perf_counter(), time.process_time()
    if kind == "pandas":
        frame = pd.read_csv(path, engine="pyarrow")
        shape = list(frame.shape)
    else:
        table = read_csv(path)
        data = prepare(table, infer_schema(table.frame, source=table.name))
        parts = (data.x_train, data.x_val, data.x_test)
        shape = [sum(len(x) for x in parts), data.n_inputs]
    seconds, cpu = time.perf_counter() - start, time.process_time() - cpu_start
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    found = {"kind": kind, "seconds": seconds, "cpu": cpu, "peak_rss_mib": peak, "shape": shape}
    if kind == "pipeline":
        found["arrays_mib"] = sum(x.nbytes + y.nbytes for x, y in zip(parts, (
            data.y_train, data.y_val, data.y_test))) / 2**20  # fmt: skip
        found["dense_mib"] = shape[0] * shape[1] * 4 / 2**20
    return found


def _run_child(kind: str, path: Path) -> dict:
    out = subprocess.run(
        [sys.executable, __file__, "--measure", kind, str(path)],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    return json.loads(out.strip().splitlines()[-1])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--csv", type=Path, help="reuse or keep the generated CSV here")
    parser.add_argument("--measure", nargs=2, metavar=("KIND", "PATH"), help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.measure:
        print(json.dumps(measure(*args.measure)))
        return 0
    with tempfile.TemporaryDirectory() as tmp:
        path = args.csv or Path(tmp) / "bench.csv"
        if not path.exists():
            t0 = time.perf_counter()
            generate(path, args.rows)
            size, seconds = path.stat().st_size / 2**20, time.perf_counter() - t0
            print(f"generated {args.rows:,} rows × 30 columns, {size:.0f} MiB in {seconds:.1f} s")
        load = os.getloadavg()
        runs = {"pandas": [], "pipeline": []}
        for kind in runs:  # warm-up: the file in the page cache, memory pages in use once
            _run_child(kind, path)
        for _ in range(args.repeats):
            for kind in runs:
                runs[kind].append(_run_child(kind, path))
    print(f"load average before: {load[0]:.2f}, after: {os.getloadavg()[0]:.2f} (1 minute)")
    best = {kind: min(r, key=lambda m: m["seconds"]) for kind, r in runs.items()}
    median = {kind: statistics.median(m["seconds"] for m in r) for kind, r in runs.items()}
    for kind, m in best.items():
        times = ", ".join(f"{r['seconds']:.2f}" for r in runs[kind])
        peak = max(r["peak_rss_mib"] for r in runs[kind])
        cpu = statistics.median(r["cpu"] for r in runs[kind])
        print(
            f"{kind:>8}: best {m['seconds']:.2f} s, median {median[kind]:.2f} s "
            f"(runs: {times}), median CPU {cpu:.2f} s, peak RSS {peak:.0f} MiB, "
            f"shape {m['shape']}"
        )
    arrays = best["pipeline"]
    print(
        f"training arrays: {arrays['arrays_mib']:.0f} MiB (features kept compact; the dense "
        f"float32 feature matrix would be {arrays['dense_mib']:.0f} MiB)"
    )
    ratio = best["pipeline"]["seconds"] / best["pandas"]["seconds"]
    print(
        f"ratio pipeline / pandas(pyarrow): best {ratio:.2f}, "
        f"median {median['pipeline'] / median['pandas']:.2f} (limit 1.5)"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
