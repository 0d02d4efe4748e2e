"""The target column as the network sees it, and back.

Classification: labels keep their original values (strings, integers or booleans) and are
encoded as class indices; the network's targets are ``(n, 1)`` 0/1 for two classes and
one-hot ``(n, k)`` for more; two classes are decided by a threshold on the second class's
probability (:attr:`TargetEncoder.threshold`, 0.5 unless set). Regression: the target is
standardised for training and every prediction is reported in the original units.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from engine.data.display import name_text, value_text
from engine.data.scaling import LIMIT, mean_std, standardise
from engine.data.values import category_name
from engine.errors import DataError, UserError

_LARGEST = float(np.finfo(np.float64).max)
DEFAULT_THRESHOLD = 0.5  # a model file without a threshold decides at 0.5


class TargetEncoder:
    """Encode a target Series to float32 network targets and decode network outputs."""

    def __init__(
        self, task: str, labels: list | None = None, mean=0.0, std=1.0, name="", threshold=None
    ):
        self.task = task
        self.labels = list(labels or [])
        self.mean = float(mean)
        self.std = float(std)
        self.name = name
        self.threshold = DEFAULT_THRESHOLD
        self.set_threshold(threshold)

    @classmethod
    def fit(cls, target: pd.Series, task: str, rows: np.ndarray | None = None) -> TargetEncoder:
        """Labels from every non-missing value (sorted); mean/std from ``rows`` only."""
        name = str(target.name)
        if task == "classification":
            values = [v for v in target.unique() if not pd.isna(v)]
            uniques = {category_name(v): _json_value(v) for v in values}
            labels = [uniques[k] for k in sorted(uniques, key=_label_order)]
            return cls(task, labels, name=name)
        y = _regression_values(target)
        y = y if rows is None else y[rows]
        mean, std = mean_std(y[np.isfinite(y)])
        return cls(task, mean=mean, std=std, name=name)

    @property
    def n_outputs(self) -> int:
        """Width of the network's last layer."""
        return len(self.labels) if self.task == "classification" and len(self.labels) > 2 else 1

    @property
    def is_binary(self) -> bool:
        """Two classes: one sigmoid output, decided by :attr:`threshold`."""
        return self.task == "classification" and len(self.labels) == 2

    def set_threshold(self, threshold: float | None) -> None:
        """The probability of the second class above which it is predicted (None: 0.5).

        :class:`UserError` for a value outside (0, 1) or a target that is not two classes.
        """
        if threshold is None:
            self.threshold = DEFAULT_THRESHOLD
            return
        threshold = float(threshold)
        if not 0.0 < threshold < 1.0:
            raise UserError(
                f"the decision threshold must lie between 0 and 1 (e.g. 0.3), not {threshold}"
            )
        if not self.is_binary:
            kind = "a regression" if self.task == "regression" else f"a {len(self.labels)}-class"
            raise UserError(
                f"a decision threshold applies to two-class targets only, and "
                f"{name_text(self.name)} is {kind} target; leave the threshold out"
            )
        self.threshold = threshold

    def valid_rows(self, target: pd.Series) -> np.ndarray:
        """Boolean mask of rows whose target can be trained on."""
        if self.task == "classification":
            return target.notna().to_numpy()
        return np.isfinite(_regression_values(target))

    def class_indices(self, target: pd.Series) -> np.ndarray:
        """int64 class index per row (classification; every value must be a known label)."""
        codes, uniques = pd.factorize(target)
        known = {category_name(v): i for i, v in enumerate(self.labels)}
        lookup = np.array([known.get(category_name(v), -1) for v in uniques] + [-1])
        indices = lookup[codes]
        if (indices < 0).any():
            raise DataError(
                f"target column {name_text(self.name)} has a value that is not a known class"
            )
        return indices

    def encode(self, target: pd.Series) -> np.ndarray:
        """float32 network targets ``(n, n_outputs)`` for rows that pass :meth:`valid_rows`."""
        if self.task == "regression":
            y = standardise(_regression_values(target), self.mean, self.std)
            far = np.flatnonzero(np.abs(y) >= LIMIT)  # clipped: not what the row says
            if far.size:
                value = value_text(_regression_values(target.iloc[far[:1]])[0])
                raise DataError(
                    f"target column {name_text(self.name)} has the value {value}, too far "
                    "beyond the training rows' values to learn from; remove that row or add "
                    "more rows"
                )
            return y.astype(np.float32).reshape(-1, 1)
        return self.encode_classes(self.class_indices(target))

    def encode_classes(self, indices: np.ndarray) -> np.ndarray:
        """float32 network targets ``(n, n_outputs)`` from :meth:`class_indices`."""
        if self.n_outputs == 1:
            return indices.astype(np.float32).reshape(-1, 1)
        return np.eye(self.n_outputs, dtype=np.float32)[indices]

    def probabilities(self, outputs: np.ndarray) -> np.ndarray:
        """Network outputs ``(n, n_outputs)`` -> class probabilities ``(n, n_classes)``."""
        outputs = np.asarray(outputs, dtype=np.float64)
        if self.n_outputs == 1:
            p = outputs.reshape(-1)
            return np.stack([1.0 - p, p], axis=1)
        return outputs

    def decode(self, outputs: np.ndarray) -> np.ndarray:
        """Network outputs -> labels (object array) or values in original units ``(n,)``.

        A value beyond float64 (an output far past the training range of a target near
        1e308) is reported as the largest float64 of its sign, not as infinity.
        """
        if self.task == "regression":
            with np.errstate(over="ignore"):  # clipped to float64's range next
                values = np.asarray(outputs, dtype=np.float64).reshape(-1) * self.std + self.mean
            return np.clip(values, -_LARGEST, _LARGEST, out=values)
        return np.array(self.labels, dtype=object)[self.decide(self.probabilities(outputs))]

    def decide(self, probabilities: np.ndarray) -> np.ndarray:
        """Class probabilities ``(n, n_classes)`` -> int64 class indices ``(n,)``: two classes
        by ``p(second) > threshold``, more by the most probable (the first of a tie)."""
        probabilities = np.asarray(probabilities)
        if self.is_binary:
            return (probabilities[:, 1] > self.threshold).astype(np.int64)
        return probabilities.argmax(axis=1)

    def to_dict(self) -> dict:
        """JSON-safe; ``threshold`` for two classes only."""
        data = {
            "task": self.task,
            "name": self.name,
            "labels": self.labels,
            "mean": self.mean,
            "std": self.std,
        }
        if self.is_binary:
            data["threshold"] = self.threshold
        return data

    @classmethod
    def from_dict(cls, data: dict) -> TargetEncoder:
        """The inverse of :meth:`to_dict`; a file written before thresholds decides at 0.5."""
        args = data["task"], data["labels"], data["mean"], data["std"], data["name"]
        return cls(*args, threshold=data.get("threshold"))


def _regression_values(target: pd.Series) -> np.ndarray:
    y = pd.to_numeric(target, errors="coerce").to_numpy(
        dtype=np.float64, na_value=np.nan, copy=True
    )
    y[np.isinf(y)] = np.nan
    return y


def _json_value(value):
    """A label as JSON keeps it: bool, int (3.0 -> 3), float or stripped text.

    A whole float past 2**53 stays a float: 1e308 as an int has 309 digits, and both are
    the same category (:func:`~engine.data.values.category_name`).
    """
    if isinstance(value, bool | np.bool_):
        return bool(value)
    if isinstance(value, int | np.integer):
        return int(value)
    if isinstance(value, float | np.floating):
        value = float(value)
        return int(value) if value.is_integer() and abs(value) < 2**53 else value
    return str(value).strip()


def _label_order(name: str):
    """Numbers in numeric order, then text in alphabetical order."""
    try:
        return (0, float(name), "")
    except ValueError:
        return (1, 0.0, name)
