"""Versions of what produced a model, recorded in the model file."""

from __future__ import annotations

import platform

import numpy as np
import pandas as pd


def versions() -> dict:
    """gpu-trainer, Python, NumPy and pandas versions, as text."""
    import engine

    found = {"gpu_trainer": engine.__version__, "python": platform.python_version()}
    found["numpy"] = np.__version__
    found["pandas"] = pd.__version__
    return found
