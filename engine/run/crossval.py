"""K-fold cross-validation of one set of settings: how well they train, with a spread.

```python
result = cross_validate(table, schema, settings, folds=5)
result["metrics"]["accuracy"]   # {"mean": 0.95, "std": 0.01, "folds": [0.94, ...]}
```

Each fold is a run of its own: the preprocessing and (for regression) the target scaling are
fitted on that fold's training rows only, its validation rows for early stopping come from
those training rows, and it is tested on the fold's held-out rows. Classification folds are
stratified (each class split in the same proportions). Qt-free: the app and the CLI drive it
with ``on_step`` (progress) and ``should_stop`` (cancel), asked between mini-batches.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable

import numpy as np
import pandas as pd

from engine.data.reader import CsvTable
from engine.data.schema import Schema, infer_schema
from engine.data.target import TargetEncoder
from engine.errors import DataError, UserError
from engine.nn.seeding import stream_seed
from engine.run.job import TrainingJob
from engine.run.prepare import prepare
from engine.run.settings import LIMITS, TrainSettings

# per-fold figures that are counts or settings, not scores
_NOT_SCORES = ("n", "threshold")


class CrossValidationStopped(Exception):
    """``should_stop()`` said yes: the folds were not all run."""


def check_folds(folds: int, classes: np.ndarray | None, labels: list, source: str) -> None:
    """Raise :class:`UserError` unless ``folds`` is allowed: within ``LIMITS["cv_folds"]``, at
    most the rows (``classes``: class index per row ``(n,)``), and for stratified folds at most
    the rows of the smallest class (``labels[i]`` names class ``i``)."""
    low, high = LIMITS["cv_folds"]
    if (
        not isinstance(folds, int | np.integer)
        or isinstance(folds, bool)
        or not low <= folds <= high
    ):
        raise UserError(f"cross-validation takes {low} to {high} folds, not {folds}")
    if classes is None:
        return
    counts = np.bincount(classes, minlength=len(labels))
    smallest = int(np.argmin(counts))
    if counts[smallest] < folds:
        raise UserError(
            f"{source}: {folds} stratified folds need at least {folds} rows of each class, "
            f"and class {labels[smallest]!r} has {int(counts[smallest])}; use at most "
            f"{max(int(counts[smallest]), 1)} folds or add rows of that class"
        )


def fold_rows(
    n_rows: int, folds: int, seed: int | None, classes: np.ndarray | None = None
) -> list[tuple[np.ndarray, np.ndarray]]:
    """``[(train, test), ...]`` row positions of each fold, shuffled with ``seed``; stratified
    by ``classes`` (int class index per row, ``(n_rows,)``) when given."""
    from sklearn.model_selection import KFold, StratifiedKFold

    # sklearn wants a 32-bit seed; the split's stream of the run's seed gives one
    random_state = stream_seed(seed, "split") % 2**32
    if classes is None:
        splitter = KFold(folds, shuffle=True, random_state=random_state)
        return list(splitter.split(np.zeros((n_rows, 1))))
    splitter = StratifiedKFold(folds, shuffle=True, random_state=random_state)
    return list(splitter.split(np.zeros((n_rows, 1)), classes))


def summarise(reports: list[dict]) -> dict:
    """``{name: {"mean", "std", "folds": [...]}}`` of each score every report has (its
    numbers other than counts); ``std`` is NumPy's (``ddof=0``) over the folds."""
    names = [
        k
        for k, v in reports[0].items()
        if k not in _NOT_SCORES and isinstance(v, int | float) and not isinstance(v, bool)
    ]
    names = [k for k in names if all(isinstance(r.get(k), int | float) for r in reports)]
    summary = {}
    for name in names:
        values = np.array([float(r[name]) for r in reports], dtype=np.float64)
        finite = bool(np.isfinite(values).all())
        summary[name] = {
            "mean": float(values.mean()) if finite else math.nan,
            "std": float(values.std()) if finite else math.nan,
            "folds": values.tolist(),
        }
    return summary


def cross_validate(
    data: CsvTable | pd.DataFrame,
    schema: Schema | None,
    settings: TrainSettings,
    folds: int,
    on_step: Callable[[int, TrainingJob, object], None] | None = None,
    should_stop: Callable[[], bool] | None = None,
) -> dict:
    """Train and test ``settings`` on each of ``folds`` folds of ``data``'s rows.

    ``on_step(fold, job, record)`` after every mini-batch (``fold`` 0-based); ``should_stop()``
    between mini-batches: true raises :class:`CrossValidationStopped`. Returns (JSON-safe,
    NaN where a fold's score is undefined) ``{"folds", "task", "stratified", "seconds",
    "rows": [test rows per fold], "metrics": summarise(...)}``. Raises :class:`UserError`
    for a fold count the data cannot give.
    """
    if isinstance(data, CsvTable):
        frame, source = data.frame, data.name
    else:
        frame, source = data, "the data"
    schema = schema or infer_schema(frame, source=source)
    schema.check(source)
    target_column = frame[schema.target]
    target = TargetEncoder.fit(target_column, schema.task)
    target_column = target_column[target.valid_rows(target_column)]
    classes = None
    if schema.task == "classification":
        classes = target.class_indices(target_column)
    check_folds(folds, classes, target.labels, source)
    if len(target_column) < 2 * folds:
        raise DataError(
            f"{source}: {len(target_column)} rows with a target are too few for {folds} folds; "
            f"use at most {len(target_column) // 2} folds"
        )
    start = time.monotonic()
    reports = []
    for fold, rows in enumerate(fold_rows(len(target_column), folds, settings.seed, classes)):
        job = TrainingJob(prepare(data, schema, settings, rows=rows), settings)
        for record in job.trainer:
            if on_step is not None:
                on_step(fold, job, record)
            if should_stop is not None and should_stop():
                job.trainer.stop()
                raise CrossValidationStopped(f"stopped in fold {fold + 1} of {folds}")
        reports.append(job.evaluate())
    return {
        "folds": folds,
        "task": schema.task,
        "stratified": classes is not None,
        "seconds": round(time.monotonic() - start, 3),
        "rows": [int(r["n"]) for r in reports],
        "metrics": summarise(reports),
    }
