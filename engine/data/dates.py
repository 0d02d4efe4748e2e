"""Dates and times: which columns hold them, how a cell is read, and the parts a model sees.

A column is a date column when the CSV reader already parsed it (a ``datetime64`` or Python
``date`` column: ISO 8601 cells such as ``2013-01-01 05:00:00`` or ``2013-01-01T05:00Z``) or
when nearly all of its text reads with one of :data:`FORMATS` (``2012/01/01``,
``01/31/2012``, ``31.01.2012``, with or without a time). Times with a zone are read in UTC,
as the reader reads them; times without one are taken as they are.

Each date column becomes these float64 parts (:func:`date_parts`, ``(n, width)``):

- ``year`` with the moment within it as its fraction (noon on 2 July 2013 is about
  2013.5), standardised with the training rows' mean and standard deviation: a trend over
  time, and the only part that tells one day from the same day a year later (a model file
  written before the fraction, ``DateStats.trend`` false, keeps the whole year);
- ``month``, ``day_of_week`` (Monday 0) and, where the column has times, ``hour``, each
  scaled to [-1, 1];
- cyclical ``sin``/``cos`` of the month, day of week, day of year and (with times) hour of
  the day (minutes included), so that December sits next to January.

A cell that is missing or not a date takes the parts of the training rows' median date.

Fitted with the target, a calendar cycle (``month``, ``day_of_week``, ``hour``: its linear
and cyclical parts) that the training rows show no association with the target (a
chi-square test of the cycle's values against the classes, an F test against a regression
target: p above :data:`KEEP_P`) is left out (``DateStats.dropped``): an uninformative input
costs a small MLP accuracy (the day of the week of a weather record).

Where the column's calendar days repeat, the day itself is one more input, target-encoded
(:mod:`engine.data.calendar_days`, ``DateStats.days``).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from engine.data.target_encoding import EncodedStats

ISO = "ISO8601"  # pandas' own reader of ISO 8601 text, zones included
PARSED = "parsed"  # the CSV reader gave datetimes (or Python dates)
# text formats tried, after ISO 8601, in this order (month first wins a tie: 01/02/2012)
FORMATS = tuple(
    f"{day}{time}"
    for day in ("%Y/%m/%d", "%m/%d/%Y", "%d/%m/%Y", "%d.%m.%Y", "%m-%d-%Y", "%d-%m-%Y")
    for time in ("", " %H:%M", " %H:%M:%S")
)
_ISO_TEXT = re.compile(
    r"\d{4}-\d{1,2}-\d{1,2}(?:[T ]\d{1,2}:\d{2}(?::\d{2}(?:\.\d+)?)?)?\s*(?:Z|[+-]\d{2}:?\d{2})?"
)
_DATE_LIKE = re.compile(r"\d{1,4}[-/.]\d{1,2}[-/.]\d{1,4}")
MIN_PARSED = 0.9  # the share of a column's distinct texts that must read as dates
_PROBE = 200  # distinct texts tried per format
LINEAR = ("month", "day_of_week", "hour")
CYCLES = {"month": 12.0, "day_of_week": 7.0, "day_of_year": 365.25, "hour": 24.0}
TESTED = ("month", "day_of_week", "hour")  # the cycles kept only when the target varies with them
KEEP_P = 0.01  # the p-value of the association test at or below which a cycle is kept


def is_parsed(column: pd.Series) -> bool:
    """Whether the reader already gave this column as datetimes or Python dates."""
    if pd.api.types.is_datetime64_any_dtype(column.dtype):
        return True
    if column.dtype != object:
        return False
    head = column.dropna().iloc[:20]
    return len(head) > 0 and all(_is_date_object(v) for v in head)


def _is_date_object(value) -> bool:
    import datetime

    return isinstance(value, datetime.date | pd.Timestamp | np.datetime64)


def detect_format(values: pd.Series) -> str | None:
    """The way ``values`` (non-missing cells of a column) read as dates: :data:`PARSED`,
    :data:`ISO`, one of :data:`FORMATS`, or None when they are not dates."""
    if is_parsed(values):
        return PARSED
    texts = pd.Series(np.asarray(values.unique()[: _PROBE * 5], dtype=object)).astype(str)
    texts = texts.str.strip()
    texts = texts[texts != ""].drop_duplicates().iloc[:_PROBE]
    if texts.empty or texts.str.fullmatch(_DATE_LIKE.pattern + r".*").mean() < MIN_PARSED:
        return None
    if texts.str.fullmatch(_ISO_TEXT.pattern).mean() >= MIN_PARSED:
        return ISO
    best, best_share = None, MIN_PARSED - 1e-9
    for fmt in FORMATS:
        share = pd.to_datetime(texts, format=fmt, errors="coerce").notna().mean()
        if share > best_share:
            best, best_share = fmt, share
    return best


def parse(column: pd.Series, fmt: str) -> np.ndarray:
    """A column's cells as ``datetime64[s]`` ``(n,)`` in UTC (naive), NaT where missing or
    not a date. Each distinct text is read once."""
    if pd.api.types.is_datetime64_any_dtype(column.dtype):
        return _utc_seconds(pd.DatetimeIndex(column))
    codes, uniques = pd.factorize(column, use_na_sentinel=True)
    if len(uniques) and _is_date_object(uniques[0]) and not isinstance(uniques[0], str):
        read = pd.to_datetime(pd.Index(uniques, dtype=object), errors="coerce", utc=True)
    else:
        texts = pd.Index(uniques).astype(str).str.strip()
        with np.errstate(all="ignore"):
            read = pd.to_datetime(
                texts, format=ISO if fmt == PARSED else fmt, errors="coerce", utc=True
            )
    seconds = np.append(_utc_seconds(pd.DatetimeIndex(read)), np.datetime64("NaT", "s"))
    return seconds[codes]  # code -1 (missing): the NaT appended last


def _utc_seconds(index: pd.DatetimeIndex) -> np.ndarray:
    if index.tz is not None:
        index = index.tz_convert("UTC").tz_localize(None)
    return index.to_numpy(dtype="datetime64[s]")


@dataclass
class DateStats:
    """A date column's fitted parts: how its text is read, whether it has times, the year's
    mean and spread, and the date whose parts a missing cell takes (ISO text)."""

    name: str
    format: str
    has_time: bool
    year_mean: float
    year_std: float
    fill: str
    trend: bool = False  # "year" with its fraction; False in model files from before it
    dropped: list[str] = field(default_factory=list)  # cycles of TESTED left out
    # the calendar day (and hour) target-encoded where they repeat (engine.data.calendar_days)
    days: list[EncodedStats] = field(default_factory=list)

    def __post_init__(self):
        self.days = [d if isinstance(d, EncodedStats) else EncodedStats(**d) for d in self.days]

    def _has(self, part: str) -> bool:
        return (part != "hour" or self.has_time) and part not in self.dropped

    @property
    def parts(self) -> list[str]:
        linear = [p for p in LINEAR if self._has(p)]
        cycles = [p for p in CYCLES if self._has(p)]
        return ["year", *linear, *(f"{p}_{f}" for p in cycles for f in ("sin", "cos"))]

    @property
    def output_names(self) -> list[str]:
        names = [f"{self.name}.{part}" for part in self.parts]
        return names + [n for d in self.days for n in d.output_names]

    @property
    def width(self) -> int:
        return len(self.parts) + sum(d.width for d in self.days)


def fit_dates(
    name: str, when: np.ndarray, fmt: str, rows, target: pd.Series | None = None, task=""
) -> DateStats:
    """Fit on the ``rows`` (positions; None: all) of ``when`` (:func:`parse`'s output); with
    the ``target`` column (``(n,)``, the frame's rows; ``task`` "regression" or
    "classification"), leave out the cycles of :data:`TESTED` it shows no association with."""
    seen = when if rows is None else when[rows]
    known = ~np.isnat(seen)
    seen = seen[known]
    if not len(seen):
        return DateStats(name, fmt, False, 2000.0, 1.0, "2000-01-01T00:00:00", True)
    seconds = seen.astype(np.int64)
    has_time = bool(np.any(seconds % 86_400))
    years = _years(fields(seen), True)
    std = float(np.std(years))
    fill = np.sort(seen)[(len(seen) - 1) // 2]
    dropped = []
    if target is not None:
        y = target.to_numpy() if rows is None else target.to_numpy()[rows]
        calendar = fields(seen)
        for cycle in TESTED:
            if (cycle != "hour" or has_time) and not _associated(
                np.floor(calendar[cycle]), y[known], task
            ):
                dropped.append(cycle)
    return DateStats(name, fmt, has_time, float(np.mean(years)), std if std > 0 else 1.0,
                     str(fill), True, dropped)  # fmt: skip


def _associated(groups: np.ndarray, y: np.ndarray, task: str) -> bool:
    """Whether target values ``y`` ``(n,)`` differ between the ``groups`` ``(n,)`` (e.g. the
    day of the week) beyond chance at level :data:`KEEP_P`: Pearson's chi-square statistic
    of the groups x classes table, or (regression) the one-way ANOVA's F times its first
    degrees of freedom, against the chi-square quantile (Wilson-Hilferty). Missing targets
    are left out; fewer than two groups (or classes) is no association."""
    if task == "regression":
        y = pd.to_numeric(pd.Series(y), errors="coerce").to_numpy(dtype=np.float64)
        valid = np.isfinite(y)
    else:
        valid = pd.notna(pd.Series(y)).to_numpy()
    group, n_groups = _codes(groups[valid])
    if n_groups < 2:
        return False
    with np.errstate(all="ignore"):
        if task == "regression":
            y = y[valid]
            y = (y - y.mean()) / (np.abs(y).max() or 1.0)  # no overflow in the squares
            counts = np.bincount(group, minlength=n_groups)
            means = np.bincount(group, weights=y, minlength=n_groups) / counts
            between = float(np.sum(counts * means**2))
            within = float(np.sum((y - means[group]) ** 2))
            free = len(y) - n_groups
            if free < 1 or within <= 0.0:
                return between > 0.0
            statistic, df = between / (within / free), n_groups - 1
        else:
            label, n_classes = _codes(pd.Series(y[valid]).astype(str).to_numpy())
            if n_classes < 2:
                return False
            table = np.bincount(group * n_classes + label, minlength=n_groups * n_classes)
            table = table.reshape(n_groups, n_classes).astype(np.float64)
            expected = np.outer(table.sum(axis=1), table.sum(axis=0)) / table.sum()
            statistic = float(np.sum((table - expected) ** 2 / expected))
            df = (n_groups - 1) * (n_classes - 1)
    return statistic > _chi2_quantile(df)


def _codes(values: np.ndarray) -> tuple[np.ndarray, int]:
    codes, uniques = pd.factorize(values)
    return codes, len(uniques)


def _chi2_quantile(df: int) -> float:
    """The chi-square quantile with ``df`` degrees of freedom above which lies
    :data:`KEEP_P` (Wilson-Hilferty's cube of a normal; within 1 % for 2 or more)."""
    z = 2.3263478740408408  # the standard normal's 99th percentile: KEEP_P = 0.01
    h = 2.0 / (9.0 * df)
    return df * (1.0 - h + z * np.sqrt(h)) ** 3


def fields(when: np.ndarray) -> dict[str, np.ndarray]:
    """Calendar fields of ``datetime64[s]`` ``(n,)`` (no NaT) as float64 ``(n,)``: year,
    month (1-12), day_of_week (Monday 0), day_of_year (1-366), hour (with minutes and
    seconds as its fraction)."""
    days = when.astype("datetime64[D]")
    years = days.astype("datetime64[Y]")
    months = days.astype("datetime64[M]")
    seconds = (when - days).astype(np.int64)
    return {
        "year": years.astype(np.int64) + 1970.0,
        "month": (months - years).astype(np.int64) + 1.0,
        "day_of_week": ((days.astype(np.int64) + 3) % 7).astype(np.float64),  # 1970-01-01: Thu
        "day_of_year": (days - years).astype(np.int64) + 1.0,
        "hour": seconds / 3600.0,
    }


def parts_from_fields(stats: DateStats, values: dict[str, np.ndarray]) -> np.ndarray:
    """The model's float64 ``(n, width)`` date parts from calendar ``fields`` ``(n,)`` each."""
    out = [(_years(values, stats.trend) - stats.year_mean) / stats.year_std]
    spans = {"month": (1.0, 12.0), "day_of_week": (0.0, 6.0), "hour": (0.0, 23.0)}
    for part in LINEAR:
        if stats._has(part):
            low, high = spans[part]
            out.append((values[part] - low) / (high - low) * 2.0 - 1.0)
    for part, period in CYCLES.items():
        if stats._has(part):
            angle = values[part] * (2.0 * np.pi / period)
            out += [np.sin(angle), np.cos(angle)]
    return np.stack(out, axis=1)


def _years(values: dict[str, np.ndarray], trend: bool) -> np.ndarray:
    """The year ``(n,)`` of calendar ``fields``; with ``trend``, plus the share of it gone
    by (day of year and hour over the days of that year: 365 or 366)."""
    if not trend:
        return values["year"]
    year = values["year"]
    leap = (year % 4 == 0) & ((year % 100 != 0) | (year % 400 == 0))
    return year + (values["day_of_year"] - 1.0 + values["hour"] / 24.0) / (365.0 + leap)


def date_parts(stats: DateStats, when: np.ndarray) -> np.ndarray:
    """float64 ``(n, width)`` parts of ``when`` (:func:`parse`'s output); NaT takes the
    parts of the fill date."""
    filled = np.where(np.isnat(when), np.datetime64(stats.fill, "s"), when)
    return parts_from_fields(stats, fields(filled.astype("datetime64[s]")))
