"""The sample datasets bundled in the ``assets`` package."""

from __future__ import annotations

from importlib import resources
from pathlib import Path


def sample_paths() -> list[Path]:
    """Paths of the bundled sample CSVs, sorted by name."""
    root = Path(str(resources.files("assets")))
    return sorted(root.glob("*.csv"))
