"""What one recorded run costs on disk: a long run is trained from the command line into a
fresh run store, and its bytes are counted part by part.

    python scripts/run_storage.py [--epochs 2000] [--data assets/customer_churn.csv]

Per-epoch history grows with the epochs (one row each); the per-step losses, the telemetry
and the checkpoints are bounded whatever the length of the run.
"""

from __future__ import annotations

import argparse
import os
import sqlite3
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=2000)
    parser.add_argument("--data", type=Path, default=ROOT / "assets" / "customer_churn.csv")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as home:
        os.environ["GPU_TRAINER_HOME"] = home
        from engine.cli import main as cli_main

        out = Path(home) / "model.safetensors"
        code = cli_main(
            ["train", str(args.data), "--epochs", str(args.epochs), "--json",
             "--early-stopping", "0", "--batch-size", "256", "--out", str(out)]
        )  # fmt: skip
        if code:
            return code
        db = sqlite3.connect(Path(home) / "runs.sqlite")
        (run_id,) = db.execute("SELECT id FROM runs").fetchone()
        db.execute("PRAGMA wal_checkpoint(TRUNCATE)")  # the WAL's pages into the file
        store = (Path(home) / "runs.sqlite").stat().st_size

        def size(sql: str) -> int:
            return (db.execute(sql).fetchone() or [0])[0] or 0

        parts = {
            "run row": size(
                "SELECT length(schema) + length(settings) + length(environment) + "
                "length(coalesce(test_metrics, '')) + length(coalesce(hardware, '')) + 300 "
                "FROM runs"
            ),
            "per-epoch history": size("SELECT sum(length(logs)) + count(*) * 24 FROM epochs"),
            "per-step losses": size("SELECT length(data) FROM series WHERE kind='loss'"),
            "telemetry": size("SELECT length(data) FROM series WHERE kind='telemetry'"),
            "checkpoints": sum(
                p.stat().st_size for p in (Path(home) / "checkpoints" / run_id).iterdir()
            ),
        }
        steps = size("SELECT steps FROM runs")
    print(f"run of {args.epochs:,} epochs, {steps:,} steps on {args.data.name}:")
    for name, size in parts.items():
        print(f"  {name:<18} {size / 1024:>9,.1f} KiB")
    print(f"  {'in all':<18} {sum(parts.values()) / 1024:>9,.1f} KiB "
          f"(the store file: {store / 1024:,.1f} KiB)")  # fmt: skip
    return 0


if __name__ == "__main__":
    sys.exit(main())
