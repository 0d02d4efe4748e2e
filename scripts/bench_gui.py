"""Training throughput with the window open vs. headless, and GUI responsiveness meanwhile.

    QT_QPA_PLATFORM=offscreen python scripts/bench_gui.py [--steps 600] [--device auto]

The medium reference workload of GUIDE §5 (100,000 × 50 standard-normal features, label =
sum of the first three > 0; ReLU 256-256, sigmoid head, Adam 1e-3, batch 256), cut to a fixed
number of steps (``--steps``, within its two epochs) so that it finishes on a 2-core CPU.
Both sides train the same prepared data through the same engine job; data loading and the
first ``WARMUP`` steps are excluded. Headless and window runs alternate (``--rounds``) and the
ratio compares their medians, because shared machines drift. Responsiveness: a 10 ms QTimer runs in
the GUI thread during the window run; its lateness (interval − 10 ms) is reported as p50/p99,
with the GUI thread's own CPU time, which other jobs on a shared machine disturb much less.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
from PySide6.QtCore import QEventLoop, QSettings, Qt, QTimer  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from engine.data import infer_schema, read_csv  # noqa: E402
from engine.job import LayerSpec, TrainingJob, TrainSettings, prepare  # noqa: E402
from gui.app import create_main_window, ensure_app  # noqa: E402

ROWS, FEATURES, BATCH, WARMUP = 100_000, 50, 256, 20


def write_workload(path: Path) -> None:
    rng = np.random.default_rng(0)
    x = rng.standard_normal((ROWS, FEATURES), dtype=np.float32)
    frame = pd.DataFrame(x, columns=[f"x{i}" for i in range(FEATURES)])
    frame["label"] = (x[:, :3].sum(axis=1) > 0).astype(np.int8)
    frame.to_csv(path, index=False, float_format="%.5f")


def settings(device: str) -> TrainSettings:
    return TrainSettings(
        layers=[LayerSpec(256), LayerSpec(256)],
        optimizer="adam",
        learning_rate=1e-3,
        batch_size=BATCH,
        epochs=2,
        early_stopping=0,
        seed=0,
        device=device,
        val_split=0.05,
        test_split=0.05,
    )


def headless(path: Path, steps: int, device: str) -> float:
    """Samples per second of ``steps`` trainer steps in a plain loop."""
    table = read_csv(path)
    schema = infer_schema(table.frame, target="label", source=table.name)
    job = TrainingJob(prepare(table, schema, settings(device)), settings(device))
    trainer = job.trainer
    for _ in range(WARMUP):
        trainer.step()
    job.model.backend.synchronize()
    t0 = time.perf_counter()
    for _ in range(steps):
        trainer.step()
    trainer.drain_losses()
    return steps * BATCH / (time.perf_counter() - t0)


def wait_until(condition, timeout_s: float) -> None:
    deadline = time.monotonic() + timeout_s
    loop = QEventLoop()
    while not condition() and time.monotonic() < deadline:
        QTimer.singleShot(5, loop.quit)
        loop.exec()


def with_window(path: Path, steps: int, device: str) -> tuple[float, np.ndarray, float]:
    """(samples per second, timer lateness in ms, GUI-thread CPU share of one core) with the
    app window training live."""
    window = create_main_window()
    window.resize(1400, 880)
    window.show()
    if not window.load_csv(path, target="label"):
        raise SystemExit(f"could not load the workload: {window.errors}")
    s = settings(device)
    window.model_panel.set_layers(s.layers)
    window.settings_panel.set_values(
        {"batch_size": BATCH, "epochs": 2, "learning_rate": 1e-3, "patience": 0, "device": device}
    )
    window.data_panel.val_spin.setValue(s.val_split)
    window.data_panel.test_spin.setValue(s.test_split)

    marks: list[tuple[int, float, int]] = []  # (global step, time, samples) per batch
    window.session.progress.connect(
        lambda b: marks.append((b["global_step"], b["time"], b["samples"]))
    )
    ticks: list[float] = []
    timer = QTimer()
    timer.setTimerType(Qt.TimerType.PreciseTimer)
    timer.timeout.connect(lambda: ticks.append(time.perf_counter()))
    window.train()
    wait_until(lambda: marks and marks[-1][0] >= WARMUP, 600)
    timer.start(10)
    first, cpu0 = marks[-1], time.thread_time()
    wait_until(lambda: marks[-1][0] >= first[0] + steps, 600)
    timer.stop()
    last, cpu = marks[-1], time.thread_time() - cpu0
    window.stop()
    wait_until(lambda: not window.is_training(), 600)
    window.close()
    lateness = np.diff(np.asarray(ticks)) * 1000.0 - 10.0
    seconds = last[1] - first[1]
    return (last[2] - first[2]) / seconds, lateness, cpu / seconds


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=600, help="timed steps (default 600)")
    parser.add_argument("--device", default="auto", help="auto, cpu or gpu")
    parser.add_argument(
        "--rounds", type=int, default=5, help="window runs, each between two headless runs"
    )
    args = parser.parse_args()
    ensure_app()
    headless_runs, window_runs, lateness, gui_cpu = [], [], [], []
    with tempfile.TemporaryDirectory() as folder:
        QSettings.setDefaultFormat(QSettings.Format.IniFormat)
        QSettings.setPath(QSettings.Format.IniFormat, QSettings.Scope.UserScope, folder)
        path = Path(folder) / "medium.csv"
        write_workload(path)
        headless_runs.append(headless(path, args.steps, args.device))
        for _ in range(args.rounds):
            rate, late, cpu = with_window(path, args.steps, args.device)
            window_runs.append(rate)
            lateness.append(late)
            gui_cpu.append(cpu)
            headless_runs.append(headless(path, args.steps, args.device))
    lateness = np.concatenate(lateness)
    base, windowed = float(np.median(headless_runs)), float(np.median(window_runs))
    print(f"workload: medium, {args.steps} timed steps of batch {BATCH}, device {args.device}")
    print(f"headless runs:    {', '.join(f'{r:,.0f}' for r in headless_runs)} samples/s")
    print(f"window-open runs: {', '.join(f'{r:,.0f}' for r in window_runs)} samples/s")
    print(f"median window open / median headless: {windowed / base:.1%}")
    p50, p99 = np.percentile(lateness, [50, 99])
    print(
        f"10 ms timer lateness over {len(lateness)} ticks: p50 {p50:.1f} ms, "
        f"p99 {p99:.1f} ms, max {lateness.max():.1f} ms"
    )
    print(f"GUI thread CPU while training: {', '.join(f'{c:.0%}' for c in gui_cpu)} of one core")
    print(f"load average at the end: {', '.join(f'{v:.2f}' for v in os.getloadavg())}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
