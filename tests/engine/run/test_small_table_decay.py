"""Small tables: AdamW's weight decay grows where an epoch has few steps (a run's total decay
does not shrink with the table), and early stopping needs enough validation rows; stored runs
train as they did."""

from __future__ import annotations

import numpy as np
import pytest

from engine.run.settings import TrainSettings, effective_weight_decay


@pytest.mark.parametrize(
    ("rows", "batch", "steps", "want"),
    [
        (5_000, 32, 100, 0.05),  # 157 steps an epoch: as set
        (3_200, 32, 100, 0.05),  # exactly 100 steps
        (1_000, 32, 100, 0.05 * 100 / 32),
        (178, 32, 100, 0.05 * 100 / 6),
        (10, 32, 100, 1.0),  # one step an epoch: at most the highest decay allowed
        (178, 32, 0, 0.05),  # off
    ],
)
def test_the_decay_grows_below_the_steps_an_epoch(rows, batch, steps, want):
    assert effective_weight_decay(0.05, rows, batch, steps) == pytest.approx(want)


def test_a_decay_set_above_the_cap_is_never_lowered():
    assert effective_weight_decay(3.0, 10, 32, 100) == 3.0


def _job(tmp_path, rows: int, settings: TrainSettings):
    from engine.data import infer_schema, read_csv
    from engine.run.job import TrainingJob
    from engine.run.prepare import prepare

    rng = np.random.default_rng(0)
    x = rng.normal(size=(rows, 2))
    path = tmp_path / "small.csv"
    path.write_text("a,b,y\n" + "".join(f"{p},{q},{p - q}\n" for p, q in x))
    table = read_csv(path)
    schema = infer_schema(table.frame, target="y", source=table.name)
    return TrainingJob(prepare(table, schema, settings), settings)


def test_a_small_table_trains_with_more_decay_and_keeps_the_setting_as_given(tmp_path):
    settings = TrainSettings(epochs=2, seed=0)
    job = _job(tmp_path, 1000, settings)
    rows = len(job.data.x_train)
    steps = -(-rows // settings.batch_size)
    assert steps < settings.weight_decay_steps
    assert job.model.optimizer.weight_decay == pytest.approx(0.05 * 100 / steps)
    assert job.settings.weight_decay == 0.05  # what the run records is what the user set


def test_a_stored_run_from_before_trains_with_the_decay_it_had(tmp_path):
    stored = TrainSettings(epochs=2, seed=0).to_dict()
    del stored["weight_decay_steps"]  # written before the scaling existed
    settings = TrainSettings.from_dict(stored)
    assert settings.weight_decay_steps == 0
    assert _job(tmp_path, 200, settings).model.optimizer.weight_decay == 0.05


def test_negative_steps_are_refused():
    from engine.errors import UserError

    with pytest.raises(UserError, match="must not be negative"):
        TrainSettings(weight_decay_steps=-1).check()


# -- early stopping needs enough validation rows ----------------------------------------------
def _stops(job) -> bool:
    from engine.nn.callbacks import EarlyStopping

    return any(isinstance(c, EarlyStopping) for c in job.trainer.callbacks)


@pytest.mark.parametrize(("rows", "stops"), [(200, False), (1_000, True)])
def test_early_stopping_needs_enough_validation_rows(tmp_path, rows, stops):
    job = _job(tmp_path, rows, TrainSettings(epochs=2, seed=0))
    assert (len(job.data.x_val) >= 64) == stops
    assert _stops(job) == stops
    job.run()
    assert len(job.trainer.history["loss"]) == 2


def test_a_stored_run_from_before_stops_early_on_few_rows_as_it_did(tmp_path):
    stored = TrainSettings(epochs=2, seed=0).to_dict()
    del stored["early_stopping_rows"]
    settings = TrainSettings.from_dict(stored)
    assert settings.early_stopping_rows == 0
    assert _stops(_job(tmp_path, 200, settings))
