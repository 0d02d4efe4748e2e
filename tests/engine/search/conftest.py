"""Shared pieces of the sweep tests: a small generated CSV, a run store per test."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest


@pytest.fixture
def small_csv(tmp_path):
    """300 rows, 4 numeric features, a yes/no target that the features decide."""
    rng = np.random.default_rng(0)
    x = rng.normal(size=(300, 4))
    frame = pd.DataFrame(x, columns=list("abcd"))
    frame["label"] = np.where(x[:, 0] + 0.5 * x[:, 1] > 0, "yes", "no")
    path = tmp_path / "small.csv"
    frame.to_csv(path, index=False)
    return path


@pytest.fixture
def home(tmp_path, monkeypatch):
    """A run store of this test only (worker processes inherit it)."""
    folder = tmp_path / "home"
    monkeypatch.setenv("GPU_TRAINER_HOME", str(folder))
    monkeypatch.delenv("GPU_TRAINER_DEVICE", raising=False)
    return folder
