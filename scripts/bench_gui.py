"""Training throughput with the window open vs. headless, and GUI responsiveness meanwhile.

    QT_QPA_PLATFORM=offscreen python scripts/bench_gui.py [--device auto]

The medium reference workload of GUIDE §5 (100,000 × 50 standard-normal features, label =
sum of the first three > 0; ReLU 256-256, sigmoid head, Adam 1e-3, batch 256), cut to a fixed
number of steps. Both sides train the same prepared data through the same engine job; data
loading and the first ``WARMUP`` steps after each start or resume are excluded.

Shared machines drift: on this project's 2-core machines the same headless run varies by
±30 % from one run to the next, in phases that last seconds to minutes. So the figure to read
is the interleaved one (``--pairs`` × ``--pair-steps``): in one process the window trains
live for a segment, is paused, and the same process trains a second job in a plain loop in
the GUI thread (nothing is drawn meanwhile); each pair is measured within about two seconds,
and the median of the per-pair ratios comes with a 95 % bootstrap interval. Separate
alternating runs (``--rounds`` × ``--steps``) are reported too; their ratio swings with the
machine's phases.

Also reported: the window's own CPU use while it shows a run's progress without training
(``--cost-seconds``), which is what the window takes from training, free of that noise; and,
in separate window runs (``--probe-rounds``), the lateness of a 10 ms QTimer in the GUI thread
(interval − 10 ms) as p50/p99. The probe is off during the throughput runs: waking the GUI
thread 100 times a second is work no user's window does, and on 2 cores it alone costs the
training a tenth of its speed.
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
from PySide6.QtCore import QEventLoop, QSettings, Qt, QTimer  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from engine.data import infer_schema, read_csv  # noqa: E402
from engine.run.job import TrainingJob  # noqa: E402
from engine.run.prepare import prepare  # noqa: E402
from engine.run.settings import LayerSpec, TrainSettings  # noqa: E402
from gui.app import create_main_window, ensure_app  # noqa: E402
from gui.worker import EMIT_HZ  # noqa: E402

ROWS, FEATURES, BATCH, WARMUP = 100_000, 50, 256, 20
SLACK = 400  # steps


def write_workload(path: Path) -> None:
    rng = np.random.default_rng(0)
    x = rng.standard_normal((ROWS, FEATURES), dtype=np.float32)
    frame = pd.DataFrame(x, columns=[f"x{i}" for i in range(FEATURES)])
    frame["label"] = (x[:, :3].sum(axis=1) > 0).astype(np.int8)
    frame.to_csv(path, index=False, float_format="%.5f")


def epochs_for(steps: int) -> int:
    """The workload's two epochs, or as many more as ``steps`` timed steps need."""
    per_epoch = math.ceil(ROWS * 0.9 / BATCH)  # 5% validation, 5% test
    # slack for the first progress mark after the warm-up, which lands up to a report apart
    return max(2, math.ceil((steps + WARMUP + SLACK) / per_epoch))


def settings(device: str, steps: int) -> TrainSettings:
    return TrainSettings(
        layers=[LayerSpec(256), LayerSpec(256)],
        optimizer="adam",
        learning_rate=1e-3,
        batch_size=BATCH,
        epochs=epochs_for(steps),
        early_stopping=0,
        seed=0,
        device=device,
        val_split=0.05,
        test_split=0.05,
    )


def plain_trainer(path: Path, device: str, steps: int):
    """The engine trainer for the workload, as the CLI builds it (no Qt involved)."""
    table = read_csv(path)
    schema = infer_schema(table.frame, target="label", source=table.name)
    return TrainingJob(
        prepare(table, schema, settings(device, steps)), settings(device, steps)
    ).trainer


def headless(path: Path, steps: int, device: str) -> float:
    """Samples per second of ``steps`` trainer steps in a plain loop."""
    return timed_steps(plain_trainer(path, device, steps), steps)


def timed_steps(trainer, steps: int) -> float:
    """Samples per second of ``steps`` steps of ``trainer``, after ``WARMUP`` untimed ones."""
    for _ in range(WARMUP):
        trainer.step()
    trainer.drain_losses()
    trainer.model.backend.synchronize()
    t0 = time.perf_counter()
    for _ in range(steps):
        trainer.step()
    trainer.drain_losses()
    return steps * BATCH / (time.perf_counter() - t0)


def wait_until(condition, timeout_s: float, signal=None) -> None:
    """Run the event loop until ``condition()`` holds, checking it each time ``signal``
    fires (or every 50 ms without one): the harness itself must not keep the GUI thread
    busy polling, or it measures its own cost."""
    if condition():
        return
    loop = QEventLoop()

    def check(*_):
        if condition():
            loop.quit()

    poll = QTimer()
    poll.timeout.connect(check)
    poll.start(50 if signal is None else 1000)
    if signal is not None:
        signal.connect(check)
    QTimer.singleShot(round(timeout_s * 1000), loop.quit)
    loop.exec()
    poll.stop()
    if signal is not None:
        signal.disconnect(check)


def window_cost(path: Path, seconds: float, device: str) -> tuple[float, float]:
    """(whole process, GUI thread) CPU, in shares of one core, of the window showing a run
    without training: the session's signals replay a medium run's progress at the worker's
    rate (about 500 steps/s). This is what the window takes from training, free of the
    training's noise."""
    from engine.backend import get_backend

    window, _ = _training_window(path, 1000, device)
    per_epoch = math.ceil(ROWS * 0.9 / BATCH)
    session, t0 = window.session, time.monotonic()
    history = {"loss": [], "accuracy": [], "val_loss": [], "val_accuracy": []}
    info = {"epochs": 50, "total_steps": 50 * per_epoch, "task": "classification", "t0": t0,
            "history": history, "steps_per_epoch": per_epoch}  # fmt: skip
    session.started.emit({**info, "backend": get_backend(device)})
    rng = np.random.default_rng(0)
    step, per_report = 0, round(500 / EMIT_HZ)

    def report():
        nonlocal step
        steps = np.arange(step, step + per_report)
        step += per_report
        losses = (0.7 * np.exp(-steps / 3000) + 0.05 * rng.random(per_report)).astype("f4")
        if step // per_epoch > (step - per_report) // per_epoch:
            logs = {"loss": 0.3, "accuracy": 0.9, "val_loss": 0.31, "val_accuracy": 0.89}
            for key, value in logs.items():
                history[key].append(value)
        session.progress.emit(
            {"steps": steps, "losses": losses, "global_step": step,
             "epoch": step // per_epoch, "samples": step * BATCH, "time": time.monotonic()}
        )  # fmt: skip

    timer = QTimer()
    timer.timeout.connect(report)
    timer.start(round(1000 / EMIT_HZ))
    _idle(3.0)  # the plots fill and the frame budget settles
    cpu, gui, start = time.process_time(), time.thread_time(), time.monotonic()
    _idle(seconds)
    elapsed = time.monotonic() - start
    timer.stop()
    window.live.shutdown()
    window.close()
    return (time.process_time() - cpu) / elapsed, (time.thread_time() - gui) / elapsed


def _idle(seconds: float) -> None:
    loop = QEventLoop()
    QTimer.singleShot(round(seconds * 1000), loop.quit)
    loop.exec()


def interleaved(path: Path, steps: int, device: str, pairs: int) -> list[tuple[float, float]]:
    """(window, headless) samples/s for ``pairs`` pairs of ``steps``-step segments.

    The window trains live; between its segments it is paused and the same process trains a
    second job in a plain loop in the GUI thread (nothing is drawn meanwhile). Each pair is
    measured within about two seconds, so the machine's slow drift cancels out of its ratio,
    and the order alternates (window first, then headless first) so a steady drift does too.
    Each side warms up for ``WARMUP`` steps before its clock starts, and the window's GUI
    catches up on what queued while it was paused before the window resumes.
    """
    # each segment, the warm-up after each resume, and what the reports overshoot by
    total = 2 * (steps + WARMUP) * (pairs + 1)
    plain = plain_trainer(path, device, total)
    window, marks = _training_window(path, total, device)
    progress = window.session.progress

    def reached(step: int) -> bool:
        return marks[-1][0] >= step or not window.is_training()

    def pause() -> None:
        window.toggle_pause()
        wait_until(lambda: window.session.state == "paused", 60, window.session.state_changed)

    def window_segment() -> float:
        _idle(0.3)  # the GUI's backlog from the plain segment, before the window's clock
        until = marks[-1][0] + WARMUP
        window.toggle_pause()
        wait_until(lambda: reached(until), 600, progress)
        first = marks[-1]
        wait_until(lambda: reached(first[0] + steps), 600, progress)
        last = marks[-1]
        if not window.is_training():
            raise SystemExit(f"the window's run ended early, at step {last[0]}")
        pause()
        return (last[2] - first[2]) / (last[1] - first[1])

    window.train()
    wait_until(lambda: marks and marks[-1][0] >= WARMUP, 600, progress)
    pause()
    results = []
    for i in range(pairs):
        if i % 2 == 0:
            rate = window_segment()
            results.append((rate, timed_steps(plain, steps)))
        else:
            rate = timed_steps(plain, steps)
            results.append((window_segment(), rate))
    window.stop()
    wait_until(lambda: not window.is_training(), 600)
    window.close()
    return results


def _training_window(path: Path, steps: int, device: str):
    """The app window with the workload loaded and set up, and its list of progress marks
    ``(global step, time, samples)``, one per batch the worker emits."""
    window = create_main_window()
    window.resize(1400, 880)
    window.show()
    if not window.load_csv(path, target="label"):
        raise SystemExit(f"could not load the workload: {window.errors}")
    s = settings(device, steps)
    window.model_panel.set_layers(s.layers)
    window.settings_panel.set_values(
        {
            "batch_size": BATCH,
            "epochs": s.epochs,
            "learning_rate": 1e-3,
            "early_stopping": 0,
            "device": device,
        }
    )
    window.data_panel.val_spin.setValue(s.val_split)
    window.data_panel.test_spin.setValue(s.test_split)
    marks: list[tuple[int, float, int]] = []
    window.session.progress.connect(
        lambda b: marks.append((b["global_step"], b["time"], b["samples"]))
    )
    return window, marks


def with_window(
    path: Path, steps: int, device: str, probe: bool
) -> tuple[float, np.ndarray, float]:
    """(samples per second, timer lateness in ms, GUI-thread CPU share of one core) with the
    app window training live; the 10 ms probe timer runs only when ``probe``."""
    window, marks = _training_window(path, steps, device)
    ticks: list[float] = []
    timer = QTimer()
    timer.setTimerType(Qt.TimerType.PreciseTimer)
    timer.timeout.connect(lambda: ticks.append(time.perf_counter()))
    window.train()
    progress = window.session.progress
    wait_until(lambda: marks and marks[-1][0] >= WARMUP, 600, progress)
    if probe:
        timer.start(10)
    first, cpu0 = marks[-1], time.thread_time()
    until = first[0] + steps
    wait_until(lambda: marks[-1][0] >= until or not window.is_training(), 600, progress)
    if marks[-1][0] < until:
        raise SystemExit(f"the window's run ended early, at step {marks[-1][0]} of {until}")
    timer.stop()
    last, cpu = marks[-1], time.thread_time() - cpu0
    window.stop()
    wait_until(lambda: not window.is_training(), 600)
    window.close()
    lateness = np.diff(np.asarray(ticks)) * 1000.0 - 10.0
    seconds = last[1] - first[1]
    return (last[2] - first[2]) / seconds, lateness, cpu / seconds


def bootstrap_median(values: np.ndarray, draws: int = 10_000) -> tuple[float, float]:
    """A 95 % bootstrap interval for the median of ``values``."""
    rng = np.random.default_rng(0)
    resampled = rng.choice(values, size=(draws, len(values)), replace=True)
    return tuple(np.percentile(np.median(resampled, axis=1), [2.5, 97.5]))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--steps", type=int, default=1400, help="timed steps of each separate run (default 1400)"
    )
    parser.add_argument("--device", default="auto", help="auto, cpu or gpu")
    parser.add_argument(
        "--rounds", type=int, default=8, help="window runs, each between two headless runs"
    )
    parser.add_argument(
        "--pairs", type=int, default=40, help="interleaved window/headless segment pairs"
    )
    parser.add_argument(
        "--pair-steps", type=int, default=500, help="timed steps per interleaved segment"
    )
    parser.add_argument(
        "--cost-seconds",
        type=float,
        default=15.0,
        help="seconds of the window's own CPU use, replaying progress without training",
    )
    parser.add_argument(
        "--probe-rounds", type=int, default=3, help="window runs with the 10 ms probe timer"
    )
    args = parser.parse_args()
    ensure_app()
    headless_runs, window_runs, probe_runs, lateness, gui_cpu = [], [], [], [], []
    with tempfile.TemporaryDirectory() as folder:
        QSettings.setDefaultFormat(QSettings.Format.IniFormat)
        QSettings.setPath(QSettings.Format.IniFormat, QSettings.Scope.UserScope, folder)
        path = Path(folder) / "medium.csv"
        write_workload(path)
        if args.rounds or args.probe_rounds:
            headless_runs.append(headless(path, args.steps, args.device))
        for _ in range(args.rounds):
            rate, _, cpu = with_window(path, args.steps, args.device, probe=False)
            window_runs.append(rate)
            gui_cpu.append(cpu)
            headless_runs.append(headless(path, args.steps, args.device))
        pairs = interleaved(path, args.pair_steps, args.device, args.pairs) if args.pairs else []
        for _ in range(args.probe_rounds):
            rate, late, _ = with_window(path, args.steps, args.device, probe=True)
            probe_runs.append(rate)
            lateness.append(late)
        cost = window_cost(path, args.cost_seconds, args.device) if args.cost_seconds else None
    lateness = np.concatenate(lateness) if lateness else np.zeros(0)
    print(f"workload: medium, {args.steps} timed steps of batch {BATCH}, device {args.device}")
    base = float(np.median(headless_runs)) if headless_runs else math.nan
    if window_runs:
        print(f"headless runs:    {', '.join(f'{r:,.0f}' for r in headless_runs)} samples/s")
        print(f"window-open runs: {', '.join(f'{r:,.0f}' for r in window_runs)} samples/s")
        print(f"median window open / median headless: {np.median(window_runs) / base:.1%}")
        # each window run against the mean of the headless runs either side of it
        paired = [
            w / ((a + b) / 2) for w, a, b in zip(window_runs, headless_runs, headless_runs[1:])
        ]
        q1, q3 = np.percentile(paired, [25, 75])
        print(
            f"each window run / its neighbouring headless runs: median {np.median(paired):.1%} "
            f"(interquartile {q1:.1%}–{q3:.1%})"
        )
    if pairs:
        ratios = np.array([w / h for w, h in pairs])
        q1, q3 = np.percentile(ratios, [25, 75])
        low, high = bootstrap_median(ratios)
        print(
            f"interleaved in one process, {len(pairs)} pairs of {args.pair_steps} steps: window "
            f"{np.median([w for w, _ in pairs]):,.0f}, headless "
            f"{np.median([h for _, h in pairs]):,.0f} samples/s (medians); window / headless "
            f"per pair: median {np.median(ratios):.1%} (95 % interval of the median "
            f"{low:.1%}–{high:.1%}; interquartile {q1:.1%}–{q3:.1%})"
        )
        print(f"  pairs: {', '.join(f'{r:.0%}' for r in ratios)}")
    if cost is not None:
        print(
            f"the window's own CPU while showing a run's progress (no training, "
            f"{args.cost_seconds:.0f} s): {cost[0]:.1%} of one core, GUI thread {cost[1]:.1%}"
        )
    if gui_cpu:
        print(
            f"GUI thread CPU while training: {', '.join(f'{c:.0%}' for c in gui_cpu)} of one core"
        )
    print(f"load average at the end: {', '.join(f'{v:.2f}' for v in os.getloadavg())}")
    if not len(lateness):
        return 0
    p50, p99 = np.percentile(lateness, [50, 99])
    print(
        f"10 ms timer lateness over {len(lateness)} ticks ({len(probe_runs)} separate window "
        f"runs): p50 {p50:.1f} ms, p99 {p99:.1f} ms, max {lateness.max():.1f} ms"
    )
    print(
        f"  throughput of those runs, with the probe waking the GUI thread 100 times a second: "
        f"{', '.join(f'{r / base:.0%}' for r in probe_runs)} of the median headless"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
