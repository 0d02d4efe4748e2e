"""Preprocessing fitted on the training rows and saved with the model.

Numeric columns: ±inf and unparsable values count as missing, the median fills gaps, then
standardisation. Text columns: the most frequent value fills gaps, then one-hot encoding with
rare categories pooled into one ``other`` column; a category never seen in training encodes as
all zeros. Everything fitted is plain JSON (:meth:`Preprocessor.to_dict`).
"""

from __future__ import annotations

import math
import os
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass

import numpy as np
import pandas as pd

from engine.data.schema import Schema
from engine.errors import DataError

OTHER = "(other)"
MAX_ONE_HOT = 50  # categories beyond the 50 most frequent share the 'other' column
RARE_FRACTION = 0.01  # a category in fewer than 1% of training rows (and < 2 rows) is rare
_BLOCK_ROWS = 16384
_THREADS = min(4, os.cpu_count() or 1)


@dataclass
class NumericStats:
    name: str
    median: float
    mean: float
    std: float


@dataclass
class CategoricalStats:
    name: str
    categories: list[str]  # one output column each, most frequent first
    pooled: list[str]  # rare categories seen in training, sharing the 'other' column
    most_frequent: str

    @property
    def width(self) -> int:
        return len(self.categories) + (1 if self.pooled else 0)


class Preprocessor:
    """Raw DataFrame columns -> float32 feature matrix ``(n_rows, n_outputs)``."""

    def __init__(self, numeric: list[NumericStats], categorical: list[CategoricalStats]):
        self.numeric = numeric
        self.categorical = categorical

    @classmethod
    def fit(cls, frame: pd.DataFrame, schema: Schema, rows: np.ndarray | None = None):
        """Fit the schema's features on ``frame``'s ``rows`` (positions; default all)."""
        return cls.fit_transform(frame, schema, rows, [])[0]

    @classmethod
    def fit_transform(
        cls, frame: pd.DataFrame, schema: Schema, rows: np.ndarray | None, parts: list
    ) -> tuple[Preprocessor, list[np.ndarray]]:
        """Fit on ``rows``, then encode each of ``parts`` (row positions), reading columns once.

        Columns are prepared on a few threads: the NumPy and Arrow kernels doing the work
        release the GIL.
        """
        numbers = [n for n in schema.features if schema.column(n).dtype == "number"]
        texts = [n for n in schema.features if schema.column(n).dtype != "number"]

        def numeric(name):
            x = _numbers(frame[name])
            return _fit_numeric(name, x, rows), x

        def categorical(name):
            codes, names = _named_codes(frame[name])
            return _fit_categorical(name, codes, names, rows), (codes, names)

        with ThreadPoolExecutor(_THREADS) as pool:
            fitted_numbers = list(pool.map(numeric, numbers))
            fitted_texts = list(pool.map(categorical, texts))
        self = cls([f[0] for f in fitted_numbers], [f[0] for f in fitted_texts])
        if not parts:
            return self, []
        encoded = self._assemble_parts(
            [f[1] for f in fitted_numbers], [f[1] for f in fitted_texts], parts
        )
        return self, encoded

    @property
    def input_columns(self) -> list[str]:
        return [s.name for s in self.numeric] + [s.name for s in self.categorical]

    @property
    def output_names(self) -> list[str]:
        names = [s.name for s in self.numeric]
        for stats in self.categorical:
            names += [f"{stats.name}={c}" for c in stats.categories]
            names += [f"{stats.name}={OTHER}"] if stats.pooled else []
        return names

    @property
    def n_outputs(self) -> int:
        return len(self.numeric) + sum(s.width for s in self.categorical)

    def transform(self, frame: pd.DataFrame, source: str = "the data") -> np.ndarray:
        """Encode ``frame`` (extra columns ignored) into float32 ``(len(frame), n_outputs)``."""
        missing = [c for c in self.input_columns if c not in frame.columns]
        if missing:
            raise DataError(
                f"{source}: required column{'s' if len(missing) > 1 else ''} "
                f"{', '.join(repr(m) for m in missing)} missing; the model needs "
                f"{', '.join(self.input_columns)}"
            )
        numbers = [_numbers(frame[s.name]) for s in self.numeric]
        slots = [_named_codes(frame[s.name]) for s in self.categorical]
        return self._assemble_parts(numbers, slots, [np.arange(len(frame))])[0]

    def _assemble_parts(self, numbers: list, slots: list, parts: list) -> list[np.ndarray]:
        """Gather each part's rows from two row-major tables: the standardised numbers
        ``(n, n_numeric)`` and the output column of each category ``(n, n_categorical)``."""
        n_rows = len(numbers[0]) if numbers else len(slots[0][0]) if slots else 0
        table = np.empty((n_rows, len(numbers)), dtype=np.float32)
        for j, (x, stats) in enumerate(zip(numbers, self.numeric)):
            x[~np.isfinite(x)] = stats.median
            x -= stats.mean
            np.divide(x, stats.std, out=table[:, j], casting="same_kind")
        hot = np.empty((n_rows, len(slots)), dtype=np.int32)
        offset = len(self.numeric)
        for j, ((codes, names), stats) in enumerate(zip(slots, self.categorical)):
            slot = _output_slots(codes, names, stats)
            # an unseen category is stored as ~offset: it writes 0 into its own first column
            hot[:, j] = np.where(slot >= 0, slot + offset, ~offset)
            offset += stats.width
        outputs = [np.zeros((len(part), self.n_outputs), dtype=np.float32) for part in parts]

        def fill(task):
            out, part, start = task
            rows = part[start : start + _BLOCK_ROWS]
            block = out[start : start + len(rows)]
            block[:, : table.shape[1]] = table[rows]
            chosen = hot[rows]
            seen = chosen >= 0
            flat = np.arange(len(rows))[:, None] * self.n_outputs + np.where(seen, chosen, ~chosen)
            block.reshape(-1)[flat.ravel()] = seen.ravel()

        tasks = [
            (out, part, start)
            for out, part in zip(outputs, parts)
            for start in range(0, len(part), _BLOCK_ROWS)
        ]
        with ThreadPoolExecutor(_THREADS) as pool:
            list(pool.map(fill, tasks))
        return outputs

    def to_dict(self) -> dict:
        return {
            "numeric": [asdict(s) for s in self.numeric],
            "categorical": [asdict(s) for s in self.categorical],
        }

    @classmethod
    def from_dict(cls, data: dict) -> Preprocessor:
        return cls(
            [NumericStats(**s) for s in data["numeric"]],
            [CategoricalStats(**s) for s in data["categorical"]],
        )


def category_name(value) -> str:
    """The text a category is known by: 'yes', 'true', '3' (for 3.0), stripped."""
    if isinstance(value, bool | np.bool_):
        return "true" if value else "false"
    if isinstance(value, float | np.floating) and float(value).is_integer():
        return str(int(value))
    return str(value).strip()


def _numbers(column: pd.Series) -> np.ndarray:
    """A float64 copy; text that is not a number and ±inf become NaN."""
    if pd.api.types.is_numeric_dtype(column.dtype) and not pd.api.types.is_bool_dtype(column):
        x = column.to_numpy(dtype=np.float64, na_value=np.nan, copy=True)
    else:
        numbers = pd.to_numeric(column, errors="coerce")
        x = numbers.to_numpy(dtype=np.float64, na_value=np.nan, copy=True)
    x[np.isinf(x)] = np.nan
    return x


def _fit_numeric(name: str, x: np.ndarray, rows) -> NumericStats:
    """Median of the finite training values; mean and std after the median fills the gaps."""
    x = x if rows is None else x[rows]
    finite = x[np.isfinite(x)]
    if not finite.size:
        return NumericStats(name, 0.0, 0.0, 1.0)
    total, n_filled = finite.sum(), x.size - finite.size
    median = float(np.median(finite, overwrite_input=True))
    mean = (total + n_filled * median) / x.size
    finite -= mean
    variance = (np.dot(finite, finite) + n_filled * (median - mean) ** 2) / x.size
    std = float(np.sqrt(variance))
    return NumericStats(name, median, float(mean), std if std > 1e-12 * abs(mean) else 1.0)


def _named_codes(column: pd.Series) -> tuple[np.ndarray, list[str]]:
    """Per-row code into a list of category names; -1 where missing."""
    codes, uniques = pd.factorize(column, use_na_sentinel=True)
    names = [category_name(v) for v in uniques]
    distinct = list(dict.fromkeys(names))
    if len(distinct) < len(names):  # ' a' and 'a' are the same category
        remap = np.array([distinct.index(n) for n in names] + [-1], dtype=np.int64)
        codes = remap[codes]
    return codes, distinct


def _fit_categorical(name: str, codes: np.ndarray, names: list[str], rows) -> CategoricalStats:
    codes = codes if rows is None else codes[rows]
    counts = np.bincount(codes[codes >= 0], minlength=len(names))
    if not counts.sum():
        raise DataError(
            f"column {name!r} has no values in the training rows; ignore it or fill it in"
        )
    order = sorted(range(len(names)), key=lambda i: (-counts[i], names[i]))
    order = [i for i in order if counts[i] > 0]
    threshold = max(2, math.ceil(RARE_FRACTION * len(codes)))
    kept = [names[i] for i in order if counts[i] >= threshold][:MAX_ONE_HOT]
    pooled = [names[i] for i in order if names[i] not in kept]
    return CategoricalStats(name, kept, pooled, names[order[0]])


def _output_slots(codes: np.ndarray, names: list[str], stats: CategoricalStats) -> np.ndarray:
    """Per row, the one-hot column (within this column's block) to set; -1 for an unseen value."""
    slot = {c: i for i, c in enumerate(stats.categories)}
    slot.update({c: len(stats.categories) for c in stats.pooled})
    targets = [slot.get(n, -1) for n in names] + [slot.get(stats.most_frequent, -1)]
    return np.array(targets, dtype=np.int32)[codes]  # code -1 (missing): the most frequent
