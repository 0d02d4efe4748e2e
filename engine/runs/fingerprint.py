"""What data a run trained on: the file's path, size and SHA-256, its rows × columns and the
schema with its roles. Two runs on the same bytes have the same hash wherever the file lies."""

from __future__ import annotations

import hashlib
from pathlib import Path


def file_sha256(path) -> str:
    with open(path, "rb") as fh:
        return hashlib.file_digest(fh, "sha256").hexdigest()


def fingerprint(table, schema) -> dict:
    """``table``: a :class:`~engine.data.reader.CsvTable`; ``schema``: its Schema."""
    path = Path(table.path).resolve()
    return {
        "path": str(path),
        "size": path.stat().st_size,
        "sha256": file_sha256(path),
        "rows": int(table.frame.shape[0]),
        "columns": int(table.frame.shape[1]),
        "schema": schema.to_dict(),
    }
