"""How cell values and column names appear in the messages a user reads.

A message is one short line (:class:`~engine.errors.UserError`), yet a header can name a
column with 100,000 characters or a line break, a table can have thousands of columns, and
NumPy's repr of a value is ``np.float64(0.0)``. These write them short, on one line, and as
the user wrote them.
"""

from __future__ import annotations

import numpy as np

from engine.data.values import category_name

NAME_CHARS = 40  # a longer name or value is cut, with an ellipsis
LISTED = 5  # columns named in a list before the rest are counted


def value_text(value) -> str:
    """A cell value as the user wrote it: '0', '0.5', '1e+308', 'yes', 'true'."""
    if isinstance(value, float | np.floating):
        value = float(value)
        # whole numbers as integers, as far as float64 holds every integer exactly
        return str(int(value)) if value.is_integer() and abs(value) < 2**53 else str(value)
    return _one_line(category_name(value))


def name_text(name) -> str:
    """A column name in quotes: 'price'."""
    return f"'{_one_line(str(name))}'"


def names_text(names, quoted: bool = False) -> str:
    """Column names for a list in a message: ``a, b, c`` (``'a', 'b', 'c'`` quoted), the
    first few, then how many more."""
    names = [name_text(n) if quoted else _one_line(str(n)) for n in names]
    shown = ", ".join(names[:LISTED])
    return shown if len(names) <= LISTED else f"{shown} and {len(names) - LISTED:,} more"


def _one_line(text: str) -> str:
    """``text`` cut to ``NAME_CHARS``, with line breaks and other control characters escaped."""
    text = text if len(text) <= NAME_CHARS else text[: NAME_CHARS - 1] + "…"
    return "".join(c if c.isprintable() else repr(c)[1:-1] for c in text)
