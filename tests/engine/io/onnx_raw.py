"""ONNX inputs as a caller in another language builds them: from a CSV's text and the
README's contract alone, with nothing from this package deciding how a cell is read."""

from __future__ import annotations

import csv

import numpy as np


def raw_feeds(session, csv_path) -> dict[str, np.ndarray]:
    """The inputs built from the CSV's raw text by the README's rule: a float input gets
    float32 with NaN for an empty cell, a string input the cell text as is ("" when empty),
    both ``(N, 1)``; nothing from this package decides how a cell is read."""
    with open(csv_path, newline="", encoding="utf-8") as file:
        rows = list(csv.DictReader(file))
    feeds = {}
    for graph_input in session.get_inputs():
        cells = [row[graph_input.name] for row in rows]
        if graph_input.type == "tensor(float)":
            values = [float(cell) if cell else np.nan for cell in cells]
            feeds[graph_input.name] = np.asarray(values, dtype=np.float32).reshape(-1, 1)
        else:
            assert graph_input.type == "tensor(string)"
            feeds[graph_input.name] = np.asarray(cells, dtype=object).reshape(-1, 1)
    return feeds
