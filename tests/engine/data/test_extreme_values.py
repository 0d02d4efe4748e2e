"""Columns of finite float64 beyond float32 (±1e308, 1e200·i) train, from the CSV to the
predictions, with a finite loss and sensible metrics, and nothing reaches the terminal:
every warning is an error here."""

from __future__ import annotations

import warnings

import numpy as np
import pytest

import engine
from engine.data import infer_schema, read_csv
from engine.run.job import TrainingJob
from engine.run.prepare import prepare
from engine.run.settings import LayerSpec, TrainSettings

SETTINGS = TrainSettings(
    epochs=40, early_stopping=0, layers=[LayerSpec(8)], batch_size=16, learning_rate=0.02
)


@pytest.fixture(autouse=True)
def warnings_are_errors():
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        yield


def _write(path, columns: dict) -> None:
    rows = zip(*columns.values())
    lines = [",".join(columns), *(",".join(repr(float(v)) for v in row) for row in rows)]
    path.write_text("\n".join(lines) + "\n")


def _job(path) -> TrainingJob:
    table = read_csv(path)
    job = TrainingJob(prepare(table, infer_schema(table.frame, source=table.name), SETTINGS),
                      SETTINGS)  # fmt: skip
    history = job.run()
    assert np.isfinite(history["loss"]).all() and np.isfinite(history["val_loss"]).all()
    return job


def test_extreme_feature_columns_train_and_predict(tmp_path):
    rng = np.random.default_rng(0)
    sign = rng.choice([-1.0, 1.0], 200)
    path = tmp_path / "extreme.csv"
    _write(path, {
        "extreme": sign * 1e308,  # tells the class apart
        "huge": 1e200 * rng.permutation(200),
        "noise": rng.normal(size=200),
        "label": sign > 0,
    })  # fmt: skip
    job = _job(path)
    assert job.evaluate()["accuracy"] >= 0.95
    model = job.save(tmp_path / "model.safetensors")
    predictions = engine.load_model(model).predict(path)
    assert (predictions["predicted_label"] == (sign > 0)).mean() >= 0.95


def test_a_target_of_1e200_i_trains_and_predicts_in_its_own_units(tmp_path):
    rng = np.random.default_rng(1)
    x, t = rng.normal(size=300), rng.uniform(0, 300, 300)
    y = 1e200 * (t + 50 * x)
    path = tmp_path / "huge_target.csv"
    _write(path, {"x": x, "t": t, "y": y})
    job = _job(path)
    # metrics given: the default, job.evaluate(), still overflows on this target (a known
    # bug in engine/run/evaluation.py, pinned by tests/test_fuzz.py)
    model = job.save(tmp_path / "model.safetensors", metrics={"split": "none"})
    predicted = engine.load_model(model).predict(path)["predicted_y"].to_numpy()
    assert np.isfinite(predicted).all()
    residual = ((predicted - y) / 1e200) ** 2
    spread = ((y - y.mean()) / 1e200) ** 2
    assert 1 - residual.sum() / spread.sum() > 0.9  # R², in units of 1e200
