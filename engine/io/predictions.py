"""Predictions written as a CSV: the input rows with the prediction columns appended, in the
input's own delimiter and decimal mark. ``gpu-trainer predict`` and the app's Predict CSV
both write through here."""

from __future__ import annotations

from pathlib import Path

from engine.io.atomic import atomic_path


def write_predictions(predictor, data, out=None) -> tuple[int, Path | None]:
    """Predict on ``data`` (a CSV path or :class:`~engine.data.reader.CsvTable`) and write the
    annotated rows to ``out`` atomically, or to standard output when ``out`` is None.
    Returns ``(rows, out)``."""
    import sys

    from engine.data.reader import CsvTable, read_csv

    table = data if isinstance(data, CsvTable) else read_csv(data)
    result = predictor.annotate(table)
    options = {"index": False, "sep": table.delimiter, "decimal": table.decimal}
    if out is None:
        result.to_csv(sys.stdout, **options)
        return len(result), None
    out = Path(out)
    with atomic_path(out) as tmp, open(tmp, "w", encoding="utf-8", newline="") as fh:
        result.to_csv(fh, **options)
    return len(result), out
