"""Permutation feature importance per raw input column: how much the score drops when one
column's values are shuffled among the rows (Breiman 2001), over several seeded repeats.

scikit-learn's ``permutation_importance`` shuffles and repeats; this module hands it the raw
rows (one column per CSV column, so a categorical's one-hot block or a date's parts move as
one) and a model that predicts from them, and scores as ``scripts/bench_quality.py`` does:
ROC AUC for two classes, accuracy for more, R² for regression.

```python
result = explain(load_model("model.safetensors"), frame)   # frame has the target column
result = explain(job_predictor(job), job.data.test_frame(), source="the test split")
```
"""

from __future__ import annotations

import math
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd

from engine.data.display import name_text, names_text
from engine.errors import DataError
from engine.io.predictor import Predictor
from engine.run.settings import EXPLAIN_REPEATS, EXPLAIN_ROWS

METRIC_LABELS = {"roc_auc": "ROC AUC", "accuracy": "accuracy", "r2": "R²"}


class Cancelled(Exception):
    """The caller's ``cancelled()`` hook asked to stop; no result is returned."""


def job_predictor(job) -> Predictor:
    """A finished :class:`~engine.run.job.TrainingJob` as a model file would load it: its own
    copy of the network on the CPU, so explaining never touches the job's model."""
    sections = {"architecture": job.model.get_config(), **job.data.pipeline.to_sections()}
    weights = [np.asarray(w) for w in job.model.get_weights()]
    return Predictor(Path(job.data.source), weights, sections)


def explain(
    predictor: Predictor,
    frame: pd.DataFrame,
    *,
    n_repeats: int = EXPLAIN_REPEATS,
    seed: int = 0,
    max_rows: int | None = EXPLAIN_ROWS,
    source: str = "the data",
    progress: Callable[[int, int], None] | None = None,
    cancelled: Callable[[], bool] | None = None,
) -> dict:
    """Importance of each of the model's input columns on the rows of ``frame``.

    ``frame``: raw rows with the model's input columns and its target column; rows without
    a target value are skipped, and beyond ``max_rows`` a seeded sample of that many is
    scored. ``progress(done, total)`` is called after each scoring pass (``total`` =
    1 + columns x repeats); ``cancelled()`` is asked before each and raises
    :class:`Cancelled` when true. Returns JSON-safe ``metric``, ``metric_label``,
    ``baseline``, ``target``, ``rows``, ``rows_total``, ``repeats``, ``seed`` and
    ``columns``: ``[{column, importance_mean, importance_std, importances}]`` (importance =
    baseline score - score with the column shuffled; ``importances`` per repeat), most
    important first. A score that cannot be computed (non-finite predictions) is None.
    """
    from sklearn.inspection import permutation_importance

    pipeline = predictor.pipeline
    x, truth, rows_total = _rows(pipeline, frame, max_rows, seed, source)
    metric = _metric(pipeline, truth)
    total = 1 + x.shape[1] * n_repeats
    scores: list[float] = []  # the first is the baseline: sklearn scores the rows as given first

    def scorer(estimator, rows: pd.DataFrame, y: np.ndarray) -> float:
        if cancelled is not None and cancelled():
            raise Cancelled
        scores.append(_score(metric, pipeline, estimator.predict(rows), y))
        if progress is not None:
            progress(len(scores), total)
        return scores[-1]

    found = permutation_importance(
        _Estimator(predictor), x, truth, scoring=scorer, n_repeats=n_repeats, random_state=seed
    )
    columns = [
        {
            "column": str(name),
            "importance_mean": _finite(found.importances_mean[j]),
            "importance_std": _finite(found.importances_std[j]),
            "importances": [_finite(v) for v in found.importances[j]],
        }
        for j, name in enumerate(x.columns)
    ]
    columns.sort(key=lambda c: (c["importance_mean"] is None, -(c["importance_mean"] or 0.0)))
    return {
        "metric": metric,
        "metric_label": METRIC_LABELS[metric],
        "baseline": _finite(scores[0]),
        "target": pipeline.target_name,
        "rows": int(len(x)),
        "rows_total": rows_total,
        "repeats": int(n_repeats),
        "seed": int(seed),
        "columns": columns,
    }


class _Estimator:
    """What ``permutation_importance`` calls: raw rows in, the predictor's columns out."""

    def __init__(self, predictor: Predictor):
        self.predictor = predictor

    def fit(self, x, y=None) -> _Estimator:  # sklearn asks for it; the model is trained
        return self

    def predict(self, rows: pd.DataFrame) -> pd.DataFrame:
        return self.predictor.predict(rows)


def _rows(pipeline, frame: pd.DataFrame, max_rows, seed: int, source: str):
    """``(x, truth, rows_total)``: the input columns of the rows with a target (a seeded
    sample of ``max_rows`` of them, in their order) and the truth per row: class indices
    ``(n,)`` int64 or values ``(n,)`` float64."""
    target = pipeline.target_name
    if target not in frame.columns:
        raise DataError(
            f"{source} has no column {name_text(target)}, the model's target; "
            "add it to score the model"
        )
    missing = [c for c in pipeline.input_columns if c not in frame.columns]
    if missing:
        raise DataError(
            f"{source} lacks the model's input column{'s' if len(missing) > 1 else ''} "
            f"{names_text(missing, quoted=True)}; add {'them' if len(missing) > 1 else 'it'}"
        )
    frame = frame.iloc[np.flatnonzero(pipeline.target.valid_rows(frame[target]))]
    rows_total = len(frame)
    if max_rows is not None and rows_total > max_rows:
        chosen = np.random.default_rng(seed).choice(rows_total, size=max_rows, replace=False)
        frame = frame.iloc[np.sort(chosen)]
    if rows_total < 2:  # one row has no score (R², AUC) and nothing to shuffle it with
        raise DataError(
            f"{source} has {rows_total} row{'' if rows_total == 1 else 's'} with a value in "
            f"{name_text(target)}; scoring the columns needs at least 2"
        )
    if pipeline.task == "classification":
        truth = pipeline.target.class_indices(frame[target])
    else:
        truth = pd.to_numeric(frame[target], errors="coerce").to_numpy(dtype=np.float64)
    return frame[pipeline.input_columns], truth, rows_total


def _metric(pipeline, truth: np.ndarray) -> str:
    if pipeline.task == "regression":
        return "r2"
    # AUC needs both classes among the rows; with one, accuracy is what can be said
    two = len(pipeline.labels) == 2 and len(np.unique(truth)) == 2
    return "roc_auc" if two else "accuracy"


def _score(metric: str, pipeline, predictions: pd.DataFrame, truth: np.ndarray) -> float:
    """The score of ``predictions`` (the predictor's columns) against ``truth``; NaN when
    the predictions are not finite numbers."""
    from sklearn.metrics import accuracy_score, r2_score, roc_auc_score

    columns = pipeline.prediction_columns
    if metric == "r2":
        values = predictions[columns[0]].to_numpy(dtype=np.float64)
        return float(r2_score(truth, values)) if np.isfinite(values).all() else math.nan
    probabilities = predictions[columns[1:]].to_numpy(dtype=np.float64)
    if not np.isfinite(probabilities).all():
        return math.nan
    if metric == "roc_auc":
        return float(roc_auc_score(truth == 1, probabilities[:, 1]))
    return float(accuracy_score(truth, probabilities.argmax(axis=1)))


def _finite(value) -> float | None:
    value = float(value)
    return value if math.isfinite(value) else None
