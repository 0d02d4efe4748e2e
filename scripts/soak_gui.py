"""Soak: the app window trains for a million steps; its memory must stay flat.

    QT_QPA_PLATFORM=offscreen python scripts/soak_gui.py [--steps 1000000] [--batch 1]

The real window (training worker, live loss and metric plots, hardware panel) trains a small
network on a generated table with tiny batches, so that a million steps take minutes. The
process's resident memory is read once a second; after the warm-up (``--warmup`` steps:
buffers reach their bounds, allocator pools fill) it must stay within ``--limit-mb`` of its
value at the end of the warm-up. Prints the figures, and exits 1 when the growth is over the
limit.
"""

from __future__ import annotations

import argparse
import math
import os
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import psutil  # noqa: E402
from PySide6.QtCore import QEventLoop, QSettings, QTimer  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from engine.run.settings import LayerSpec  # noqa: E402
from gui.app import create_main_window, ensure_app  # noqa: E402

ROWS, FEATURES = 2_000, 8


def write_table(path: Path) -> None:
    rng = np.random.default_rng(0)
    x = rng.standard_normal((ROWS, FEATURES))
    frame = pd.DataFrame(x, columns=[f"x{i}" for i in range(FEATURES)])
    frame["label"] = np.where(x[:, :3].sum(axis=1) > 0, "yes", "no")
    frame.to_csv(path, index=False)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=1_000_000)
    parser.add_argument("--batch", type=int, default=1)
    parser.add_argument("--warmup", type=int, default=100_000, help="steps before the baseline")
    parser.add_argument("--limit-mb", type=float, default=50.0)
    args = parser.parse_args()

    ensure_app()
    QSettings.setDefaultFormat(QSettings.Format.IniFormat)
    with tempfile.TemporaryDirectory() as folder:
        QSettings.setPath(QSettings.Format.IniFormat, QSettings.Scope.UserScope, folder)
        path = Path(folder) / "soak.csv"
        write_table(path)
        window = create_main_window()
        window.resize(1400, 880)
        window.show()
        if not window.load_csv(path, target="label"):
            raise SystemExit(f"could not load the table: {window.errors}")
        val, test = window.data_panel.splits()
        per_epoch = math.ceil(round(ROWS * (1 - val - test)) / args.batch)
        window.model_panel.set_layers([LayerSpec(16)])
        window.settings_panel.set_values(
            {"batch_size": args.batch, "epochs": math.ceil(args.steps / per_epoch),
             "early_stopping": 0, "device": "cpu", "learning_rate": 1e-4}
        )  # fmt: skip

        process, readings, step = psutil.Process(), [], [0]
        window.session.progress.connect(lambda batch: step.__setitem__(0, batch["global_step"]))
        timer = QTimer()
        timer.timeout.connect(
            lambda: readings.append((step[0], time.monotonic(), process.memory_info().rss))
        )
        timer.start(1000)
        loop = QEventLoop()
        window.training_finished.connect(lambda summary: loop.quit())
        start = time.monotonic()
        if not window.train():
            raise SystemExit(f"training did not start: {window.errors}")
        loop.exec()
        seconds = time.monotonic() - start
        timer.stop()
        window.close()

    mib = 1 << 20
    after = [(s, rss) for s, _, rss in readings if s >= args.warmup]
    if not after:
        raise SystemExit(f"the run ended before {args.warmup:,} steps: {step[0]:,} steps")
    base = after[0][1]
    steps = np.array([s for s, _ in after], dtype=np.float64)
    rss = np.array([r for _, r in after], dtype=np.float64) / mib
    slope = np.polyfit(steps, rss, 1)[0] * 100_000 if len(after) > 2 else 0.0
    growth = (max(r for _, r in after) - base) / mib
    print(f"steps {step[0]:,} in {seconds:,.0f} s ({step[0] / seconds:,.0f} steps/s), "
          f"batch {args.batch}, {len(readings)} memory readings")  # fmt: skip
    print(f"RSS at step {after[0][0]:,}: {base / mib:,.1f} MiB; after it: min {rss.min():,.1f}, "
          f"max {rss.max():,.1f}, last {rss[-1]:,.1f} MiB")  # fmt: skip
    print(f"growth after the warm-up: {growth:+.1f} MiB (limit {args.limit_mb:g}); "
          f"trend {slope:+.2f} MiB per 100,000 steps")  # fmt: skip
    return 0 if growth <= args.limit_mb else 1


if __name__ == "__main__":
    sys.exit(main())
