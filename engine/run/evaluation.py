"""Test metrics from true and predicted values, as plain JSON-safe numbers and lists.

The series of one value per row (``y_true``, ``y_pred``, ``y_score``) are for the app's
plots and its threshold; model files, the run store and ``--json`` leave them out."""

from __future__ import annotations

import math

import numpy as np

from engine.nn.metrics import MeanAbsoluteError, R2Score, RootMeanSquaredError


def classification_report(
    y_true: np.ndarray, proba: np.ndarray, labels: list, threshold: float | None = None
) -> dict:
    """``y_true`` int class indices ``(n,)``, ``proba`` ``(n, k)`` -> accuracy, per-class P/R/F1.

    ``confusion[i][j]`` counts rows of true class ``i`` predicted as ``j``. Two classes are
    decided by ``proba[:, 1] > threshold`` (None: 0.5, the same as the most probable) and add
    :func:`binary_scores`, the ``threshold`` and, for re-deciding at another threshold,
    ``y_true`` and ``y_score`` (the second class's probability) ``(n,)``; more classes are
    decided by the most probable.
    """
    k = len(labels)
    proba = np.asarray(proba, dtype=np.float64)
    y_true = np.asarray(y_true, dtype=np.int64).reshape(-1)
    binary = k == 2
    threshold = 0.5 if threshold is None else float(threshold)
    y_pred = (proba[:, 1] > threshold).astype(np.int64) if binary else proba.argmax(axis=1)
    confusion = np.zeros((k, k), dtype=np.int64)
    np.add.at(confusion, (y_true, y_pred), 1)
    tp = np.diag(confusion).astype(np.float64)
    predicted, actual = confusion.sum(axis=0), confusion.sum(axis=1)
    precision = np.divide(tp, predicted, out=np.zeros(k), where=predicted > 0)
    recall = np.divide(tp, actual, out=np.zeros(k), where=actual > 0)
    both = precision + recall
    f1 = np.divide(2 * precision * recall, both, out=np.zeros(k), where=both > 0)
    n = int(len(y_true))
    report = {
        "task": "classification",
        "n": n,
        "accuracy": float(tp.sum() / n) if n else float("nan"),
        "macro_f1": float(f1.mean()) if k else float("nan"),
    }
    if binary:
        report.update(binary_scores(y_true, proba[:, 1], y_pred), threshold=threshold)
    report.update(
        labels=list(labels),
        precision=precision.tolist(),
        recall=recall.tolist(),
        f1=f1.tolist(),
        support=actual.tolist(),
        confusion_matrix=confusion.tolist(),
    )
    if binary:
        report.update(y_true=y_true.tolist(), y_score=proba[:, 1].tolist())
    return report


def binary_scores(y_true: np.ndarray, score: np.ndarray, y_pred: np.ndarray) -> dict:
    """``balanced_accuracy`` of ``y_pred``, ``roc_auc`` and ``pr_auc`` (average precision) of
    ``score``, all ``(n,)`` with class 1 positive (scikit-learn's definitions).

    Each is NaN (shown as N/A) where it is not defined: a split holding one class only, or a
    score that is not finite (a diverged network), rather than scikit-learn's warning or error.
    """
    nan = float("nan")
    if len(np.unique(y_true)) < 2:
        return {"balanced_accuracy": nan, "roc_auc": nan, "pr_auc": nan}
    from sklearn.metrics import average_precision_score, balanced_accuracy_score, roc_auc_score

    scores = {"balanced_accuracy": float(balanced_accuracy_score(y_true, y_pred))}
    finite = bool(np.isfinite(score).all())
    scores["roc_auc"] = float(roc_auc_score(y_true, score)) if finite else nan
    scores["pr_auc"] = float(average_precision_score(y_true, score)) if finite else nan
    return scores


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
