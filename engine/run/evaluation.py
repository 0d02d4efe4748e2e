"""Test metrics from true and predicted values, as plain JSON-safe numbers and lists."""

from __future__ import annotations

import math

import numpy as np

from engine.nn.metrics import MeanAbsoluteError, R2Score, RootMeanSquaredError


def classification_report(y_true: np.ndarray, proba: np.ndarray, labels: list) -> dict:
    """``y_true`` int class indices ``(n,)``, ``proba`` ``(n, k)`` -> accuracy, per-class P/R/F1.

    ``confusion[i][j]`` counts rows of true class ``i`` predicted as ``j``.
    """
    k = len(labels)
    y_pred = np.asarray(proba).argmax(axis=1)
    confusion = np.zeros((k, k), dtype=np.int64)
    np.add.at(confusion, (y_true, y_pred), 1)
    tp = np.diag(confusion).astype(np.float64)
    predicted, actual = confusion.sum(axis=0), confusion.sum(axis=1)
    precision = np.divide(tp, predicted, out=np.zeros(k), where=predicted > 0)
    recall = np.divide(tp, actual, out=np.zeros(k), where=actual > 0)
    both = precision + recall
    f1 = np.divide(2 * precision * recall, both, out=np.zeros(k), where=both > 0)
    n = int(len(y_true))
    return {
        "task": "classification",
        "n": n,
        "accuracy": float(tp.sum() / n) if n else float("nan"),
        "macro_f1": float(f1.mean()) if k else float("nan"),
        "labels": list(labels),
        "precision": precision.tolist(),
        "recall": recall.tolist(),
        "f1": f1.tolist(),
        "support": actual.tolist(),
        "confusion_matrix": confusion.tolist(),
    }


def regression_report(y_true: np.ndarray, y_pred: np.ndarray) -> dict:
    """MAE, RMSE and R² in the target's own units (the training metrics' formulas, on the
    host in float64); ``y_true``/``y_pred`` ``(n,)`` for a scatter."""
    y_true = np.asarray(y_true, dtype=np.float64).reshape(-1)
    y_pred = np.asarray(y_pred, dtype=np.float64).reshape(-1)
    n = int(y_true.size)
    report = {"task": "regression", "n": n}
    # computed on values scaled by a power of two (exact) so that squares cannot overflow,
    # and centred (R² does not change when both move by the same amount; its sums stay exact)
    exponent = math.frexp(float(np.abs(np.r_[y_true, y_pred]).max()))[1] if n else 0
    truth, guess = np.ldexp(y_true, -exponent), np.ldexp(y_pred, -exponent)
    shift = float(truth.mean()) if n else 0.0
    truth, guess = (truth - shift).reshape(-1, 1), (guess - shift).reshape(-1, 1)
    for name, metric in (("mae", MeanAbsoluteError()), ("rmse", RootMeanSquaredError()),
                         ("r2", R2Score())):  # fmt: skip
        stats = np.atleast_1d(metric.stats(truth, guess))
        value = metric.result(stats, n) if n else float("nan")
        with np.errstate(over="ignore"):  # an error beyond float64's range is inf, said so
            report[name] = value if name == "r2" else float(np.ldexp(value, exponent))
    report.update(y_true=y_true.tolist(), y_pred=y_pred.tolist())
    return report
