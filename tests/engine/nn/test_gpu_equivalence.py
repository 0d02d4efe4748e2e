"""The same seeded training on NumPy and CuPy gives the same losses and weights (float32)."""

from __future__ import annotations

import numpy as np
import pytest

from engine import GpuOutOfMemory, Sequential, Trainer
from engine.nn.layers import Dense

pytestmark = pytest.mark.gpu

RNG = np.random.default_rng(0)
X = RNG.standard_normal((500, 6)).astype(np.float32)
Y = (X[:, :3].sum(axis=1, keepdims=True) > 0).astype(np.float32)


def _train(device: str, optimizer: str):
    model = Sequential(device=device, seed=3)
    model.add(Dense(32, activation="relu", input_dim=6))
    model.add(Dense(16, activation="tanh"))
    model.add(Dense(1, activation="sigmoid"))
    model.compile(loss="binary_crossentropy", optimizer=optimizer, metrics=["accuracy"])
    trainer = Trainer(model, X, Y, epochs=3, batch_size=64, seed=1, validation_data=(X, Y))
    initial = model.get_weights()
    list(trainer)
    return initial, trainer.drain_losses(), model.get_weights(), trainer.history


@pytest.mark.parametrize("optimizer", ["adam", "sgd", "rmsprop"])
def test_numpy_and_cupy_train_alike(optimizer):
    init_cpu, (steps_cpu, losses_cpu), w_cpu, hist_cpu = _train("cpu", optimizer)
    init_gpu, (steps_gpu, losses_gpu), w_gpu, hist_gpu = _train("gpu", optimizer)
    for a, b in zip(init_cpu, init_gpu):
        np.testing.assert_array_equal(a, b)
    np.testing.assert_array_equal(steps_cpu, steps_gpu)
    np.testing.assert_allclose(losses_gpu, losses_cpu, rtol=2e-3, atol=1e-5)
    for a, b in zip(w_cpu, w_gpu):
        np.testing.assert_allclose(b, a, rtol=2e-3, atol=2e-4)
    np.testing.assert_allclose(hist_gpu["val_loss"], hist_cpu["val_loss"], rtol=2e-3)


def test_predictions_come_back_to_the_host():
    model = Sequential(device="gpu", seed=0)
    model.add(Dense(3, activation="softmax", input_dim=6))
    out = model.predict(X)
    assert isinstance(out, np.ndarray) and np.allclose(out.sum(axis=1), 1, atol=1e-5)


def test_out_of_memory_names_the_batch_size():
    model = Sequential(device="gpu", seed=0)
    model.add(Dense(50_000, activation="relu", input_dim=1))
    model.add(Dense(1, activation="sigmoid"))
    model.compile(loss="binary_crossentropy", optimizer="sgd")
    rows = 1 << 20  # a (rows, 50000) float32 activation is 200 GB
    x = np.zeros((rows, 1), np.float32)
    with pytest.raises(GpuOutOfMemory, match="smaller batch"):
        trainer = Trainer(model, x, np.zeros((rows, 1), np.float32), epochs=1, batch_size=rows)
        trainer.step()
