"""Test metrics from true and predicted values, as plain JSON-safe numbers and lists."""

from __future__ import annotations

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
    # R² does not change when both move by the same amount; centred, its sums stay exact
    shift = float(y_true.mean()) if n else 0.0
    truth, guess = (y_true - shift).reshape(-1, 1), (y_pred - shift).reshape(-1, 1)
    for name, metric in (("mae", MeanAbsoluteError()), ("rmse", RootMeanSquaredError()),
                         ("r2", R2Score())):  # fmt: skip
        stats = np.atleast_1d(metric.stats(truth, guess))
        report[name] = metric.result(stats, n) if n else float("nan")
    report.update(y_true=y_true.tolist(), y_pred=y_pred.tolist())
    return report
