"""The default hidden activation, "auto": ELU on a table under SMALL_TABLE_ROWS rows, ReLU on
a larger one; a run's settings and its model file say which one trained."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from engine import load_model
from engine.data import infer_schema
from engine.run.job import TrainingJob
from engine.run.prepare import prepare
from engine.run.settings import (
    SMALL_TABLE_ROWS,
    LayerSpec,
    TrainSettings,
    resolve_activation,
)


def _frame(rows: int) -> pd.DataFrame:
    rng = np.random.default_rng(0)
    x = rng.normal(size=(rows, 3))
    return pd.DataFrame({"a": x[:, 0], "b": x[:, 1], "c": x[:, 2], "y": x[:, 0] - x[:, 1]})


def _job(rows: int, **settings) -> TrainingJob:
    frame = _frame(rows)
    config = TrainSettings(epochs=1, **settings)
    return TrainingJob(prepare(frame, infer_schema(frame, target="y"), config), config)


def test_auto_is_elu_under_the_row_count_and_relu_from_it():
    assert resolve_activation("auto", SMALL_TABLE_ROWS - 1) == "elu"
    assert resolve_activation("auto", SMALL_TABLE_ROWS) == "relu"
    assert resolve_activation("auto", None) == "relu"  # rows unknown: the large-table choice
    assert resolve_activation("tanh", 10) == "tanh"  # a named one is kept
    assert TrainSettings().layers[0].activation == "auto"


@pytest.mark.parametrize("rows, expected", [(300, "elu"), (SMALL_TABLE_ROWS, "relu")])
def test_a_job_trains_and_records_the_activation_its_table_gets(rows, expected, tmp_path):
    job = _job(rows)
    assert job.data.rows == rows
    assert [layer.activation for layer in job.settings.layers] == [expected, expected]
    hidden = [layer for layer in job.model.layers if getattr(layer, "units", 1) > 1]
    assert [layer.activation.name for layer in hidden] == [expected, expected]
    job.run()
    path = job.save(tmp_path / "model.safetensors")
    config = load_model(path).metadata["settings"]["layers"]
    assert [layer["activation"] for layer in config] == [expected, expected]


def test_a_named_activation_is_kept_on_a_small_table():
    job = _job(300, layers=[LayerSpec(16, "relu"), LayerSpec(8, "auto")])
    assert [layer.activation for layer in job.settings.layers] == ["relu", "elu"]
