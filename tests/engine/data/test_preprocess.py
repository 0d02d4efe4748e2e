"""Preprocessing fitted on training rows: imputation, scaling, one-hot, rare and unseen values."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from engine.data import Preprocessor, TargetEncoder, infer_schema
from engine.data.preprocess import OTHER
from engine.errors import DataError


def _frame():
    return pd.DataFrame(
        {
            "num": [1.0, 2.0, np.nan, 4.0, np.inf, 10.0, 3.0, 5.0],
            "cat": ["a", "a", "b", None, "a", "b", "rare", "a"],
            "y": [0, 1, 0, 1, 0, 1, 0, 1],
        }
    )


def test_numeric_median_then_standardise_on_training_rows_only():
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
