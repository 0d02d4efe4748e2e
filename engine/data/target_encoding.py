"""Target encoding of categorical columns with many values (hundreds to thousands).

Each category becomes the mean of the target over the training rows that hold it, shrunk
towards the overall mean where it has few rows (scikit-learn's ``TargetEncoder``, its
empirical-Bayes smoothing). On the training rows themselves the values are cross-fitted
(each row's value comes from the other folds), so the network cannot learn a row's own
target from it; every other row (validation, test, prediction) gets the encodings fitted on
all training rows. A category unseen in training gets the prior: the training target mean.

Targets: a regression target is encoded in standard units (its training mean and spread),
a binary one as the share of the second class (sorted), a multi-class one as one column per
class (its share). A missing cell reads as the most frequent category, as one-hot does.
Everything fitted is plain JSON (:class:`EncodedStats`).
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass

import numpy as np
import pandas as pd

from engine.data.values import MISSING, category_name

FOLDS = 5


@dataclass
class EncodedStats:
    """One target-encoded column: ``values[i]`` are the ``width`` encodings of
    ``categories[i]``; ``prior`` those of an unseen category."""

    name: str
    categories: list[str]
    values: list[list[float]]
    prior: list[float]
    most_frequent: str
    classes: list[str]  # the classes of a multi-class target, one column each; else []

    @property
    def width(self) -> int:
        return len(self.prior)

    @property
    def output_names(self) -> list[str]:
        if self.classes:
            return [f"{self.name}~{c}" for c in self.classes]
        return [f"{self.name}~target"]

    def table(self, names: list[str]) -> np.ndarray:
        """float64 ``(len(names) + 1, width)``: the encoding of each name (a missing one, "",
        reads as the most frequent category; an unseen one as the prior), then of a missing
        cell (code -1) last."""
        index = {c: i for i, c in enumerate(self.categories)}
        values = np.vstack([np.asarray(self.values, dtype=np.float64).reshape(-1, self.width),
                            np.asarray(self.prior, dtype=np.float64)])  # fmt: skip
        unseen = len(self.categories)
        filled = index.get(self.most_frequent, unseen)
        picks = [index.get(n, filled if n == MISSING else unseen) for n in names] + [filled]
        return values[picks]


def target_values(column: pd.Series, task: str) -> tuple[np.ndarray, str]:
    """The target as scikit-learn's ``TargetEncoder`` takes it, and its target type."""
    if task == "regression":
        y = pd.to_numeric(column, errors="coerce").to_numpy(dtype=np.float64, na_value=np.nan)
        finite = np.isfinite(y)
        mean = float(np.mean(y[finite])) if finite.any() else 0.0
        std = float(np.std(y[finite])) if finite.any() else 1.0
        y = np.where(finite, (y - mean) / (std if std > 0 else 1.0), 0.0)
        return y, "continuous"
    y = np.array([category_name(v) for v in column], dtype=object)
    kinds = len(set(y.tolist()))
    return y, "binary" if kinds <= 2 else "multiclass"


def fit_encoding(name: str, codes: np.ndarray, names: list[str], rows, target: pd.Series,
                 task: str, seed: int = 0) -> tuple[EncodedStats, np.ndarray]:  # fmt: skip
    """Fit on ``rows`` (positions; None: all) of the column ``codes`` into ``names`` (-1:
    missing); ``target`` holds the same rows as the column. Returns the stats and the
    cross-fitted float64 ``(len(rows), width)`` encodings of the training rows."""
    from sklearn.preprocessing import TargetEncoder

    codes = codes if rows is None else codes[rows]
    y = target if rows is None else target.iloc[rows]
    counts = np.bincount(codes + 1, minlength=len(names) + 1)[1:]
    most_frequent = names[int(np.argmax(counts))] if counts.sum() else MISSING
    filled = np.array([*names, most_frequent], dtype=object)[codes]
    y, kind = target_values(y, task)
    classes = sorted(set(y.tolist())) if kind != "continuous" else []
    if kind != "continuous" and len(classes) < 2:  # one class: nothing to learn from
        prior = [1.0] if kind == "binary" else [1.0] * len(classes)
        stats = EncodedStats(name, [], [], prior, most_frequent, [])
        return stats, np.tile(prior, (len(codes), 1))
    encoder = TargetEncoder(target_type=kind, **_folds(kind, len(y), seed))
    with warnings.catch_warnings():  # a class too rare for every fold: fewer folds hold it
        warnings.simplefilter("ignore", UserWarning)
        cross = encoder.fit_transform(filled.reshape(-1, 1), y)
    categories = [str(c) for c in encoder.categories_[0]]
    columns = np.stack([np.asarray(e, dtype=np.float64) for e in encoder.encodings_], axis=1)
    prior = np.atleast_1d(np.asarray(encoder.target_mean_, dtype=np.float64))
    stats = EncodedStats(
        name, categories, columns.tolist(), prior.tolist(), most_frequent,
        [str(c) for c in encoder.classes_] if kind == "multiclass" else [],
    )  # fmt: skip
    return stats, np.asarray(cross, dtype=np.float64).reshape(len(codes), -1)


def _folds(kind: str, n: int, seed: int) -> dict:
    """``TargetEncoder``'s shuffled cross-fitting folds (stratified for classes), in the
    words of the installed scikit-learn: a splitter from 1.9 on, numbers before."""
    import sklearn
    from sklearn.model_selection import KFold, StratifiedKFold

    folds = max(2, min(FOLDS, n))
    major, minor = (int(p) for p in sklearn.__version__.split(".")[:2])
    if (major, minor) < (1, 9):
        return {"cv": folds, "shuffle": True, "random_state": seed}
    splitter = KFold if kind == "continuous" else StratifiedKFold
    return {"cv": splitter(folds, shuffle=True, random_state=seed)}
