"""ONNX inputs as a caller in another language builds them: from a CSV's text and the
README's contract alone, with nothing from this package deciding how a cell is read."""

from __future__ import annotations

import csv

import numpy as np


def raw_feeds(session, csv_path) -> dict[str, np.ndarray]:
    """The inputs built from the CSV's raw text by the README's rule: a double input gets the
    cell's number as float64, NaN where the cell holds none (empty, "NA", "?", ...); a string
    input the cell's text as it is; both ``(N, 1)``."""
    with open(csv_path, newline="", encoding="utf-8") as file:
        rows = list(csv.DictReader(file))
    feeds = {}
    for graph_input in session.get_inputs():
        cells = [row[graph_input.name] for row in rows]
        if graph_input.type == "tensor(double)":
            values = [_number(cell) for cell in cells]
            feeds[graph_input.name] = np.asarray(values, dtype=np.float64).reshape(-1, 1)
        else:
            assert graph_input.type == "tensor(string)"
            feeds[graph_input.name] = np.asarray(cells, dtype=object).reshape(-1, 1)
    return feeds


def _number(cell: str) -> float:
    """The cell's number, as a caller's parse would give it; NaN when it holds none."""
    try:
        return float(cell)
    except ValueError:
        return np.nan
