"""Metrics, accumulated over an epoch on the device and read back once.

A metric turns a batch (targets ``y``, outputs ``a`` ``(n, k)``) into a small vector of sums
(``stats``); the caller adds those up over the epoch and ``result(totals, n)`` turns the
totals into the figure, so an epoch's metric is exact however it was batched.
"""

from __future__ import annotations

import numpy as np

from engine.backend import array_module


class Metric:
    name = ""
    n_stats = 1

    def stats(self, y, a):
        """Sums over the batch rows: a 0-d or ``(n_stats,)`` device array."""
        raise NotImplementedError

    def result(self, totals: np.ndarray, n: int) -> float:
        return float(totals[0]) / n

    def __repr__(self) -> str:
        return f"<metric {self.name}>"


class BinaryAccuracy(Metric):
    """Share of outputs on the same side of 0.5 as their target."""

    name = "binary_accuracy"

    def stats(self, y, a):
        return ((a > 0.5) == (y > 0.5)).sum(dtype=a.dtype) / a.shape[-1]


class CategoricalAccuracy(Metric):
    name = "categorical_accuracy"

    def stats(self, y, a):
        return (a.argmax(axis=-1) == y.argmax(axis=-1)).sum(dtype=a.dtype)


class SparseCategoricalAccuracy(Metric):
    name = "sparse_categorical_accuracy"

    def stats(self, y, a):
        return (a.argmax(axis=-1) == y.reshape(-1).astype(np.int64)).sum(dtype=a.dtype)


class MeanAbsoluteError(Metric):
    name = "mae"

    def stats(self, y, a):
        return array_module(a).abs(a - y).sum() / a.shape[-1]


class MeanSquaredError(Metric):
    name = "mse"

    def stats(self, y, a):
        error = a - y
        return (error * error).sum() / a.shape[-1]


class RootMeanSquaredError(MeanSquaredError):
    name = "rmse"

    def result(self, totals: np.ndarray, n: int) -> float:
        return float(np.sqrt(totals[0] / n))


class R2Score(Metric):
    """Coefficient of determination per output column, averaged over the columns."""

    name = "r2"

    def stats(self, y, a):
        # in float64: the spread is later taken as squares - total**2 / n, which float32 sums
        # over thousands of rows of a target far from 0 would swamp
        xp = array_module(a)
        y = y.astype(xp.float64)
        error = a - y
        return xp.concatenate([y.sum(axis=0), (y * y).sum(axis=0), (error * error).sum(axis=0)])

    def result(self, totals: np.ndarray, n: int) -> float:
        """As scikit-learn's ``r2_score``: a constant target scores 1.0 when predicted
        exactly and 0.0 otherwise."""
        total, squares, residual = np.split(np.asarray(totals, dtype=np.float64), 3)
        spread = squares - total * total / n
        constant = spread <= 1e-12 * squares
        with np.errstate(divide="ignore", invalid="ignore"):
            scores = np.where(constant, np.where(residual == 0, 1.0, 0.0), 1.0 - residual / spread)
        return float(scores.mean())


_BY_NAME = {
    cls.name: cls
    for cls in (
        BinaryAccuracy,
        CategoricalAccuracy,
        SparseCategoricalAccuracy,
        MeanAbsoluteError,
        MeanSquaredError,
        RootMeanSquaredError,
        R2Score,
    )
}
_ALIASES = {
    "mean_absolute_error": "mae",
    "mean_squared_error": "mse",
    "root_mean_squared_error": "rmse",
    "r2_score": "r2",
}
_ACCURACY_FOR_LOSS = {
    "binary_crossentropy": BinaryAccuracy,
    "categorical_crossentropy": CategoricalAccuracy,
    "sparse_categorical_crossentropy": SparseCategoricalAccuracy,
}


def get(identifier, loss_name: str = "", output_units: int = 1) -> Metric:
    """A metric from its Keras name or a :class:`Metric`.

    ``'accuracy'`` (or ``'acc'``) becomes the accuracy that suits the loss, as in Keras, and
    keeps the name it was asked for, so the history has an ``accuracy`` key.
    """
    if isinstance(identifier, Metric):
        return identifier
    name = str(identifier).lower()
    if name in ("accuracy", "acc"):
        cls = _ACCURACY_FOR_LOSS.get(loss_name)
        if cls is None:
            cls = BinaryAccuracy if output_units == 1 else CategoricalAccuracy
        metric = cls()
        metric.name = name
        return metric
    name = _ALIASES.get(name, name)
    if name not in _BY_NAME:
        choices = ", ".join(["accuracy", *_BY_NAME])
        raise ValueError(f"unknown metric {identifier!r}; use one of {choices}")
    return _BY_NAME[name]()
