"""The data pipeline on Arrow-backed frames (what read_csv gives) and on NumPy frames alike."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest

from engine.data import (
    Preprocessor,
    TargetEncoder,
    infer_schema,
    preprocess,
    read_csv,
    split_indices,
)
from engine.io.predictor import load_model
from engine.run.job import TrainingJob
from engine.run.prepare import prepare
from engine.run.settings import TrainSettings


def _numpy_frame(n: int = 240, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    x = rng.normal(size=n)
    x[rng.random(n) < 0.1] = np.nan
    x[3], x[7] = np.inf, -np.inf
    color = rng.choice(np.array(["red", "green", " blue", "blue", "rare"], dtype=object), n)
    color[rng.random(n) < 0.1] = None
    return pd.DataFrame(
        {
            "x": x,
            "count": rng.integers(0, 50, n).astype(float),
            "color": color,
            "label": rng.choice(["yes", "no"], n),
        }
    )


def _arrow_frame(frame: pd.DataFrame) -> pd.DataFrame:
    """The same values with Arrow-backed columns: nulls for gaps, NaN kept out."""
    table = pa.Table.from_pandas(frame, preserve_index=False)
    return table.to_pandas(types_mapper=pd.ArrowDtype)


def test_preprocessing_is_the_same_on_arrow_and_numpy_frames():
    frame = _numpy_frame()
    schema = infer_schema(frame)
    rows = np.arange(0, len(frame), 2)
    pre = Preprocessor.fit(frame, schema, rows)
    arrow = _arrow_frame(frame)
    assert isinstance(arrow["x"].dtype, pd.ArrowDtype)
    assert infer_schema(arrow).to_dict() == schema.to_dict()
    assert Preprocessor.fit(arrow, schema, rows).to_dict() == pre.to_dict()
    expected = pre.transform(frame)
    assert np.isfinite(expected).all()
    np.testing.assert_array_equal(pre.transform(arrow), expected)


def test_read_csv_frames_and_user_frames_encode_alike(tmp_path):
    frame = _numpy_frame()
    path = tmp_path / "data.csv"
    text = frame.to_csv(index=False, sep=";", decimal=",")
    path.write_text(text.replace("inf", "Infinity"), encoding="utf-8")
    table = read_csv(path)
    assert table.decimal == ","
    read = table.frame
    assert read["color"].isna().sum() == frame["color"].isna().sum()
    schema = infer_schema(read)
    pre = Preprocessor.fit(read, schema)
    by_hand = frame.assign(color=frame["color"].str.strip())
    np.testing.assert_array_equal(pre.transform(by_hand), pre.transform(read))
    np.testing.assert_array_equal(pre.transform(_arrow_frame(by_hand)), pre.transform(read))


def test_categories_of_arrow_text_and_python_objects_match():
    values = pd.Series(["b", "a", None, " a", "c", "b"], dtype=object)
    arrow = values.astype(pd.StringDtype("pyarrow"))
    for column in (values, arrow):
        codes, names = preprocess._named_codes(column)
        assert sorted(names) == ["a", "b", "c"]
        assert [names[c] if c >= 0 else None for c in codes] == ["b", "a", None, "a", "c", "b"]


def test_blocks_of_rows_give_the_same_output(monkeypatch):
    frame = _numpy_frame(n=100)
    schema = infer_schema(frame)
    parts = list(split_indices(len(frame), 0.2, 0.2, seed=1))
    pre, whole = Preprocessor.fit_transform(frame, schema, parts[0], parts)
    monkeypatch.setattr(preprocess, "_BLOCK_ROWS", 7)
    _, blocked = Preprocessor.fit_transform(frame, schema, parts[0], parts)
    for a, b in zip(whole, blocked):
        np.testing.assert_array_equal(a, b)
    np.testing.assert_array_equal(pre.transform(frame)[parts[1]], whole[1])


def test_unseen_category_in_a_later_block_is_all_zeros(monkeypatch):
    monkeypatch.setattr(preprocess, "_BLOCK_ROWS", 3)
    frame = pd.DataFrame({"c": ["a", "b"] * 5 + ["new"], "y": [0, 1] * 5 + [0]})
    schema = infer_schema(frame)
    pre, (train, rest) = Preprocessor.fit_transform(
        frame, schema, np.arange(10), [np.arange(10), np.array([9, 10])]
    )
    assert np.asarray(rest).tolist() == [[0.0, 1.0], [0.0, 0.0]]
    assert np.asarray(train).sum(axis=1).tolist() == [1.0] * 10
    assert rest.has_unseen and not train.has_unseen


@pytest.mark.parametrize("n", [10, 40_000, 40_001])
def test_median_matches_numpy(n):
    rng = np.random.default_rng(n)
    for values in (
        rng.normal(size=n),
        rng.integers(0, 3, n).astype(float),
        np.sort(rng.exponential(size=n)),
        np.tile(np.arange(4096.0), n // 4096 + 1)[:n],
    ):
        assert preprocess._median(values) == float(np.median(values))


def test_split_with_many_classes_is_a_sorted_stratified_partition():
    classes = np.repeat(np.arange(40_000), 3)[::-1].copy()
    train, val, test = split_indices(len(classes), 0.2, 0.2, seed=0, classes=classes)
    rows = np.concatenate([train, val, test])
    assert np.array_equal(np.sort(rows), np.arange(len(classes)))
    assert all(np.all(np.diff(part) > 0) for part in (train, val, test))
    assert set(classes[train]) == set(classes)


def test_prepare_skips_rows_without_a_target_like_dropping_them():
    frame = _numpy_frame()
    frame.loc[[5, 50, 99], "label"] = None
    settings = TrainSettings(val_split=0.2, test_split=0.2)
    kept = prepare(frame, settings=settings)
    dropped = prepare(frame.drop(index=[5, 50, 99]).reset_index(drop=True), settings=settings)
    assert kept.notes and "3 rows" in kept.notes[0]
    for name in ("x_train", "x_val", "x_test", "y_train", "y_val", "y_test"):
        np.testing.assert_array_equal(getattr(kept, name), getattr(dropped, name))


def test_target_encoder_on_arrow_labels():
    labels = pd.Series(["yes", None, "no", "yes"], dtype=pd.StringDtype("pyarrow"))
    encoder = TargetEncoder.fit(labels, "classification")
    assert encoder.labels == ["no", "yes"]
    assert encoder.valid_rows(labels).tolist() == [True, False, True, True]
    indices = encoder.class_indices(labels.dropna())
    assert indices.tolist() == [1, 0, 1]
    np.testing.assert_array_equal(encoder.encode_classes(indices), encoder.encode(labels.dropna()))


def test_a_model_trained_from_a_csv_predicts_numpy_and_arrow_frames(tmp_path):
    frame = _numpy_frame(n=120)
    path = tmp_path / "data.csv"
    frame.to_csv(path, index=False)
    table = read_csv(path)
    settings = TrainSettings(layers=[], epochs=2, batch_size=32)
    job = TrainingJob(prepare(table, infer_schema(table.frame), settings), settings)
    job.run()
    model = job.save(tmp_path / "model.safetensors")
    predictor = load_model(model)
    user = frame.assign(color=frame["color"].str.strip()).drop(columns=["label"])
    from_csv = predictor.predict(table)
    from_numpy = predictor.predict(user)
    from_arrow = predictor.predict(_arrow_frame(user))
    pd.testing.assert_frame_equal(from_numpy, from_csv)
    pd.testing.assert_frame_equal(from_arrow, from_csv)
