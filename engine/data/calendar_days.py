"""The calendar day of a date column as one more input, target-encoded, where days repeat.

Smooth date parts (:mod:`engine.data.dates`) cannot single out one day, yet many tables
hold several rows a day whose targets move together (the flights of a stormy day). Where a
date column's calendar days repeat in the training rows (at most
:data:`MAX_DISTINCT_SHARE` as many distinct days as rows, the rule a text column's
identifiers follow), its day (``2013-01-31``) is target-encoded
(:func:`engine.data.target_encoding.fit_encoding`): cross-fitted on the training rows, the
encodings fitted on all of them elsewhere, and a day unseen in training gets the prior (the
training target mean). Where the column has times, its hour (``2013-01-31T05``) is
encoded the same way when hours repeat as well. A missing cell reads as the day (and hour)
of the fill date, as its date parts do.

The encodings are kept in the column's :class:`~engine.data.dates.DateStats` (``days``);
a model file from before them has none and predicts as it did.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from engine.data.schema import MAX_DISTINCT_SHARE
from engine.data.target_encoding import fit_encoding

UNITS = {"day": "D", "hour": "h"}  # encoded part -> its NumPy datetime unit
# the parts encoded where they repeat. Measured (issue 18, scripts/bench_quality.py flights,
# 3 seeds): ROC AUC 0.688 without, 0.735 with the day, 0.738 with the day and the hour (within
# the seeds' spread of the day alone), so the hour is left out by default
ENCODED = ("day",)


def keys(when: np.ndarray, fill: str, unit: str) -> tuple[np.ndarray, list[str]]:
    """Per row of ``when`` (``datetime64[s]`` ``(n,)``, NaT read as ``fill``) its code
    ``(n,)`` into the ISO names of the distinct days (``unit`` "D") or hours ("h")."""
    filled = np.where(np.isnat(when), np.datetime64(fill, "s"), when)
    codes, uniques = pd.factorize(filled.astype(f"datetime64[{unit}]").astype(np.int64))
    names = np.datetime_as_string(np.asarray(uniques).astype(f"datetime64[{unit}]"))
    return codes, names.tolist()


def repeating(stats, when: np.ndarray, rows) -> list[str]:
    """The parts of :data:`ENCODED` (``"day"``, ``"hour"`` with times) whose values repeat
    in the ``rows`` (positions; None: all) of ``when`` (``datetime64[s]`` ``(n,)``)."""
    seen = when if rows is None else when[rows]
    seen = seen[~np.isnat(seen)]
    found = []
    for part in ENCODED:
        if part == "hour" and not stats.has_time:
            continue
        distinct = len(np.unique(seen.astype(f"datetime64[{UNITS[part]}]")))
        if len(seen) >= 2 and distinct <= MAX_DISTINCT_SHARE * len(seen):
            found.append(part)
    return found


def fit_days(stats, when: np.ndarray, rows, target: pd.Series, task: str):
    """Fit the encodings of the repeating parts of the date column ``when`` (``(n,)``, the
    frame's rows; ``stats`` its fitted :class:`~engine.data.dates.DateStats`) on ``rows``.
    Returns their :class:`~engine.data.target_encoding.EncodedStats` (named
    ``<column>.day``, ``<column>.hour``) and cross-fitted float64 ``(len(rows), width)``
    encodings of the training rows."""
    fitted, crossed = [], []
    for part in repeating(stats, when, rows):
        codes, names = keys(when, stats.fill, UNITS[part])
        encoded, cross = fit_encoding(f"{stats.name}.{part}", codes, names, rows, target, task)
        fitted.append(encoded)
        crossed.append(cross)
    return fitted, crossed


def day_encodings(stats, when: np.ndarray) -> list[np.ndarray]:
    """Per encoded part of ``stats`` (``stats.days``), the float64 ``(n, width)`` encodings
    of ``when`` (``datetime64[s]`` ``(n,)``); a day unseen in training gets the prior."""
    out = []
    for encoded in stats.days:
        part = encoded.name.rsplit(".", 1)[1]
        codes, names = keys(when, stats.fill, UNITS[part])
        out.append(encoded.table(names)[codes])
    return out
