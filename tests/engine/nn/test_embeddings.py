"""The periodic numeric embedding: a float64 reference, finite differences, save/load, the
fast path (with the kernels' NumPy twins) against the eager step."""

from __future__ import annotations

import math

import numpy as np
import pytest

from engine.accel import FastPath
from engine.accel.graph import NumpyCapture
from engine.accel.ops import NumpyOps
from engine.nn.embeddings import PeriodicEmbedding
from engine.nn.layers import Dense
from engine.nn.models import Sequential
from engine.nn.optimizers import AdamW
from engine.nn.trainer import Trainer
from tests.engine.nn.test_gradients import _check

RNG = np.random.default_rng(5)
X = RNG.standard_normal((7, 5))


def _model(features=3, frequencies=4, dims=3, sigma=0.5, dtype="float64", units=2, head=None):
    layers = [
        PeriodicEmbedding(features, frequencies, dims, sigma, input_dim=X.shape[1]),
        Dense(4, "tanh"),
        Dense(units, head),
    ]
    model = Sequential(layers, device="cpu", seed=2, dtype=dtype)
    model.compile(loss="mse" if head is None else "binary_crossentropy", optimizer="sgd")
    model.build()
    return model


def _reference(layer, x):
    """The embedding written out with einsum, from the layer's weights."""
    c, w, b = (np.asarray(a, dtype=np.float64) for a in layer.weights())
    f = layer.features
    z = 2 * math.pi * x[:, :f, None] * c[None]
    v = np.concatenate([np.cos(z), np.sin(z)], axis=2)
    h = np.maximum(np.einsum("nfk,fkd->nfd", v, w) + b, 0.0)
    return np.concatenate([h.reshape(len(x), -1), x[:, f:]], axis=1)


def test_forward_equals_the_reference_and_the_widths_add_up():
    model = _model()
    layer = model.layers[0]
    assert layer.output_dim == 3 * 3 + 2 and model.layers[1].input_dim == 11
    assert layer.n_params == 3 * 4 + 3 * 8 * 3 + 3 * 3
    out = layer.forward(X)
    np.testing.assert_allclose(out, _reference(layer, X), rtol=1e-12, atol=1e-12)
    # a smaller batch after a larger one reuses the buffers' first rows
    np.testing.assert_allclose(layer.forward(X[:2]), _reference(layer, X[:2]), atol=1e-12)


@pytest.mark.parametrize("features", [1, 3, 5])
def test_parameter_gradients_match_finite_differences(features):
    model = _model(features=features)
    _check(model, X, RNG.standard_normal((len(X), 2)))


def test_input_gradient_matches_finite_differences():
    layer = _model().layers[0]
    g = RNG.standard_normal((len(X), layer.output_dim))
    layer.forward(X, training=True)
    analytic = layer.backward(g.copy(), input_grad=True).copy()
    numeric = np.empty_like(X)
    h = 1e-6
    for i, j in np.ndindex(*X.shape):
        up, down = X.copy(), X.copy()
        up[i, j] += h
        down[i, j] -= h
        numeric[i, j] = np.sum(_reference(layer, up) * g) - np.sum(_reference(layer, down) * g)
        numeric[i, j] /= 2 * h
    np.testing.assert_allclose(analytic, numeric, rtol=1e-5, atol=1e-8)


def test_bad_shapes_and_values_are_refused():
    with pytest.raises(ValueError, match="sigma"):
        PeriodicEmbedding(2, sigma=0.0)
    with pytest.raises(ValueError, match="embeds 6 of 5"):
        Sequential([PeriodicEmbedding(6, input_dim=5), Dense(1)], device="cpu").build()


def test_config_and_weights_round_trip():
    model = _model(dtype="float32")
    again = Sequential.from_config(model.get_config(), device="cpu")
    again.build(seed=9)
    again.set_weights(model.get_weights())
    x = X.astype(np.float32)
    np.testing.assert_array_equal(again.predict(x), model.predict(x))
    assert again.count_params() == model.count_params()


def _train(fast_path):
    x = np.random.default_rng(7).standard_normal((250, 5)).astype(np.float32)
    y = (x[:, :1] > 0).astype(np.float32)
    model = _model(dtype="float32", units=1, head="sigmoid")
    model.compile(loss="binary_crossentropy", optimizer=AdamW(1e-2, 0.01))
    trainer = Trainer(model, x, y, epochs=3, batch_size=32, seed=1, validation_data=(x, y),
                      fast_path=fast_path)  # fmt: skip
    captured = hasattr(trainer.train_function, "graph")
    for _ in trainer:
        pass
    return model.get_weights(), trainer.history, captured


@pytest.mark.parametrize(
    "config",
    [
        FastPath(graph=False, ops=NumpyOps()),
        FastPath(ops=NumpyOps(), capture=NumpyCapture()),
        True,  # on the CPU: asked for, stays eager
    ],
)
def test_the_fast_path_trains_like_eager(config):
    eager_w, eager_h, _ = _train(False)
    fast_w, fast_h, captured = _train(config)
    assert captured == (isinstance(config, FastPath) and config.graph)
    for a, b in zip(eager_w, fast_w):
        np.testing.assert_allclose(b, a, rtol=1e-4, atol=1e-5)
    np.testing.assert_allclose(fast_h["loss"], eager_h["loss"], rtol=1e-4)
