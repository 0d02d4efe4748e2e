"""The eager step gathers rows a block of batches at a time (engine.nn.step): whatever the
block size, the batches, and so the weights and every step's loss, are exactly those of
gathering one batch at a time; the epoch's loss and metrics are the same sums."""

from __future__ import annotations

import numpy as np
import pytest

from engine import Sequential, Trainer
from engine.nn import step as step_module
from engine.nn.layers import Dense
from tests.engine.test_encoded_rows import encoded_from_dense

RNG = np.random.default_rng(3)
N = 250  # 7 batches of 32 and a last one of 26
X = np.zeros((N, 9), dtype=np.float32)
X[:, :4] = RNG.standard_normal((N, 4))
X[np.arange(N), 4 + RNG.integers(0, 5, N)] = 1.0  # a one-hot block of 5
Y = (X[:, :1] + X[:, 5:6] > 0.3).astype(np.float32)


def _train(data, shuffle: bool):
    model = Sequential(device="cpu", seed=2)
    model.add(Dense(16, activation="relu", input_dim=X.shape[1]))
    model.add(Dense(1, activation="sigmoid"))
    model.compile(loss="binary_crossentropy", optimizer="adam", metrics=["binary_accuracy"])
    trainer = Trainer(model, data, Y, epochs=3, batch_size=32, seed=1, shuffle=shuffle,
                      validation_data=(X[:50], Y[:50]))  # fmt: skip
    blocks = trainer.train_function.block_batches
    list(trainer)
    _, losses = trainer.drain_losses()
    return model.get_weights(), losses, trainer.history, blocks


@pytest.mark.parametrize("encoded", [False, True], ids=["dense", "one-hot"])
@pytest.mark.parametrize("shuffle", [True, False], ids=["shuffled", "in-order"])
@pytest.mark.parametrize("block", [3, 64], ids=["blocks-of-3", "one-block"])
def test_any_block_size_trains_exactly_like_one_batch_at_a_time(monkeypatch, encoded, shuffle,
                                                                block):  # fmt: skip
    data = encoded_from_dense(X, 4, [5]) if encoded else X
    monkeypatch.setattr(step_module, "BLOCK_BATCHES", 1)
    w1, losses1, history1, blocks1 = _train(data, shuffle)
    monkeypatch.setattr(step_module, "BLOCK_BATCHES", block)
    w2, losses2, history2, blocks2 = _train(data, shuffle)
    assert (blocks1, blocks2) == (1, min(block, 8))
    for a, b in zip(w1, w2):
        np.testing.assert_array_equal(a, b)
    np.testing.assert_array_equal(losses1, losses2)
    assert history1.keys() == history2.keys()
    for key in history1:  # sums over blocks, not batches: equal to float32 rounding
        np.testing.assert_allclose(history2[key], history1[key], rtol=1e-6, err_msg=key)
    assert history1["binary_accuracy"] == history2["binary_accuracy"]  # counts: exact


def test_a_block_is_bounded_in_memory(monkeypatch):
    monkeypatch.setattr(step_module, "BLOCK_BYTES", 32 * 4 * (9 + 1 + 1) * 2)  # two batches
    *_, blocks = _train(X, True)
    assert blocks == 2


def test_r2_sums_hold_for_targets_far_from_zero(monkeypatch):
    """R² takes its spread as sum(y²) - sum(y)²/n: summed in float32 over a block of
    thousands of rows of a target near 1,000 it would be swamped by rounding."""
    rng = np.random.default_rng(5)
    x = rng.standard_normal((4000, 3)).astype(np.float32)
    y = 1000.0 + x @ np.array([[1.0], [2.0], [0.5]]) + rng.standard_normal((4000, 1))
    y = y.astype(np.float32)
    results = []
    for block in (1, 64):
        monkeypatch.setattr(step_module, "BLOCK_BATCHES", block)
        model = Sequential(device="cpu", seed=2)
        model.add(Dense(8, activation="relu", input_dim=3))
        model.add(Dense(1))
        model.compile(loss="mse", optimizer="adam", metrics=["r2"])
        trainer = Trainer(model, x, y, epochs=1, batch_size=64, seed=1)
        list(trainer)
        outputs = model.predict(x)
        exact = 1 - ((y - outputs) ** 2).sum() / ((y - y.mean()) ** 2).sum()  # after the epoch
        results.append(trainer.history["r2"][0])
    np.testing.assert_allclose(results[0], results[1], rtol=1e-6)
    assert results[1] < exact  # the epoch's running figure trails the trained model's
