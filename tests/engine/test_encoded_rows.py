"""Compact one-hot features: expanding them gives exactly the dense matrix, and training,
evaluating and predicting on them give exactly what the dense matrix gives."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from engine import Sequential, Trainer
from engine.backend import get_backend
from engine.data import infer_schema
from engine.encoded_rows import EncodedRows
from engine.nn.layers import Dense
from engine.run.job import TrainingJob
from engine.run.prepare import prepare
from engine.run.settings import TrainSettings

RNG = np.random.default_rng(0)
N, K, BLOCKS = 300, 3, [4, 2, 5]
WIDTH = K + sum(BLOCKS)


def _dense(unseen: bool = False) -> np.ndarray:
    x = np.zeros((N, WIDTH), dtype=np.float32)
    x[:, :K] = RNG.standard_normal((N, K))
    start = K
    for size in BLOCKS:
        x[np.arange(N), start + RNG.integers(0, size, N)] = 1.0
        start += size
    if unseen:  # some rows with no column of a block set
        x[::7, K : K + BLOCKS[0]] = 0.0
    return x


def encoded_from_dense(x, n_numeric: int, blocks: list[int]) -> EncodedRows:
    """The compact form of a dense matrix: ``n_numeric`` columns, then one-hot ``blocks``
    (widths), each with at most one 1 per row."""
    x = np.asarray(x, dtype=np.float32)
    starts = n_numeric + np.cumsum([0, *blocks[:-1]]).astype(np.int64)
    hot = np.full((len(x), len(blocks)), x.shape[1], dtype=np.int32)
    for j, (start, size) in enumerate(zip(starts, blocks)):
        part = x[:, start : start + size]
        rows = part.any(axis=1)
        hot[rows, j] = start + part[rows].argmax(axis=1)
    return EncodedRows(np.ascontiguousarray(x[:, :n_numeric]), hot, x.shape[1])


@pytest.mark.parametrize("unseen", [False, True])
def test_round_trip_and_expansion_by_index_and_slice(unseen):
    dense = _dense(unseen)
    rows = encoded_from_dense(dense, K, BLOCKS)
    assert rows.shape == dense.shape and rows.has_unseen == unseen
    assert rows.nbytes < dense.nbytes / 2
    np.testing.assert_array_equal(rows.to_dense(), dense)
    np.testing.assert_array_equal(np.asarray(rows), dense)
    index = RNG.permutation(N)[:50]
    out = np.full((50, WIDTH), 7.0, dtype=np.float32)  # stale values must be overwritten
    for _ in range(2):  # the second call reuses the scratch arrays
        np.testing.assert_array_equal(rows.write_rows(out, index), dense[index])
    np.testing.assert_array_equal(rows.write_rows(out[:20], slice(30, 50)), dense[30:50])
    np.testing.assert_array_equal(np.asarray(rows[10:20]), dense[10:20])
    wide = np.zeros((20, WIDTH + 3), dtype=np.float32)  # an output that is a strided view
    np.testing.assert_array_equal(rows.write_rows(wide[:, :WIDTH], index[:20]), dense[index[:20]])
    with pytest.raises(ValueError, match="rows"):
        rows.write_rows(out[:10], slice(0, 20))


def _model(width: int):
    model = Sequential(device="cpu", seed=5)
    model.add(Dense(16, activation="relu", input_dim=width))
    model.add(Dense(1, activation="sigmoid"))
    model.compile(loss="binary_crossentropy", optimizer="adam", metrics=["accuracy"])
    return model


@pytest.mark.parametrize("shuffle", [True, False])
def test_training_on_encoded_rows_equals_training_on_the_dense_matrix(shuffle):
    dense = _dense(unseen=True)
    y = (dense[:, 0] + dense[:, K] > 0.5).astype(np.float32)[:, None]
    results = []
    for x in (dense, encoded_from_dense(dense, K, BLOCKS)):
        model = _model(WIDTH)
        trainer = Trainer(
            model, x, y, epochs=3, batch_size=32, seed=1, shuffle=shuffle,
            validation_data=(x[:100], y[:100]),
        )  # fmt: skip
        list(trainer)
        results.append(
            (model.get_weights(), trainer.history, model.predict(x), model.evaluate(x, y))
        )
    (w_dense, h_dense, p_dense, e_dense), (w_rows, h_rows, p_rows, e_rows) = results
    for a, b in zip(w_dense, w_rows):
        np.testing.assert_array_equal(a, b)
    assert h_dense == h_rows
    np.testing.assert_array_equal(p_dense, p_rows)
    assert e_dense == e_rows


def _table(n=2000):
    rng = np.random.default_rng(3)
    colour = rng.choice(["red", "green", "blue", "teal"], n, p=[0.5, 0.3, 0.195, 0.005])
    return pd.DataFrame(
        {
            "x": rng.normal(size=n),
            "colour": colour,
            "size": rng.choice(["S", "M", "L", None], n),
            "label": np.where((colour == "red") ^ (rng.random(n) < 0.1), "yes", "no"),
        }
    )


def test_prepare_keeps_one_hot_features_compact_and_a_job_trains_on_them():
    frame = _table()
    data = prepare(frame, infer_schema(frame), TrainSettings(seed=0))
    assert isinstance(data.x_train, EncodedRows)
    assert data.x_train.shape[1] == data.n_inputs == len(data.pipeline.feature_names)
    dense_bytes = len(data.x_train) * data.n_inputs * 4
    assert data.x_train.nbytes < dense_bytes / 2
    # the same rows as the dense preprocessing of the whole table
    full = data.pipeline.preprocessor.transform(frame)
    assert {tuple(r) for r in np.asarray(data.x_test)} <= {tuple(r) for r in full}
    job = TrainingJob(data, TrainSettings(epochs=5, seed=0, layers=[]))
    job.run()
    assert job.evaluate()["accuracy"] > 0.8


def test_encoded_rows_move_to_a_backend_and_back():
    rows = encoded_from_dense(_dense(True), K, BLOCKS)
    moved = rows.on(get_backend("cpu"))
    assert moved.has_unseen and moved.shape == rows.shape
    np.testing.assert_array_equal(np.asarray(moved), np.asarray(rows))


@pytest.mark.gpu
def test_encoded_rows_expand_and_train_alike_on_cupy():
    dense = _dense(unseen=True)
    rows = encoded_from_dense(dense, K, BLOCKS)
    gpu = get_backend("gpu")
    moved = rows.on(gpu)
    assert type(moved.hot).__module__.startswith("cupy")
    index = gpu.asarray(RNG.permutation(N)[:64], dtype=np.int64)
    out = gpu.xp.empty((64, WIDTH), dtype=np.float32)
    np.testing.assert_array_equal(
        gpu.asnumpy(moved.write_rows(out, index)), dense[gpu.asnumpy(index)]
    )
    y = (dense[:, 0] > 0).astype(np.float32)[:, None]
    weights = []
    for device in ("cpu", "gpu"):
        model = Sequential(device=device, seed=5)
        model.add(Dense(16, activation="relu", input_dim=WIDTH))
        model.add(Dense(1, activation="sigmoid"))
        model.compile(loss="binary_crossentropy", optimizer="adam")
        list(Trainer(model, rows, y, epochs=2, batch_size=32, seed=1))
        weights.append(model.get_weights())
    for a, b in zip(*weights):
        np.testing.assert_allclose(b, a, rtol=2e-3, atol=2e-4)
