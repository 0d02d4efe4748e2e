"""The Runs tab with 10,000 runs in the store: loading, sorting and filtering, in the real window.

    QT_QPA_PLATFORM=offscreen python scripts/bench_runs_table.py [--runs 10000] [--epochs 5]
        [--repeat 5] [--store PATH]

Fills a run store in a temporary GPU_TRAINER_HOME through RunStore's own calls (create_run,
add_epoch per epoch, finish), with settings drawn at random from realistic choices (optimizer,
learning rate, batch size, layer shapes, data file, status, tags), then times, in the window's
Runs view shown offscreen: the store's one ``runs()`` query alone; loading the table (that
query, the model reset and the repaint); sorting by the best validation value; a text filter
(first after a load, before the cells' text is cached, and again); a hyperparameter filter;
clearing the filter. Each figure is the median of ``--repeat`` timings (min and max beside
it) and includes the repaint that follows (pending events processed).

Filling costs about half a millisecond per store call, so ``--epochs`` (history rows per run)
sets the fill time: 10,000 runs × 5 epochs take under a minute on a 2-core machine; the table
reads only the summary rows, so the history's length changes nothing measured here.
``--store`` keeps the filled store in a folder to reuse (filled only while it holds no runs).
"""

from __future__ import annotations

import argparse
import os
import random
import sqlite3
import statistics
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

from PySide6.QtCore import QSettings, Qt  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from engine.run.settings import OPTIMIZERS, TrainSettings  # noqa: E402
from engine.runs.store import RunStore  # noqa: E402
from gui.app import create_main_window, ensure_app  # noqa: E402
from gui.runs_model import COLUMNS  # noqa: E402

SHAPES = ((64, 32), (128, 64), (256, 256), (32,), (512, 256, 128), (64, 64, 64))
DATA = ("breast_cancer_8.csv", "customer_churn.csv", "diabetes.csv", "wine.csv")
TAGS = ("baseline", "lr-search", "keep", "sweep-3", "deep")
STATUSES = ("completed",) * 8 + ("stopped", "diverged", "failed")
TEXT_FILTER = "wine"
PARAM_FILTER = "optimizer=adam learning_rate<0.01 layers=64,32"


def random_run(rng: random.Random) -> dict:
    """The arguments of one run: settings, data, monitor."""
    activation = rng.choice(("relu", "relu", "gelu", "tanh"))
    layers = [{"units": u, "activation": activation, "dropout": rng.choice((0.0, 0.0, 0.1, 0.3))}
              for u in rng.choice(SHAPES)]  # fmt: skip
    settings = TrainSettings(
        optimizer=rng.choice(OPTIMIZERS),
        learning_rate=rng.choice((1e-4, 3e-4, 1e-3, 3e-3, 1e-2, 3e-2)),
        batch_size=rng.choice((16, 32, 64, 128, 256)),
        epochs=rng.choice((20, 50, 100, 200)),
        l2=rng.choice((0.0, 0.0, 1e-4, 1e-3)),
        seed=rng.randrange(1000),
    ).to_dict()
    settings["layers"] = layers
    data = rng.choice(DATA)
    regression = data == "diabetes.csv"
    return {
        "settings": settings,
        "data": {"path": f"/data/{data}", "rows": rng.randrange(500, 100_000)},
        "task": "regression" if regression else "classification",
        "monitor": "val_loss" if regression or rng.random() < 0.5 else "val_accuracy",
        "parameters": sum(u * 40 for u in (layer["units"] for layer in layers)),
    }


def fill(store: RunStore, runs: int, epochs: int, seed: int = 0) -> float:
    """Write ``runs`` runs of ``epochs`` epochs each; returns the seconds it took."""
    rng = random.Random(seed)
    started = time.perf_counter()
    # a second connection held open spares SQLite a WAL checkpoint at every store call's close
    keep = sqlite3.connect(store.path)
    try:
        keep.execute("SELECT count(*) FROM runs").fetchone()
        for i in range(runs):
            spec = random_run(rng)
            run_id = store.create_run(
                name=f"run {i:05d}", source=rng.choice(("app", "cli")), data=spec["data"],
                settings=spec["settings"], seed=spec["settings"]["seed"], environment={},
                task=spec["task"], target="y", monitor=spec["monitor"],
                parameters=spec["parameters"], device=rng.choice(("cpu", "gpu:0")),
            )  # fmt: skip
            loss = rng.uniform(0.3, 1.5)
            for epoch in range(epochs):
                loss *= rng.uniform(0.85, 1.05)
                val = loss * rng.uniform(1.0, 1.2)
                logs = {"loss": loss, "val_loss": val, "accuracy": 1 - loss / 3,
                        "val_accuracy": 1 - val / 3, "lr": 1e-3}  # fmt: skip
                store.add_epoch(run_id, epoch, (epoch + 1) * 50, rng.uniform(0.2, 3.0), logs)
            if rng.random() < 0.3:
                store.update(run_id, tags=rng.sample(TAGS, rng.randint(1, 2)))
            store.finish(run_id, rng.choice(STATUSES), test_metric=rng.uniform(0.5, 0.99),
                         energy_j=rng.uniform(10, 50_000))  # fmt: skip
            if (i + 1) % 1000 == 0:
                print(f"  {i + 1:,} runs written", flush=True)
    finally:
        keep.close()
    return time.perf_counter() - started


def timed(app, action) -> float:
    """Seconds from the action to the end of the repaint it causes."""
    started = time.perf_counter()
    action()
    app.processEvents()
    return time.perf_counter() - started


def measure(app, view, repeat: int) -> dict[str, list[float]]:
    best = next(i for i, column in enumerate(COLUMNS) if column.header == "Best validation")
    figures: dict[str, list[float]] = {}

    def add(name: str, seconds: float) -> None:
        figures.setdefault(name, []).append(seconds)

    def text(value: str):
        def apply() -> None:
            view.filter_edit.setText(value)
            view.apply_filter()  # as Enter does; typing applies it after a 150 ms pause

        return apply

    def sort(direction):
        return lambda: view.table.sortByColumn(best, direction)

    def clear() -> None:
        text("")()
        app.processEvents()

    order = Qt.SortOrder
    for i in range(repeat):
        clear()
        add("store query alone (runs())", timed(app, view.store.runs))
        add("load the table (query + model + paint)", timed(app, view.refresh))
        direction = order.AscendingOrder if i % 2 == 0 else order.DescendingOrder
        add("sort by best validation", timed(app, sort(direction)))
        add(f"text filter {TEXT_FILTER!r}, first", timed(app, text(TEXT_FILTER)))
        shown = view.proxy.rowCount()
        add("clear the filter", timed(app, text("")))
        add(f"text filter {TEXT_FILTER!r}, again", timed(app, text(TEXT_FILTER)))
        clear()
        add(f"filter {PARAM_FILTER!r}", timed(app, text(PARAM_FILTER)))
        matched = view.proxy.rowCount()
    print(f"rows in the table: {view.model.rowCount():,}; {TEXT_FILTER!r} shows {shown:,}; "
          f"the hyperparameter filter shows {matched:,}")  # fmt: skip
    return figures


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=10_000)
    parser.add_argument("--epochs", type=int, default=5, help="history rows per run")
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--store", type=Path, help="folder to keep (and reuse) the store in")
    args = parser.parse_args(argv)
    print("command: QT_QPA_PLATFORM=offscreen python scripts/bench_runs_table.py "
          + " ".join(argv if argv is not None else sys.argv[1:]))  # fmt: skip
    print(f"machine: {os.cpu_count()} CPU(s), Python {sys.version.split()[0]}")
    with tempfile.TemporaryDirectory() as folder:
        home = args.store or Path(folder) / "home"
        os.environ["GPU_TRAINER_HOME"] = str(home)
        store = RunStore()
        if not store.runs():
            print(f"filling a store with {args.runs:,} runs × {args.epochs} epochs…")
            seconds = fill(store, args.runs, args.epochs)
            print(f"filled in {seconds:.1f} s ({store.path.stat().st_size / 2**20:.1f} MiB)")
        app = ensure_app()
        QSettings.setDefaultFormat(QSettings.Format.IniFormat)
        QSettings.setPath(QSettings.Format.IniFormat, QSettings.Scope.UserScope, folder)
        window = create_main_window()
        window.show()
        window.result_tabs.setCurrentWidget(window.runs_view)  # the first load happens here
        app.processEvents()
        figures = measure(app, window.runs_view, args.repeat)
        window.close()
    width = max(map(len, figures))
    print(f"\n{'operation':<{width}}  median ms     min     max  (over {args.repeat} repeats)")
    for name, values in figures.items():
        ms = [v * 1e3 for v in values]
        print(f"{name:<{width}}  {statistics.median(ms):9.1f} {min(ms):7.1f} {max(ms):7.1f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
