"""Permutation importance: the column the target depends on matters, the noise column does
not, a seed repeats a result, and one shuffle agrees with a loop written out by hand."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from sklearn.metrics import r2_score, roc_auc_score

from engine.data import infer_schema
from engine.errors import DataError
from engine.run.explain import Cancelled, explain, job_predictor
from engine.run.job import TrainingJob
from engine.run.prepare import prepare
from engine.run.settings import LayerSpec, TrainSettings


def _table(task: str, n: int = 800) -> pd.DataFrame:
    """``a`` decides the target, ``b`` is noise, ``c`` a category that does not matter."""
    rng = np.random.default_rng(1)
    a, b = rng.normal(size=n), rng.normal(size=n)
    frame = pd.DataFrame({"b": b, "a": a, "c": rng.choice(["x", "y", "z"], size=n)})
    frame["y"] = np.where(a > 0, "yes", "no") if task == "binary" else 3.0 * a
    return frame


def _job(frame: pd.DataFrame) -> TrainingJob:
    settings = TrainSettings(
        layers=[LayerSpec(16)], epochs=40, batch_size=64, learning_rate=0.01, device="cpu"
    )
    schema = infer_schema(frame, target="y", source="t.csv")
    job = TrainingJob(prepare(frame, schema, settings), settings)
    job.run()
    return job


@pytest.fixture(scope="module")
def binary_job() -> TrainingJob:
    return _job(_table("binary"))


def _by_column(result: dict) -> dict:
    return {c["column"]: c for c in result["columns"]}


def test_the_deciding_column_matters_and_the_noise_does_not(binary_job):
    result = explain(job_predictor(binary_job), binary_job.data.test_frame())
    assert result["metric"] == "roc_auc" and result["baseline"] > 0.97
    columns = _by_column(result)
    assert [c["column"] for c in result["columns"]][0] == "a"
    assert columns["a"]["importance_mean"] > 0.3
    for noise in ("b", "c"):
        assert abs(columns[noise]["importance_mean"]) < 0.02
    assert all(len(c["importances"]) == 5 for c in result["columns"])
    assert columns["a"]["importance_std"] == pytest.approx(np.std(columns["a"]["importances"]))
    assert json.loads(json.dumps(result)) == result  # JSON-safe as it is


def test_regression_scores_by_r2():
    job = _job(_table("regression"))
    result = explain(job_predictor(job), job.data.test_frame(), n_repeats=3)
    columns = _by_column(result)
    assert result["metric"] == "r2" and result["baseline"] > 0.9
    assert columns["a"]["importance_mean"] > 1.0  # shuffled, a's variance adds its own again
    assert abs(columns["b"]["importance_mean"]) < 0.05


def test_a_seed_repeats_the_result_and_another_seed_does_not(binary_job):
    predictor, frame = job_predictor(binary_job), binary_job.data.test_frame()
    first = explain(predictor, frame, seed=3)
    assert explain(predictor, frame, seed=3) == first
    other = explain(predictor, frame, seed=4)
    assert _by_column(other)["a"]["importances"] != _by_column(first)["a"]["importances"]


def test_one_shuffle_agrees_with_a_loop_written_by_hand(binary_job):
    """scikit-learn draws one seed from ``RandomState(seed)`` and shuffles each column's row
    positions with a ``RandomState`` of that seed; the score is ROC AUC of P(yes)."""
    predictor, frame = job_predictor(binary_job), binary_job.data.test_frame()
    seed = 11
    result = explain(predictor, frame, n_repeats=1, seed=seed)
    inputs = predictor.pipeline.input_columns
    truth = (frame["y"] == "yes").to_numpy()

    def auc(rows: pd.DataFrame) -> float:
        return roc_auc_score(truth, predictor.predict(rows)["probability_yes"].to_numpy())

    x = frame[inputs].copy()
    baseline = auc(x)
    drawn = np.random.RandomState(seed).randint(np.iinfo(np.int32).max + 1)
    order = np.arange(len(x))
    np.random.RandomState(drawn).shuffle(order)
    x["a"] = x["a"].to_numpy()[order]
    assert result["baseline"] == pytest.approx(baseline, abs=1e-12)
    assert _by_column(result)["a"]["importances"][0] == pytest.approx(baseline - auc(x), abs=1e-12)


def test_regression_baseline_is_r2_of_the_predictions():
    frame = _table("regression", n=300)
    job = _job(frame)
    predictor, rows = job_predictor(job), job.data.test_frame()
    expected = r2_score(rows["y"], predictor.predict(rows)["predicted_y"])
    assert explain(predictor, rows, n_repeats=1)["baseline"] == pytest.approx(expected)


def test_the_test_frame_is_the_test_split(binary_job):
    data = binary_job.data
    encoded = np.asarray(data.pipeline.encode(data.test_frame()))
    np.testing.assert_array_equal(encoded, np.asarray(data.x_test))


def test_a_sample_of_rows_and_progress_and_cancel(binary_job):
    predictor, frame = job_predictor(binary_job), binary_job.data.frame
    calls = []
    result = explain(
        predictor, frame, n_repeats=2, max_rows=100, progress=lambda *a: calls.append(a)
    )
    assert result["rows"] == 100 and result["rows_total"] == len(frame)
    assert calls[-1] == (1 + 3 * 2, 1 + 3 * 2) and len(calls) == 7
    with pytest.raises(Cancelled):
        explain(predictor, frame, max_rows=100, cancelled=lambda: len(calls) > 8,
                progress=lambda *a: calls.append(a))  # fmt: skip
    assert len(calls) == 9  # stopped at the next pass


def test_a_frame_without_the_target_is_refused_in_one_sentence(binary_job):
    frame = binary_job.data.test_frame().drop(columns=["y"])
    with pytest.raises(DataError, match=r"^new\.csv has no column 'y', the model's target"):
        explain(job_predictor(binary_job), frame, source="new.csv")


def test_fewer_than_two_rows_with_a_target_are_refused(binary_job):
    frame = binary_job.data.test_frame().head(3).copy()
    frame.loc[frame.index[1:], "y"] = None  # rows without a target are skipped
    with pytest.raises(DataError, match="has 1 row with a value in 'y'; .* needs at least 2$"):
        explain(job_predictor(binary_job), frame)
