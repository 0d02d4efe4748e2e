"""Preprocessing fitted on training rows: imputation, scaling, one-hot, rare and unseen values."""

from __future__ import annotations

import json
import warnings

import numpy as np
import pandas as pd
import pytest

from engine.data import Preprocessor, TargetEncoder, infer_schema, preprocess
from engine.data.preprocess import OTHER
from engine.data.scaling import LIMIT
from engine.errors import DataError


@pytest.fixture
def standard_scaling(monkeypatch):
    """New fits standardise (mean and std, no soft clip), as before robust scaling."""
    monkeypatch.setattr(preprocess, "DEFAULT_SCALING", "standard")


def _frame():
    return pd.DataFrame(
        {
            "num": [1.0, 2.0, np.nan, 4.0, np.inf, 10.0, 3.0, 5.0],
            "cat": ["a", "a", "b", None, "a", "b", "rare", "a"],
            "y": [0, 1, 0, 1, 0, 1, 0, 1],
        }
    )


def test_numeric_median_then_standardise_on_training_rows_only(standard_scaling):
    frame = _frame()
    rows = np.arange(6)  # the last two rows are not training rows
    pre = Preprocessor.fit(frame, infer_schema(frame), rows=rows)
    filled = np.array([1, 2, 3, 4, 3, 10.0])  # median of the finite training values: 3
    stats = pre.numeric[0]
    assert stats.median == 3.0
    assert stats.mean == pytest.approx(filled.mean())
    assert stats.std == pytest.approx(filled.std())
    x = pre.transform(frame)
    assert x.dtype == np.float32 and x.shape == (8, pre.n_outputs)
    expected = (np.r_[filled, 3.0, 5.0] - filled.mean()) / filled.std()
    np.testing.assert_allclose(x[:, 0], expected, rtol=1e-6)


def test_categorical_mode_one_hot_and_pooling(monkeypatch):
    monkeypatch.setattr("engine.data.preprocess.RARE_FRACTION", 0.25)  # threshold: 2 rows
    frame = _frame()
    pre = Preprocessor.fit(frame, infer_schema(frame))
    stats = pre.categorical[0]
    assert stats.categories == ["a", "b"] and stats.pooled == ["rare"]
    assert stats.most_frequent == "a"
    assert pre.output_names == ["num", "cat=a", "cat=b", f"cat={OTHER}"]
    x = pre.transform(frame)[:, 1:]
    assert x.tolist()[2:4] == [[0, 1, 0], [1, 0, 0]]  # 'b'; missing -> most frequent 'a'
    assert x.tolist()[6] == [0, 0, 1]  # rare -> other


def test_unseen_category_is_all_zeros_and_extra_columns_are_ignored():
    frame = _frame()
    pre = Preprocessor.fit(frame, infer_schema(frame))
    new = pd.DataFrame({"extra": [1, 2], "cat": ["never seen", " a "], "num": ["7", "x"]})
    x = pre.transform(new)
    cat = [i for i, n in enumerate(pre.output_names) if n.startswith("cat=")]
    assert x[0, cat].tolist() == [0.0] * len(cat)
    assert x[1, cat].tolist()[0] == 1.0  # whitespace does not make a new category
    stats = pre.numeric[0]
    assert x[1, 0] == pytest.approx((stats.median - stats.mean) / stats.std)


def test_missing_required_column_is_named():
    frame = _frame()
    pre = Preprocessor.fit(frame, infer_schema(frame))
    with pytest.raises(DataError) as info:
        pre.transform(frame.drop(columns=["cat"]), source="new.csv")
    assert "new.csv" in str(info.value) and "'cat'" in str(info.value)


def test_fit_transform_parts_match_transform():
    rng = np.random.default_rng(1)
    n = 5000
    frame = pd.DataFrame(
        {
            "a": rng.normal(size=n),
            "b": rng.choice(["x", "y", "z", None], n),
            "c": rng.integers(0, 3, n).astype(float),
            "y": rng.integers(0, 2, n),
        }
    )
    schema = infer_schema(frame)
    parts = [np.arange(0, n, 2), np.arange(1, n, 4), np.arange(3, n, 4)]
    pre, arrays = Preprocessor.fit_transform(frame, schema, parts[0], parts)
    full = pre.transform(frame)
    for part, array in zip(parts, arrays):
        np.testing.assert_array_equal(array, full[part])


def test_round_trip_through_json():
    frame = _frame()
    pre = Preprocessor.fit(frame, infer_schema(frame))
    again = Preprocessor.from_dict(json.loads(json.dumps(pre.to_dict())))
    np.testing.assert_array_equal(again.transform(frame), pre.transform(frame))


def test_classification_labels_keep_their_names():
    target = pd.Series(["dog", "cat", "bird", "cat", None], name="animal")
    enc = TargetEncoder.fit(target, "classification")
    assert enc.labels == ["bird", "cat", "dog"]
    assert enc.valid_rows(target).tolist() == [True, True, True, True, False]
    y = enc.encode(target[:4])
    assert y.shape == (4, 3) and y.argmax(1).tolist() == [2, 1, 0, 1]
    assert enc.decode(y).tolist() == ["dog", "cat", "bird", "cat"]


def test_binary_and_integer_labels():
    enc = TargetEncoder.fit(pd.Series([1.0, 0.0, 1.0], name="m"), "classification")
    assert enc.labels == [0, 1] and enc.n_outputs == 1
    assert enc.encode(pd.Series([0, 1, 1])).ravel().tolist() == [0, 1, 1]
    assert enc.decode(np.array([[0.2], [0.9]])).tolist() == [0, 1]
    np.testing.assert_allclose(enc.probabilities(np.array([[0.2]])), [[0.8, 0.2]])


def test_regression_target_standardised_and_reported_in_original_units():
    target = pd.Series([100.0, 200.0, np.inf, 300.0, 400.0], name="price")
    enc = TargetEncoder.fit(target, "regression", rows=np.array([0, 1, 3]))
    assert enc.mean == 200.0
    assert enc.valid_rows(target).tolist() == [True, True, False, True, True]
    y = enc.encode(target[enc.valid_rows(target)])
    assert y.dtype == np.float32 and y.shape == (4, 1)
    np.testing.assert_allclose(enc.decode(y), [100, 200, 300, 400], rtol=1e-6)


@pytest.fixture
def warnings_are_errors():
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        yield


def test_columns_beyond_float32_are_standardised(warnings_are_errors, standard_scaling):
    i = np.arange(40.0)
    frame = pd.DataFrame(
        {
            "extreme": np.where(i % 2, 1e308, -1e308),
            "huge": 1e200 * i,
            "tiny": 1e-320 * i,
            "gappy": np.where(i % 5, 1e308 - i * 1e305, np.nan),
            "y": i % 2,
        }
    )
    pre = Preprocessor.fit(frame, infer_schema(frame))
    x = pre.transform(frame)
    assert np.isfinite(x).all()
    np.testing.assert_allclose(x.mean(axis=0), 0.0, atol=1e-6)
    np.testing.assert_allclose(x.std(axis=0), 1.0, rtol=1e-5)
    assert x[:2, 0].tolist() == [-1.0, 1.0]


def test_the_median_of_the_largest_numbers_does_not_overflow(warnings_are_errors):
    assert preprocess._median(np.array([1e308, 1e308, -1e308, 1e308])) == 1e308


def test_a_value_far_beyond_the_training_rows_is_clipped(warnings_are_errors, standard_scaling):
    frame = pd.DataFrame({"num": [1.0, 1.0 + 1e-9, 1.0], "y": [0, 1, 0]})
    pre = Preprocessor.fit(frame, infer_schema(frame))
    x = pre.transform(pd.DataFrame({"num": [1e308, -1e308, 1.0]}))
    assert x[:, 0].tolist()[:2] == [LIMIT, -LIMIT] and abs(x[2, 0]) < 1


def test_a_regression_target_beyond_float32_round_trips(warnings_are_errors):
    for values in (1e200 * np.arange(50.0), np.where(np.arange(50) % 2, 1, -1) * 1e308):
        target = pd.Series(values, name="y")
        enc = TargetEncoder.fit(target, "regression")
        y = enc.encode(target)
        assert y.dtype == np.float32 and np.abs(y).max() < 10
        # float32 targets: about 7 digits of the column's scale
        np.testing.assert_allclose(enc.decode(y), values, atol=1e-6 * np.abs(values).max())


def test_a_prediction_beyond_float64_is_the_largest_float(warnings_are_errors):
    enc = TargetEncoder.fit(pd.Series([1e308, -1e308] * 5, name="y"), "regression")
    largest = np.finfo(np.float64).max
    assert enc.decode(np.array([[3.0], [-3.0], [0.5]])).tolist() == [largest, -largest, 5e307]


def test_a_target_far_beyond_the_training_rows_is_named():
    target = pd.Series([1.0, 1.0, 1e300], name="price")
    enc = TargetEncoder.fit(target, "regression", rows=np.array([0, 1]))
    with pytest.raises(DataError, match=r"^target column 'price' has the value 1e\+300, too far"):
        enc.encode(target)


def test_a_whole_number_label_past_2_53_stays_as_written():
    target = pd.Series([1e308, 0.0, 1e308, 3.0], name="y")
    enc = TargetEncoder.fit(target, "classification")
    assert enc.labels == [0, 3, 1e308]
    assert enc.class_indices(target).tolist() == [2, 0, 2, 1]
