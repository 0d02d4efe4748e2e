"""The runs table's filter language, without Qt: words match any column's text, and terms
such as ``optimizer=adam``, ``learning_rate<0.01``, ``layers=64,32`` or ``tag=baseline``
match a run's settings and summary fields. All terms must match (AND).

Keys are the settings' names first (``epochs`` and ``device`` are what was asked for), then the
run's own fields (``status``, ``name``, ``data``, ``task``, ``target``, ``monitor``,
``best_val``, ``test_metric``, ``steps``, ``seconds``, ``energy_j``, ``parameters``,
``source``), and ``tag``. Values compare as numbers when both sides are numbers
(``1e-3`` equals ``0.001``), else as case-insensitive text; ``<`` and ``>`` need numbers.
"""

from __future__ import annotations

import math
import os
import re
import shlex
from dataclasses import dataclass

_TERM = re.compile(r"^([A-Za-z_][\w.]*)\s*(<=|>=|!=|=|<|>)\s*(.*)$")
RUN_FIELDS = ("status", "name", "task", "target", "monitor", "best_val", "test_metric", "steps",
              "seconds", "energy_j", "parameters", "source", "seed")  # fmt: skip


@dataclass(frozen=True)
class Term:
    """One filter term: ``key op value``, or free text when ``key`` is None."""

    key: str | None
    op: str
    value: str


def parse(text: str) -> list[Term]:
    """Split ``text`` into terms at spaces; quotes keep spaces inside one (``name="a b"``)."""
    try:
        words = shlex.split(text)
    except ValueError:  # an unfinished quote while typing
        words = text.split()
    terms = []
    for word in words:
        match = _TERM.match(word)
        if match:
            key, op, value = match.groups()
            terms.append(Term(key.lower(), op, value.strip().casefold()))
        else:
            terms.append(Term(None, "", word.casefold()))
    return terms


def field(run: dict, key: str) -> str | None:
    """The casefolded text a key term compares with; None when the run has no such key."""
    settings = run.get("settings") or {}
    if key in settings:
        value = settings[key]
        if key == "layers" and isinstance(value, list):
            units = [layer.get("units") if isinstance(layer, dict) else layer for layer in value]
            return ",".join(str(u) for u in units)
        return _text(value)
    if key == "data":
        return os.path.basename(run.get("data_path") or "").casefold()
    return _text(run.get(key)) if key in RUN_FIELDS else None


def _text(value) -> str:
    return str(value).casefold()


def matches(terms: list[Term], run: dict, haystack: str) -> bool:
    """Whether ``run`` passes every term. ``haystack``: its cells' text, casefolded (only
    free-text terms read it)."""
    for term in terms:
        if term.key is None:
            if term.value not in haystack:
                return False
        elif term.key in ("tag", "tags"):
            has = term.value in {tag.casefold() for tag in run.get("tags") or []}
            if term.op not in ("=", "!=") or has != (term.op == "="):
                return False
        else:
            have = field(run, term.key)
            if have is None or not _compare(have, term.op, term.value):
                return False
    return True


def _compare(have: str, op: str, want: str) -> bool:
    a, b = _number(have), _number(want)
    if a is None or b is None:
        if op in ("=", "!="):
            return (have == want) == (op == "=")
        return False
    return {
        "=": a == b,
        "!=": a != b,
        "<": a < b,
        "<=": a <= b,
        ">": a > b,
        ">=": a >= b,
    }[op]


def _number(text: str) -> float | None:
    try:
        value = float(text)
    except ValueError:
        return None
    return value if math.isfinite(value) else None
