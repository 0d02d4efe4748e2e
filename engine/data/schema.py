"""The column schema: what each column holds and what it is for.

:func:`infer_schema` guesses, for each column, a *kind* (numeric, categorical, boolean,
datetime, identifier, constant or text) and a *role* (feature, target or ignored), and the task
from the target. The user overrides roles and task with :meth:`Schema.with_role` /
:meth:`Schema.with_task`; schemas are immutable and JSON-safe (:meth:`Schema.to_dict`), so one
is saved in the model file.
"""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass, replace

import numpy as np
import pandas as pd
import pyarrow as pa

from engine.data.dates import detect_format, is_parsed, parse
from engine.data.display import name_text, names_text, value_text
from engine.errors import DataError

KINDS = ("numeric", "categorical", "boolean", "datetime", "identifier", "constant", "text")
ROLES = ("feature", "target", "ignored")
TASKS = ("classification", "regression")
MAX_CATEGORIES = 100  # more distinct strings than this must repeat to be a category
# beyond MAX_CATEGORIES, text is free text (not a category) when most of its values are
# distinct (each value in fewer than 2 rows on average) or its values are long
MAX_DISTINCT_SHARE = 0.5
MAX_CATEGORY_LENGTH = 40  # characters, on average over the distinct values
# a category with more values than this in the training rows is target-encoded, not one-hot
MANY_VALUES = 50
MAX_CLASSES_FOR_INTEGERS = 20  # an integer target with at most this many values is a class
MIN_ROWS_FOR_IDENTIFIER = 10
SAMPLE_ROWS = 20_000  # distinct values are counted on a sample of larger files
_BOOLEAN_PAIRS = ({"true", "false"}, {"yes", "no"}, {"y", "n"}, {"t", "f"}, {"0", "1"})
_ID_NAME = re.compile(r"(^|[_\s-])(id|uuid|guid|key)$|^id[_\s-]", re.IGNORECASE)
_USABLE = ("numeric", "categorical", "boolean", "datetime")


@dataclass(frozen=True)
class ColumnInfo:
    """One column: its kind and role, and the figures behind them.

    ``dtype`` is how its values are encoded ("number" or "string"; a date column read as
    datetimes by the reader is "number"); ``task_hint`` is the task this column would give
    as the target.
    """

    name: str
    kind: str
    role: str
    dtype: str
    n_missing: int
    n_unique: int
    task_hint: str
    note: str = ""


@dataclass(frozen=True)
class Schema:
    """All columns in file order, the task, and problems worth telling the user."""

    columns: tuple[ColumnInfo, ...]
    task: str | None
    n_rows: int
    problems: tuple[str, ...] = ()

    @property
    def target(self) -> str | None:
        return next((c.name for c in self.columns if c.role == "target"), None)

    @property
    def features(self) -> list[str]:
        return [c.name for c in self.columns if c.role == "feature"]

    @property
    def names(self) -> list[str]:
        return [c.name for c in self.columns]

    def column(self, name: str) -> ColumnInfo:
        for info in self.columns:
            if info.name == name:
                return info
        raise DataError(
            f"column {name_text(name)} does not exist; available columns: {names_text(self.names)}"
        )

    def with_role(self, name: str, role: str) -> Schema:
        """A copy where ``name`` has ``role``; a new target replaces the old one, sets the task."""
        if role not in ROLES:
            raise DataError(
                f"unknown role {name_text(role)} for column {name_text(name)}; use one of "
                f"{', '.join(ROLES)}"
            )
        self.column(name)
        columns, task = [], self.task
        for info in self.columns:
            if info.name == name:
                info = replace(info, role=role)
                task = info.task_hint if role == "target" else task
            elif role == "target" and info.role == "target":
                info = replace(info, role="feature" if info.kind in _USABLE else "ignored")
            columns.append(info)
        if role != "target" and name == self.target:
            task = None
        return replace(self, columns=tuple(columns), task=task)

    def with_task(self, task: str) -> Schema:
        if task not in TASKS:
            raise DataError(f"unknown task {name_text(task)}; use 'classification' or 'regression'")
        return replace(self, task=task)

    def check(self, source: str = "the data") -> None:
        """Raise :class:`DataError` unless a model can be trained with this schema."""
        target = self.target
        if target is None:
            raise DataError(f"{source}: no target column is chosen; pick one with --target")
        info = self.column(target)
        if info.n_missing >= self.n_rows:
            raise DataError(
                f"{source}: target column {name_text(target)} is entirely missing; "
                "choose a column that has values"
            )
        if self.task == "classification" and info.n_unique < 2:
            raise DataError(
                f"{source}: target column {name_text(target)} has only one class; classification "
                "needs at least two — choose another target"
            )
        if self.task == "regression" and (info.dtype != "number" or info.n_unique < 2):
            raise DataError(
                f"{source}: target column {name_text(target)} is not a varying number; "
                "choose another target or the classification task"
            )
        if not self.features:
            raise DataError(
                f"{source}: no feature columns are left besides the target {name_text(target)}; "
                "mark at least one column as a feature"
            )

    def to_dict(self) -> dict:
        return {
            "columns": [asdict(c) for c in self.columns],
            "task": self.task,
            "n_rows": self.n_rows,
            "problems": list(self.problems),
        }

    @classmethod
    def from_dict(cls, data: dict) -> Schema:
        columns = tuple(ColumnInfo(**c) for c in data["columns"])
        return cls(columns, data.get("task"), int(data["n_rows"]), tuple(data.get("problems", ())))


def infer_schema(frame: pd.DataFrame, target: str | None = None, source: str = "") -> Schema:
    """Guess kinds, roles and the task; ``target`` defaults to the last column.

    ``source`` (the file name) prefixes error messages.
    """
    prefix = f"{source}: " if source else ""
    names = [str(c) for c in frame.columns]
    if not names:
        raise DataError(f"{prefix}has no columns; pass a CSV with a header row")
    if target is None:
        target = names[-1]
    elif target not in names:
        raise DataError(
            f"{prefix}target column {name_text(target)} does not exist; available columns: "
            f"{names_text(names)} — pass one of them with --target"
        )
    n_rows = len(frame)
    sample = None
    if n_rows > SAMPLE_ROWS:
        sample = np.sort(np.random.default_rng(0).choice(n_rows, SAMPLE_ROWS, replace=False))
    columns, problems = [], []
    for name in names:
        info = _describe(name, frame[name], None if name == target else sample)
        role = "target" if name == target else "feature" if info.kind in _USABLE else "ignored"
        info = replace(info, role=role)
        if role == "ignored":
            problems.append(f"column {name_text(name)} {info.note} — ignored")
            columns.append(info)
            continue
        if role == "feature" and info.kind in ("datetime", "categorical") and info.note:
            problems.append(f"column {name_text(name)} {info.note}")
        if info.n_missing:
            median = info.dtype == "number" or info.kind == "datetime"
            fill = (
                "the median" + (" date" if info.kind == "datetime" else "")
                if median
                else ("the most frequent value")
            )
            problems.append(
                f"column {name_text(name)} has {info.n_missing:,} missing values — filled with "
                f"{fill}"
            )
        columns.append(info)
    task = next(c.task_hint for c in columns if c.role == "target")
    return Schema(tuple(columns), task, n_rows, tuple(problems))


def _describe(name: str, column: pd.Series, sample: np.ndarray | None) -> ColumnInfo:
    """Figures and kind of one column; counted on the ``sample`` rows when given, except the
    missing values, and a column that looks constant in the sample is counted in full."""
    n_missing = _n_missing(column)
    values = (column if sample is None else column.iloc[sample]).dropna()
    dated = _describe_dates(name, column, values, n_missing, sample)
    if dated is not None:
        return dated
    if column.dtype == object and len(values) and isinstance(values.iloc[0], bool | np.bool_):
        values = values.astype(bool)  # a boolean column with gaps arrives as objects
    numeric = _as_numbers(values)
    note = ""
    if numeric is not None:
        if not pd.api.types.is_numeric_dtype(column.dtype):
            bad = int(pd.to_numeric(column.dropna(), errors="coerce").isna().sum())
            note = f"{bad:,} values are not numbers and count as missing" if bad else ""
            n_missing += bad
        values = numeric[np.isfinite(numeric.to_numpy(dtype=float, na_value=np.nan))]
    distinct = values.unique()
    n_unique = len(distinct)
    if n_unique <= 1 and sample is not None:
        return _describe(name, column, None)
    dtype = "number" if numeric is not None else "string"
    kind, why = _kind(name, values, distinct, dtype, len(column) - n_missing)
    integer = dtype == "number" and bool(np.all(np.mod(values.to_numpy(dtype=float), 1) == 0))
    labels = kind in ("boolean", "categorical", "text") or dtype == "string"
    few_integers = integer and n_unique <= MAX_CLASSES_FOR_INTEGERS
    hint = "classification" if labels or few_integers else "regression"
    return ColumnInfo(name, kind, "feature", dtype, n_missing, n_unique, hint, why or note)


def _describe_dates(name, column, values, n_missing, sample) -> ColumnInfo | None:
    """A date column's figures, or None when ``column`` holds no dates (:mod:`engine.data.dates`):
    cells that are not dates count as missing."""
    if not len(values) or not (is_parsed(values) or _is_text(column)):
        return None
    fmt = detect_format(values)
    if fmt is None:
        return None
    when = parse(column, fmt)
    bad = int(np.count_nonzero(np.isnat(when))) - n_missing
    seen = when if sample is None else when[sample]
    n_unique = len(np.unique(seen[~np.isnat(seen)]))
    if n_unique <= 1:
        return None  # one date: a constant, told as such by the other rules
    dtype = "number" if pd.api.types.is_datetime64_any_dtype(column.dtype) else "string"
    has_time = bool(np.any(seen[~np.isnat(seen)].astype(np.int64) % 86_400))
    parts = "year, month, day of week" + (", hour" if has_time else "")
    note = f"is a date: read as its {parts} and their cycles (sin/cos, day of year too)"
    if bad > 0:
        note += f"; {bad:,} value{'s are' if bad > 1 else ' is'} not a date, counted as missing"
    hint = "regression" if dtype == "number" else "classification"
    return ColumnInfo(name, "datetime", "feature", dtype, n_missing + max(bad, 0), n_unique,
                      hint, note)  # fmt: skip


def _is_text(column: pd.Series) -> bool:
    return not pd.api.types.is_numeric_dtype(column.dtype) and not pd.api.types.is_bool_dtype(
        column.dtype
    )


def _n_missing(column: pd.Series) -> int:
    """Missing values; Arrow-backed text knows its count without a pass over the column."""
    if isinstance(column.dtype, pd.StringDtype) and column.dtype.storage == "pyarrow":
        return pa.array(column.array).null_count
    if isinstance(column.dtype, np.dtype) and column.dtype.kind == "f":
        return int(np.count_nonzero(np.isnan(column.to_numpy())))
    return int(column.isna().sum())


def _as_numbers(values: pd.Series) -> pd.Series | None:
    """Float values when the column is numeric, or mostly numeric text; otherwise None."""
    if pd.api.types.is_bool_dtype(values.dtype):
        return None
    if pd.api.types.is_numeric_dtype(values.dtype):
        return values.astype(float)
    head = pd.to_numeric(values.iloc[:1000], errors="coerce")
    if len(head) == 0 or head.notna().mean() < 0.9:
        return None
    numbers = pd.to_numeric(values, errors="coerce").astype(float)
    return numbers if numbers.notna().mean() >= 0.9 else None


def _kind(name: str, values: pd.Series, distinct, dtype: str, n_present: int) -> tuple[str, str]:
    """(kind, why it is ignored) from the non-missing ``values`` (maybe a sample) of a column
    that has ``n_present`` non-missing values in all; ``distinct`` are their unique values."""
    n_unique = len(distinct)
    if n_unique == 0:
        return "constant", "is entirely missing"
    if n_unique == 1:
        return "constant", f"has one value only ({value_text(values.iloc[0])})"
    if n_unique == 2 and _is_boolean(values.dtype, distinct, dtype):
        return "boolean", ""
    unique_per_row = n_unique == len(values) and len(values) >= MIN_ROWS_FOR_IDENTIFIER
    if dtype == "number":
        if unique_per_row and _looks_like_counter(name, values, n_present):
            return "identifier", "looks like an identifier (unique per row)"
        return "numeric", ""
    if unique_per_row:
        return "identifier", "looks like an identifier (unique per row)"
    if n_unique > MAX_CATEGORIES:
        length = float(np.mean([len(str(v)) for v in distinct[:1000]]))
        if n_unique > MAX_DISTINCT_SHARE * len(values) or length > MAX_CATEGORY_LENGTH:
            return "text", (
                f"has {n_unique:,} distinct values in {len(values):,} rows"
                + (f", {length:.0f} characters long on average" if length > 40 else "")
                + ": free text, not categories"
            )
        return "categorical", f"has {n_unique:,} values: target-encoded (mean target per value)"
    if n_unique > MANY_VALUES:
        return "categorical", f"has {n_unique:,} values: target-encoded (mean target per value)"
    return "categorical", ""


def _is_boolean(values_dtype, distinct, dtype: str) -> bool:
    if pd.api.types.is_bool_dtype(values_dtype):
        return True
    if dtype == "number":
        return set(distinct.tolist()) <= {0.0, 1.0}
    words = {str(v).strip().lower() for v in distinct}
    return any(words == pair for pair in _BOOLEAN_PAIRS)


def _looks_like_counter(name: str, values: pd.Series, n_present: int) -> bool:
    """Integers numbering the rows (1, 2, 3, ...) or a column named like an id."""
    array = values.to_numpy(dtype=float)
    if not np.all(np.mod(array, 1) == 0):
        return False
    # min + (n - 1), not max - min + 1: the difference of ±1e308 overflows
    return bool(_ID_NAME.search(name)) or array.max() == array.min() + (n_present - 1)
