"""The calendar day of a date column, target-encoded where days repeat (many rows a day)."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from engine.data.preprocess import Preprocessor
from engine.data.schema import infer_schema
from engine.data.target_encoding import _folds


def _flights(n=1_200, days=60, seed=0):
    """Several rows a day; some days are bad days (most rows late), as storms make them."""
    rng = np.random.default_rng(seed)
    day = rng.integers(0, days, n)
    when = pd.Timestamp("2013-01-01") + pd.to_timedelta(day, unit="D")
    when += pd.to_timedelta(rng.integers(5, 22, n), unit="h")
    bad = rng.random(days) < 0.3
    late = rng.random(n) < np.where(bad[day], 0.8, 0.15)
    return pd.DataFrame(
        {
            "when": when.strftime("%Y-%m-%d %H:%M:%S"),
            "distance": rng.normal(size=n),
            "late": np.where(late, "yes", "no"),
        }
    )


def test_the_day_is_added_only_where_days_repeat():
    frame = _flights()
    fitted = Preprocessor.fit(frame, infer_schema(frame))
    (stats,) = fitted.dates
    assert [d.name for d in stats.days] == ["when.day"]
    assert fitted.output_names[-1] == "when.day~target"
    assert Preprocessor.width_for(frame, infer_schema(frame)) == fitted.n_outputs
    daily = frame.assign(when=pd.date_range("2010-01-01 06:00", periods=len(frame), freq="D"))
    fitted = Preprocessor.fit(daily, infer_schema(daily))
    assert fitted.dates[0].days == []
    assert not any("~" in name for name in fitted.output_names)


def test_the_day_is_cross_fitted_on_the_training_rows_only():
    from sklearn.preprocessing import TargetEncoder

    frame = _flights()
    schema = infer_schema(frame)
    train, other = np.arange(900), np.arange(900, len(frame))
    fitted, (seen, rest) = Preprocessor.fit_transform(frame, schema, train, [train, other])
    days = frame["when"].str[:10].to_numpy(dtype=object)
    late = frame["late"].to_numpy(dtype=object)
    reference = TargetEncoder(target_type="binary", **_folds("binary", len(train), 0))
    crossed = reference.fit_transform(days[train].reshape(-1, 1), late[train])[:, 0]
    np.testing.assert_allclose(seen.to_dense()[:, -1], crossed, rtol=1e-6)
    (encoded,) = fitted.dates[0].days
    assert set(encoded.categories) == set(days[train])  # nothing from the other rows
    known = np.isin(days[other], days[train])
    expected = reference.transform(days[other].reshape(-1, 1))[:, 0]
    np.testing.assert_allclose(rest.to_dense()[known, -1], expected[known], rtol=1e-6)
    # the bad days stand out: the encoding follows the target
    assert np.corrcoef(seen.to_dense()[:, -1], late[train] == "yes")[0, 1] > 0.3


def test_an_unseen_day_gets_the_prior_and_a_missing_one_the_fill_day():
    frame = _flights()
    fitted = Preprocessor.fit(frame, infer_schema(frame))
    (encoded,) = fitted.dates[0].days
    new = frame.iloc[:3].copy()
    new["when"] = ["2020-05-05 10:00:00", None, frame["when"].iloc[0]]
    x = fitted.transform(new)[:, -1]
    assert x[0] == pytest.approx(np.mean(frame["late"] == "yes"))
    assert x[0] == pytest.approx(encoded.prior[0])
    fill_day = encoded.categories.index(fitted.dates[0].fill[:10])
    assert x[1] == pytest.approx(encoded.values[fill_day][0])
    day = encoded.categories.index(frame["when"].iloc[0][:10])
    assert x[2] == pytest.approx(encoded.values[day][0])


def _train(frame, tmp_path, name):
    from engine.data import read_csv
    from engine.run.job import TrainingJob
    from engine.run.prepare import prepare
    from engine.run.settings import LayerSpec, TrainSettings

    fast = TrainSettings(layers=[LayerSpec(8)], epochs=5, early_stopping=0)
    frame.to_csv(tmp_path / f"{name}.csv", index=False)
    table = read_csv(tmp_path / f"{name}.csv")
    job = TrainingJob(prepare(table, settings=fast), fast)
    job.run()
    job.save(tmp_path / f"{name}.safetensors")
    return job, table


def test_a_saved_model_predicts_as_the_one_in_memory(tmp_path):
    from engine import load_model

    job, table = _train(_flights(), tmp_path, "days")
    assert job.data.pipeline.preprocessor.dates[0].days
    predictor = load_model(tmp_path / "days.safetensors")
    expected = job.model.predict(job.data.pipeline.preprocessor.transform(table.frame))[:, 0]
    got = predictor.predict(table.frame)["probability_yes"]
    np.testing.assert_allclose(got, expected, rtol=1e-5)


def test_a_model_file_from_before_the_days_predicts_as_before(tmp_path, monkeypatch):
    """A file without ``days`` (as written before them) loads with no day input and
    predicts as the model it holds, which was trained on the date parts alone."""
    from engine import load_model
    from engine.data import calendar_days
    from engine.io.model_file import read_model_file, save_model

    monkeypatch.setattr(calendar_days, "ENCODED", ())  # fitting as before the days
    job, table = _train(_flights(), tmp_path, "before")
    weights, sections = read_model_file(tmp_path / "before.safetensors")
    text = json.dumps(sections)
    for stats in sections["preprocessing"]["dates"]:
        assert stats.pop("days") == []
    assert json.dumps(sections) != text
    save_model(tmp_path / "old.safetensors", weights, sections)
    old = load_model(tmp_path / "old.safetensors")
    assert old.pipeline.preprocessor.dates[0].days == []
    expected = job.model.predict(job.data.pipeline.preprocessor.transform(table.frame))[:, 0]
    got = old.predict(table.frame)["probability_yes"]
    np.testing.assert_allclose(got, expected, rtol=1e-5)
    again = Preprocessor.from_dict(sections["preprocessing"])
    assert again.n_outputs == job.data.pipeline.preprocessor.n_outputs


def test_the_hour_is_encoded_too_where_asked_and_hours_repeat(monkeypatch):
    from engine.data import calendar_days

    monkeypatch.setattr(calendar_days, "ENCODED", ("day", "hour"))
    assert Preprocessor.fit(_flights(), infer_schema(_flights())).dates[0].days[-1].name == (
        "when.day"
    )  # 60 days x 17 hours: more distinct hours than half the rows
    frame = _flights(days=20)
    fitted = Preprocessor.fit(frame, infer_schema(frame))
    (stats,) = fitted.dates
    assert [d.name for d in stats.days] == ["when.day", "when.hour"]
    assert fitted.output_names[-2:] == ["when.day~target", "when.hour~target"]
    hours = frame["when"].str[:13].str.replace(" ", "T")
    assert sorted(stats.days[1].categories) == sorted(set(hours))
    assert Preprocessor.width_for(frame, infer_schema(frame)) == fitted.n_outputs
    again = Preprocessor.from_dict(json.loads(json.dumps(fitted.to_dict())))
    np.testing.assert_array_equal(again.transform(frame), fitted.transform(frame))
