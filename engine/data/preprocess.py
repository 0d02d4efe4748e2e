"""Preprocessing fitted on the training rows and saved with the model.

Numeric columns: ±inf and unparsable values count as missing, the median fills gaps, then
standardisation that any finite float64 survives (:mod:`engine.data.scaling`). Text columns:
the most frequent value fills gaps, then one-hot encoding with rare categories pooled into
one ``other`` column; a category never seen in training encodes as all zeros. Text columns
with more than ``MAX_ONE_HOT`` categories in the training rows are target-encoded instead
(:mod:`engine.data.target_encoding`), and date columns become their parts
(:mod:`engine.data.dates`; a repeating calendar day target-encoded too,
:mod:`engine.data.calendar_days`). The outputs are, in order: the numbers, the date parts, the
target encodings, the one-hot blocks. Everything fitted is plain JSON
(:meth:`Preprocessor.to_dict`).
"""

from __future__ import annotations

import math
import os
import threading
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass

import numpy as np
import pandas as pd
import pyarrow as pa

from engine.data.calendar_days import day_encodings, fit_days, repeating
from engine.data.dates import DateStats, date_parts, fit_dates, parse
from engine.data.display import name_text, names_text
from engine.data.scaling import DEFAULT_SCALING, mean_std, robust_spread, soft_clip, standardise
from engine.data.schema import MANY_VALUES, Schema
from engine.data.target_encoding import EncodedStats, fit_encoding
from engine.data.values import MISSING, category_name
from engine.encoded_rows import EncodedRows
from engine.errors import DataError

OTHER = "(other)"
MAX_ONE_HOT = MANY_VALUES  # beyond this, target encoding (up to it, rare ones share 'other')
RARE_FRACTION = 0.01  # a category in fewer than 1% of training rows (and < 2 rows) is rare
_BLOCK_ROWS = 4096
_MEDIAN_SAMPLE = 4096
_THREADS = min(4, os.cpu_count() or 1)


@dataclass
class NumericStats:
    """A numeric column's scaling: ``(x - mean) / std``, then, for ``scaling`` "robust",
    :func:`~engine.data.scaling.soft_clip`. "robust" fits ``mean`` as the median and ``std``
    as the interquartile range / 1.349 (the standard deviation where that is 0); a model
    file without ``scaling`` predates it and is "standard" (mean and standard deviation)."""

    name: str
    median: float
    mean: float
    std: float
    scaling: str = "standard"


@dataclass
class CategoricalStats:
    name: str
    categories: list[str]  # one output column each, most frequent first
    pooled: list[str]  # rare categories seen in training, sharing the 'other' column
    most_frequent: str

    @property
    def width(self) -> int:
        return len(self.categories) + (1 if self.pooled else 0)

    def slots(self) -> dict[str, int]:
        """Category name -> its column within this block: the pooled ones share the 'other'
        column, and ``MISSING`` ("") takes the most frequent category's. A name not in
        here is a category unseen in training (no column)."""
        slot = {c: i for i, c in enumerate(self.categories)}
        slot.update({c: len(self.categories) for c in self.pooled})
        slot[MISSING] = slot[self.most_frequent]
        return slot


class _Scratch:
    """One thread's arrays for encoding blocks of rows, and the numeric stats as columns."""

    def __init__(self, numeric: list[NumericStats]):
        self.means = np.array([s.mean for s in numeric]).reshape(-1, 1)
        self.stds = np.array([s.std for s in numeric]).reshape(-1, 1)
        medians = np.array([s.median for s in numeric]).reshape(-1, 1)
        # the columns soft-clipped after standardising ("robust" scaling), or None
        robust = np.array([s.scaling == "robust" for s in numeric], dtype=bool)
        self.robust = robust if robust.any() else None
        self.fills = self._scale(medians)  # what a missing value becomes
        self.numbers = np.empty((len(numeric), _BLOCK_ROWS))

    def encode(self, out: EncodedRows, rows: np.ndarray, numbers, codes, lookups) -> None:
        """Write ``rows`` of the table into ``out`` (as many rows): the standardised numbers,
        and each categorical column's one-hot column index."""
        size = len(rows)
        if numbers:
            x = self.numbers[:, :size]
            for values, row in zip(numbers, x):
                values.take(rows, out=row)
            missing = ~np.isfinite(x)
            self._scale(x)
            np.copyto(x, self.fills, where=missing)
            out.numeric[...] = x.T
        for j, (c, lookup) in enumerate(zip(codes, lookups)):
            lookup.take(c.take(rows), out=out.hot[:, j])

    def _scale(self, x: np.ndarray) -> np.ndarray:
        """``x`` ``(columns, rows)`` scaled in place, column by column as its stats say."""
        standardise(x, self.means, self.stds)
        if self.robust is not None:
            if self.robust.all():
                soft_clip(x)
            else:
                x[self.robust] = soft_clip(x[self.robust])
        return x


class Preprocessor:
    """Raw DataFrame columns -> float32 feature matrix ``(n_rows, n_outputs)``, dense
    (:meth:`transform`) or compact (:meth:`encode`, :class:`~engine.encoded_rows.EncodedRows`)."""

    def __init__(
        self,
        numeric: list[NumericStats],
        categorical: list[CategoricalStats],
        dates: list[DateStats] | None = None,
        encoded: list[EncodedStats] | None = None,
    ):
        self.numeric = numeric
        self.categorical = categorical
        self.dates = dates or []
        self.encoded = encoded or []

    @classmethod
    def fit(cls, frame: pd.DataFrame, schema: Schema, rows: np.ndarray | None = None):
        """Fit the schema's features on ``frame``'s ``rows`` (positions; default all)."""
        return cls.fit_transform(frame, schema, rows, [])[0]

    @classmethod
    def fit_transform(
        cls, frame: pd.DataFrame, schema: Schema, rows: np.ndarray | None, parts: list
    ) -> tuple[Preprocessor, list[EncodedRows]]:
        """Fit on ``rows``, then encode each of ``parts`` (row positions), reading columns once.

        Columns are prepared on a few threads: the NumPy and Arrow kernels doing the work
        release the GIL.
        """
        kinds = {n: (schema.column(n).kind, schema.column(n).dtype) for n in schema.features}
        dated = [n for n, (kind, _) in kinds.items() if kind == "datetime"]
        numbers = [n for n, k in kinds.items() if k[1] == "number" and n not in dated]
        texts = [n for n, k in kinds.items() if k[1] != "number" and n not in dated]

        def numeric(name):
            x = _numbers(frame[name])
            return _fit_numeric(name, x, rows), x

        def categorical(name):
            codes, names = _named_codes(frame[name])
            stats = _fit_categorical(name, codes, names, rows)
            if len(stats.categories) + len(stats.pooled) > MAX_ONE_HOT and schema.target:
                target = frame[schema.target]
                return fit_encoding(name, codes, names, rows, target, schema.task), (codes, names)
            return stats, (codes, names)

        def date(name):
            when = parse(frame[name], _date_format(frame[name]))
            target = frame[schema.target] if schema.target else None
            stats = fit_dates(name, when, _date_format(frame[name]), rows, target, schema.task)
            crossed = []  # the training rows' cross-fitted day encodings
            if target is not None:
                stats.days, crossed = fit_days(stats, when, rows, target, schema.task)
            return (stats, crossed), when

        with ThreadPoolExecutor(_THREADS) as pool:  # the longer text columns first
            texts_done = [pool.submit(categorical, name) for name in texts]
            dates_done = [pool.submit(date, name) for name in dated]
            numbers_done = [pool.submit(numeric, name) for name in numbers]
            fitted_texts = [f.result() for f in texts_done]
            fitted_dates = [f.result() for f in dates_done]
            fitted_numbers = [f.result() for f in numbers_done]
        hot = [f for f in fitted_texts if isinstance(f[0], CategoricalStats)]
        targeted = [f for f in fitted_texts if not isinstance(f[0], CategoricalStats)]
        self = cls(
            [f[0] for f in fitted_numbers],
            [f[0] for f in hot],
            [f[0][0] for f in fitted_dates],
            [f[0][0] for f in targeted],
        )
        if not parts:
            return self, []
        # the training rows' cross-fitted encodings: of the dates' days, of the text columns
        crossed = [f[0][1] for f in fitted_dates], [f[0][1] for f in targeted]
        extras = [
            self._extra_columns([f[1] for f in fitted_dates], [f[1] for f in targeted], part,
                                crossed if part is rows else None)
            for part in parts
        ]  # fmt: skip
        encoded = self._assemble_parts(
            [f[1] for f in fitted_numbers], [f[1] for f in hot], parts, extras
        )
        return self, encoded

    @staticmethod
    def width_for(frame: pd.DataFrame, schema: Schema) -> int:
        """The network's input width that fitting on all of ``frame`` gives, without fitting
        the numbers (for a parameter count before training)."""
        width = 0
        for name in schema.features:
            info = schema.column(name)
            if info.kind == "datetime":
                when = parse(frame[name], _date_format(frame[name]))
                target = frame[schema.target] if schema.target else None
                stats = fit_dates(name, when, "", None, target, schema.task)
                days = len(repeating(stats, when, None)) if target is not None else 0
                width += stats.width + days * _encoded_width(frame, schema)
            elif info.dtype == "number":
                width += 1
            else:
                stats = _fit_categorical(name, *_named_codes(frame[name]), None)
                many = len(stats.categories) + len(stats.pooled) > MAX_ONE_HOT
                width += _encoded_width(frame, schema) if many else stats.width
        return width

    @property
    def input_columns(self) -> list[str]:
        return [s.name for s in [*self.numeric, *self.dates, *self.encoded, *self.categorical]]

    @property
    def n_extra(self) -> int:
        """Dense outputs after the numbers: the date parts and the target encodings."""
        return sum(s.width for s in self.dates) + sum(s.width for s in self.encoded)

    @property
    def output_names(self) -> list[str]:
        names = [s.name for s in self.numeric]
        names += [n for s in self.dates for n in s.output_names]
        names += [n for s in self.encoded for n in s.output_names]
        for stats in self.categorical:
            names += [f"{stats.name}={c}" for c in stats.categories]
            names += [f"{stats.name}={OTHER}"] if stats.pooled else []
        return names

    @property
    def n_outputs(self) -> int:
        return len(self.numeric) + self.n_extra + sum(s.width for s in self.categorical)

    def transform(self, frame: pd.DataFrame, source: str = "the data") -> np.ndarray:
        """Encode ``frame`` (extra columns ignored) into float32 ``(len(frame), n_outputs)``."""
        return self.encode(frame, source).to_dense()

    def encode(self, frame: pd.DataFrame, source: str = "the data") -> EncodedRows:
        """:meth:`transform`, kept compact."""
        missing = [c for c in self.input_columns if c not in frame.columns]
        if missing:
            raise DataError(
                f"{source}: required column{'s' if len(missing) > 1 else ''} "
                f"{names_text(missing, quoted=True)} missing; the model needs "
                f"{names_text(self.input_columns)}"
            )
        numbers = [_numbers(frame[s.name]) for s in self.numeric]
        slots = [_named_codes(frame[s.name]) for s in self.categorical]
        when = [parse(frame[s.name], s.format) for s in self.dates]
        coded = [_named_codes(frame[s.name]) for s in self.encoded]
        everything = np.arange(len(frame))
        extra = self._extra_columns(when, coded, everything, None)
        return self._assemble_parts(numbers, slots, [everything], [extra])[0]

    def _extra_columns(self, when: list, coded: list, part, crossed) -> np.ndarray:
        """float32 ``(len(part), n_extra)``: the date parts (each followed by its days'
        encodings), then the target encodings, of the rows ``part``; ``crossed`` (the
        training rows' cross-fitted values: per date column a list, per encoded column an
        array) replaces the fitted encodings where given."""
        blocks = []
        for i, (stats, w) in enumerate(zip(self.dates, when)):
            blocks.append(date_parts(stats, w[part]))
            blocks += crossed[0][i] if crossed is not None else day_encodings(stats, w[part])
        for j, (stats, (codes, names)) in enumerate(zip(self.encoded, coded)):
            blocks.append(crossed[1][j] if crossed is not None else stats.table(names)[codes[part]])
        if not blocks:
            return np.empty((len(part), 0), dtype=np.float32)
        return np.hstack(blocks).astype(np.float32)

    def _assemble_parts(
        self, numbers: list, slots: list, parts: list, extras: list | None = None
    ) -> list[EncodedRows]:
        """Each part's rows (positions) as :class:`EncodedRows`.

        Written in blocks of rows small enough to stay in cache; the threads take turns at
        the blocks, each with its own scratch arrays.
        """
        n_dense = len(self.numeric) + self.n_extra  # the one-hot blocks come after
        starts = np.cumsum([n_dense] + [s.width for s in self.categorical])
        width = self.n_outputs  # once: it sums over every column
        lookups = []
        for (_, names), stats, first in zip(slots, self.categorical, starts):
            slot = _output_slots(names, stats)
            # a category unseen in training: index width, which sets no column
            lookups.append(np.where(slot >= 0, slot + first, width).astype(np.int32))
        codes = [codes for codes, _ in slots]
        n_numeric, n_hot = len(self.numeric), len(self.categorical)
        outputs = [
            EncodedRows(
                np.empty((len(part), n_dense), dtype=np.float32),
                np.empty((len(part), n_hot), dtype=np.int32),
                width,
                has_unseen=False,
            )
            for part in parts
        ]
        tasks = [
            (out[start : start + _BLOCK_ROWS], part[start : start + _BLOCK_ROWS])
            for out, part in zip(outputs, parts)
            for start in range(0, len(part), _BLOCK_ROWS)
        ]

        def work(first_task):
            scratch = _Scratch(self.numeric)
            for block, rows in tasks[first_task::_THREADS]:
                if n_dense > n_numeric:  # the numbers' own columns; the extras come after
                    block = EncodedRows(block.numeric[:, :n_numeric], block.hot, width, False)
                scratch.encode(block, rows, numbers, codes, lookups)

        with ThreadPoolExecutor(_THREADS) as pool:
            list(pool.map(work, range(_THREADS)))
        for out, extra in zip(outputs, extras or []):
            out.numeric[:, n_numeric:] = extra
        for out in outputs:
            out.has_unseen = bool((out.hot == width).any())
        return outputs

    def to_dict(self) -> dict:
        return {
            "numeric": [asdict(s) for s in self.numeric],
            "categorical": [asdict(s) for s in self.categorical],
            "dates": [asdict(s) for s in self.dates],
            "target_encoded": [asdict(s) for s in self.encoded],
        }

    @classmethod
    def from_dict(cls, data: dict) -> Preprocessor:
        return cls(
            [NumericStats(**s) for s in data["numeric"]],
            [CategoricalStats(**s) for s in data["categorical"]],
            [DateStats(**s) for s in data.get("dates", [])],
            [EncodedStats(**s) for s in data.get("target_encoded", [])],
        )


def _numbers(column: pd.Series) -> np.ndarray:
    """float64 values, NaN where missing or not a number; may share the frame's memory,
    so it is only read (±inf is treated like NaN wherever it is used)."""
    if pd.api.types.is_numeric_dtype(column.dtype) and not pd.api.types.is_bool_dtype(column):
        return column.to_numpy(dtype=np.float64, na_value=np.nan)
    return pd.to_numeric(column, errors="coerce").to_numpy(dtype=np.float64, na_value=np.nan)


def _fit_numeric(name: str, x: np.ndarray, rows) -> NumericStats:
    """Median of the finite training values; mean and std after the median fills the gaps.

    Works in this thread's scratch arrays: fresh memory costs more here than the arithmetic.
    """
    n = len(x) if rows is None else len(rows)
    values, finite_buffer, mask = _thread_scratch(n)
    if rows is None:
        np.copyto(values, x)
    else:
        np.take(x, rows, out=values)
    np.isfinite(values, out=mask)
    n_finite = int(np.count_nonzero(mask))
    if not n_finite:
        return NumericStats(name, 0.0, 0.0, 1.0)
    finite = values
    if n_finite < n:
        finite = np.compress(mask, values, out=finite_buffer[:n_finite])
    median = _median(finite)
    spread = robust_spread(finite) if DEFAULT_SCALING == "robust" else None
    mean, std = mean_std(finite, n - n_finite, median)  # overwrites finite
    if DEFAULT_SCALING == "robust":
        return NumericStats(name, median, median, spread or std, "robust")
    return NumericStats(name, median, mean, std)


_local = threading.local()


def _thread_scratch(n: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Two float64 arrays and a bool array of ``n``, this thread's own, reused."""
    held = getattr(_local, "arrays", None)
    if held is None or len(held[0]) < n:
        held = _local.arrays = (np.empty(n), np.empty(n), np.empty(n, dtype=bool))
    return held[0][:n], held[1][:n], held[2][:n]


def _median(values: np.ndarray) -> float:
    """``np.median(values)``, found by partitioning only the values near it.

    A sorted sample of every ``step``-th value brackets the middle ranks with a wide margin
    (about 4 standard errors), so a full partition is rarely needed; it is the fallback.
    """
    n = values.size
    ranks = [(n - 1) // 2, n // 2]
    if n >= _MEDIAN_SAMPLE * 8:
        sample = np.sort(values[:: n // _MEDIAN_SAMPLE])
        middle, margin = len(sample) // 2, len(sample) // 32
        low, high = sample[middle - margin], sample[middle + margin]
        below = np.count_nonzero(values < low)
        near = values[(values >= low) & (values <= high)]
        if below <= ranks[0] and ranks[1] < below + near.size:
            near.partition([r - below for r in ranks])
            return _midpoint(near[[r - below for r in ranks]])
    return _midpoint(np.partition(values, ranks)[ranks])


def _midpoint(pair: np.ndarray) -> float:
    """The mean of two values, as halves: the sum of 1e308 and 1e308 overflows (halving is
    exact, so this is ``np.median``'s figure for every normal number)."""
    return float(pair[0]) / 2 + float(pair[1]) / 2


def _named_codes(column: pd.Series) -> tuple[np.ndarray, list[str]]:
    """Per-row code into a list of category names; -1 where missing."""
    if isinstance(column.dtype, pd.CategoricalDtype):  # what read_csv gives for most text
        codes = column.cat.codes.to_numpy()
        uniques = column.cat.categories
    elif isinstance(column.dtype, pd.StringDtype) and column.dtype.storage == "pyarrow":
        # Arrow-backed text (read_csv gives it for many distinct values): encoded by Arrow
        encoded = pa.array(column.array).dictionary_encode()
        if isinstance(encoded, pa.ChunkedArray):
            encoded = encoded.combine_chunks()
        codes = encoded.indices.fill_null(-1).to_numpy()
        uniques = encoded.dictionary.to_pylist()
    else:
        codes, uniques = pd.factorize(column, use_na_sentinel=True)
    names = [category_name(v) for v in uniques]
    distinct = list(dict.fromkeys(names))
    if len(distinct) < len(names):  # ' a' and 'a' are the same category
        remap = np.array([distinct.index(n) for n in names] + [-1], dtype=np.int64)
        codes = remap[codes]
    return codes, distinct


def _fit_categorical(name: str, codes: np.ndarray, names: list[str], rows) -> CategoricalStats:
    codes = codes if rows is None else codes[rows]
    counts = np.bincount(codes + 1, minlength=len(names) + 1)[1:]  # code -1: missing
    if not counts.sum():
        raise DataError(
            f"column {name_text(name)} has no values in the training rows; ignore it or fill it in"
        )
    order = sorted(range(len(names)), key=lambda i: (-counts[i], names[i]))
    order = [i for i in order if counts[i] > 0]
    threshold = max(2, math.ceil(RARE_FRACTION * len(codes)))
    kept = [names[i] for i in order if counts[i] >= threshold][:MAX_ONE_HOT]
    pooled = [names[i] for i in order if names[i] not in kept]
    return CategoricalStats(name, kept, pooled, names[order[0]])


def _output_slots(names: list[str], stats: CategoricalStats) -> np.ndarray:
    """Per code (and -1, missing, last), the one-hot column within this column's block to
    set; -1 for a category unseen in training."""
    slot = stats.slots()
    return np.array([slot.get(n, -1) for n in [*names, MISSING]], dtype=np.int32)


def _date_format(column: pd.Series) -> str:
    """How the date column's cells read (:func:`engine.data.dates.detect_format`); ISO 8601
    where nothing fits (its cells then count as missing)."""
    from engine.data.dates import ISO, detect_format

    values = column.dropna()
    return (detect_format(values) if len(values) else None) or ISO


def _encoded_width(frame: pd.DataFrame, schema: Schema) -> int:
    """The columns a target encoding of the target ``schema.target`` gives: one per class of
    a multi-class target, else one."""
    if schema.target is None or schema.task != "classification":
        return 1
    n_classes = len({category_name(v) for v in frame[schema.target].dropna()})
    return n_classes if n_classes > 2 else 1
