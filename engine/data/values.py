"""How raw cell values are read, in one place: which texts mean "missing", the name a
category is known by, and the texts a category is read from.

The reader, the preprocessing, the target, the predictor and the ONNX export all go through
these, so that a value is the same category wherever it is met.
"""

from __future__ import annotations

import math
import sys
from functools import cache

import numpy as np

# the category name of a missing value (a category's name is never empty)
MISSING = ""
# texts the CSV reader (and so every prediction) treats as a missing value
MISSING_MARKERS = ("", "NA", "N/A", "NaN", "nan", "null", "NULL", "None", "?", "-", "#N/A")


def category_name(value) -> str:
    """The text a category is known by: 'yes', 'true', '3' (for 3.0), stripped."""
    if isinstance(value, bool | np.bool_):
        return "true" if value else "false"
    if isinstance(value, float | np.floating) and float(value).is_integer():
        return str(int(value))
    return str(value).strip()


# the texts the CSV reader reads as booleans: pyarrow's defaults, which engine.data.reader keeps
TRUE_TEXTS = ("1", "True", "TRUE", "true")
FALSE_TEXTS = ("0", "False", "FALSE", "false")


@cache
def spaces() -> str:
    """The characters :func:`category_name` strips from a text (``str.strip``'s whitespace),
    for readers of cells outside Python, such as the ONNX graph."""
    return "".join(c for c in map(chr, range(sys.maxunicode + 1)) if c.isspace())


def category_spellings(names) -> dict[str, str]:
    """Stripped cell text -> the category among ``names`` it is read as: each name itself,
    then the boolean spellings of 'true' and 'false' ('True', 'TRUE', '1', ...).

    The reader types a column as a whole, so 'TRUE' is the category 'true' in a column of
    booleans and its own text in a column of words; a name wins over a spelling, and a
    spelling reads as the boolean's category only where that category exists.
    """
    spelled = {name: name for name in names}
    for value, texts in ((True, TRUE_TEXTS), (False, FALSE_TEXTS)):
        if category_name(value) in spelled:
            for text in texts:
                spelled.setdefault(text, category_name(value))
    return spelled


def number_categories(names) -> dict[str, float]:
    """The names among ``names`` that a number is known by (``category_name(x) == name``,
    as '3' is for 3.0), with that number: where the reader types a column as numbers, any
    decimal spelling of it ('3.0', '+3', '3e0') is that category."""
    numbers = {}
    for name in names:
        try:
            number = float(name)
        except ValueError:
            continue
        if math.isfinite(number) and category_name(number) == name:
            numbers[name] = number
    return numbers
