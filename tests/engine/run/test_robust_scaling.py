"""Robust scaling with smooth clipping: the engine's figures against a NumPy reference, older
(standardising) stats unchanged, and the ONNX graph against the engine predictor."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest

from engine.data.preprocess import Preprocessor
from engine.data.reader import read_csv
from engine.data.scaling import SOFT_CLIP
from engine.data.schema import infer_schema
from engine.io.predictor import load_model
from engine.run.job import TrainingJob
from engine.run.prepare import prepare
from engine.run.settings import TrainSettings

RNG = np.random.default_rng(11)


def _frame(n=300):
    return pd.DataFrame({
        "skewed": RNG.lognormal(0, 2, n),  # a long right tail
        "flag": (RNG.random(n) < 0.1).astype(float),  # quartiles coincide: std fallback
        "normal": RNG.normal(5, 3, n),
        "target": RNG.normal(0, 1, n),
    })  # fmt: skip


def _fit(frame):
    schema = infer_schema(frame, target="target", source="t.csv")
    return Preprocessor.fit(frame, schema)


def test_robust_stats_and_transform_match_a_numpy_reference():
    frame = _frame()
    pre = _fit(frame)
    by_name = {s.name: s for s in pre.numeric}
    for name in ("skewed", "normal"):
        x = frame[name].to_numpy()
        n = len(x)
        q1, q3 = np.sort(x)[[(n - 1) // 4, (3 * (n - 1)) // 4]]
        assert by_name[name].scaling == "robust"
        assert by_name[name].mean == pytest.approx(np.median(x), rel=1e-12)
        assert by_name[name].std == pytest.approx((q3 - q1) / 1.3489795003921634, rel=1e-12)
    assert by_name["flag"].std == pytest.approx(frame["flag"].std(ddof=0), rel=1e-12)
    out = pre.transform(frame)
    for j, stats in enumerate(pre.numeric):
        z = (frame[stats.name].to_numpy() - stats.mean) / stats.std
        want = z / np.sqrt(1 + (z / SOFT_CLIP) ** 2)
        np.testing.assert_allclose(out[:, j], want, rtol=1e-6, atol=1e-6)
    assert np.abs(out[:, : len(pre.numeric)]).max() < SOFT_CLIP


def test_stats_without_a_scaling_field_standardise_as_before():
    old = {"numeric": [{"name": "a", "median": 1.0, "mean": 2.0, "std": 4.0}], "categorical": []}
    pre = Preprocessor.from_dict(old)
    assert pre.numeric[0].scaling == "standard"
    out = pre.transform(pd.DataFrame({"a": [2.0, 102.0, np.nan, -1e5]}))
    np.testing.assert_allclose(out[:, 0], [0.0, 25.0, -0.25, (-1e5 - 2.0) / 4.0], rtol=1e-6)


def test_extreme_values_stay_bounded_and_finite():
    frame = _frame()
    pre = _fit(frame)
    wild = frame.head(4).copy()
    wild["skewed"] = [1e300, -1e300, 1e30, np.inf]
    out = pre.transform(wild)
    assert np.isfinite(out).all() and np.abs(out).max() <= SOFT_CLIP


@pytest.mark.parametrize("mixed", [False, True])
def test_onnx_matches_the_predictor_with_robust_and_mixed_scaling(tmp_path, mixed):
    pytest.importorskip("onnx")
    ort = pytest.importorskip("onnxruntime")
    from engine.io.onnx_export import build_onnx
    from tests.engine.io.onnx_raw import raw_feeds

    frame = _frame()
    path = tmp_path / "train.csv"
    frame.to_csv(path, index=False)
    table = read_csv(path)
    schema = infer_schema(table.frame, target="target", source=table.name)
    settings = TrainSettings(epochs=3, early_stopping=0)
    job = TrainingJob(prepare(table, schema, settings), settings)
    job.run()
    predictor = load_model(job.save(tmp_path / "model.safetensors"))
    if mixed:  # one column as an older model file has it
        predictor.pipeline.preprocessor.numeric[1].scaling = "standard"
    session = ort.InferenceSession(
        build_onnx(predictor).SerializeToString(), providers=["CPUExecutionProvider"]
    )
    rows = frame.head(20).copy()
    rows.loc[rows.index[:5], "skewed"] = [1e12, -1e12, np.nan, 1e300, 0.0]
    rows.loc[rows.index[5], "normal"] = np.nan
    rows_path = tmp_path / "rows.csv"
    rows.to_csv(rows_path, index=False)
    got = session.run(["value"], raw_feeds(session, rows_path))[0].astype(np.float64).ravel()
    want = predictor.predict(rows_path)["predicted_target"].to_numpy()
    target = predictor.pipeline.target
    np.testing.assert_allclose((got - target.mean) / target.std,
                               (want - target.mean) / target.std, atol=1e-5, rtol=0)  # fmt: skip


@pytest.fixture
def warnings_are_errors():
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        yield


def test_columns_beyond_float32_scale_robustly_without_warnings(warnings_are_errors):
    i = np.arange(40.0)
    frame = pd.DataFrame({
        "extreme": np.where(i % 2, 1e308, -1e308),
        "huge": 1e200 * i,
        "tiny": 1e-320 * i,
        "gappy": np.where(i % 5, 1e308 - i * 1e305, np.nan),
        "y": i % 2,
    })  # fmt: skip
    pre = Preprocessor.fit(frame, infer_schema(frame, target="y"))
    x = pre.transform(frame)
    assert np.isfinite(x).all() and np.abs(x).max() < SOFT_CLIP
    assert np.ptp(x, axis=0).min() > 0.5  # every column still spreads its rows
