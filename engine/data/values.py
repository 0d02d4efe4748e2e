"""How raw cell values are read, in one place: which texts mean "missing", and the name a
category is known by.

The reader, the preprocessing, the target, the predictor and the ONNX export all go through
these, so that a value is the same category wherever it is met.
"""

from __future__ import annotations

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
