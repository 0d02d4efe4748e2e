"""Finite-difference checks, in float64, of every layer, activation, loss and the L2 penalty."""

from __future__ import annotations

import numpy as np
import pytest

from engine.nn import activations, losses, regularizers
from engine.nn.layers import Dense, Dropout
from engine.nn.models import Sequential

RNG = np.random.default_rng(0)
X = RNG.standard_normal((6, 4))


def _model(layers, loss):
    model = Sequential(layers, device="cpu", seed=1, dtype="float64")
    model.compile(loss=loss, optimizer="sgd")
    model.build(X.shape[1])
    return model


def _check(model, x, y, h=1e-6, rtol=1e-5, atol=1e-8):
    """Every analytic dL/dw matches the central difference of the evaluated loss."""
    y_dev = model.targets(y, len(x))
    model.compute_gradients(x, y_dev)
    analytic = model.gradients.copy()
    params = model.parameters
    numeric = np.empty_like(analytic)
    for i in range(params.size):
        keep = params[i]
        params[i] = keep + h
        up = model.evaluate_device(x, y_dev)["loss"]
        params[i] = keep - h
        down = model.evaluate_device(x, y_dev)["loss"]
        params[i] = keep
        numeric[i] = (up - down) / (2 * h)
    np.testing.assert_allclose(analytic, numeric, rtol=rtol, atol=atol)


@pytest.mark.parametrize("activation", sorted(activations.ACTIVATIONS))
def test_hidden_activation_gradients(activation):
    model = _model([Dense(5, activation, input_dim=4), Dense(2)], "mse")
    _check(model, X, RNG.standard_normal((6, 2)))


@pytest.mark.parametrize(
    ("loss", "head", "units", "targets"),
    [
        ("binary_crossentropy", "sigmoid", 2, lambda n: RNG.integers(0, 2, (n, 2))),
        ("categorical_crossentropy", "softmax", 3, lambda n: np.eye(3)[RNG.integers(0, 3, n)]),
        ("sparse_categorical_crossentropy", "softmax", 3, lambda n: RNG.integers(0, 3, n)),
        ("mse", "linear", 2, lambda n: RNG.standard_normal((n, 2))),
        ("mae", "linear", 2, lambda n: RNG.standard_normal((n, 2))),
        ("huber", "linear", 2, lambda n: 2 * RNG.standard_normal((n, 2))),
    ],
)
@pytest.mark.parametrize("fused", [True, False])
def test_loss_gradients(loss, head, units, targets, fused):
    loss_object = losses.get(loss)
    if not fused:
        loss_object.fused_activation = None
    model = _model([Dense(4, "tanh", input_dim=4), Dense(units, head)], loss_object)
    _check(model, X, targets(len(X)))


def test_l2_penalty_and_no_bias_gradients():
    layers = [
        Dense(3, "elu", input_dim=4, kernel_regularizer=regularizers.l2(0.05), use_bias=False),
        Dense(1, "sigmoid", kernel_regularizer=regularizers.l2(0.1)),
    ]
    model = _model(layers, "binary_crossentropy")
    _check(model, X, RNG.integers(0, 2, (6, 1)))


class _FixedRng:
    """Stands in for the dropout generator: the same draws every call."""

    def __init__(self, shape):
        self.values = np.random.default_rng(3).random(shape)

    def random(self, shape, dtype):
        return self.values.astype(dtype)


def test_dropout_gradients_with_a_fixed_mask():
    model = _model([Dense(5, "relu", input_dim=4), Dropout(0.4), Dense(1)], "mse")
    model.layers[1].rng = _FixedRng((6, 5))
    y = RNG.standard_normal((6, 1))
    y_dev = model.targets(y, 6)
    model.compute_gradients(X, y_dev)
    analytic = model.gradients.copy()
    # the training loss with the fixed mask, by differences
    params, h, numeric = model.parameters, 1e-6, np.empty_like(analytic)
    for i in range(params.size):
        keep = params[i]
        values = []
        for delta in (h, -h):
            params[i] = keep + delta
            values.append(float(model.compute_gradients(X, y_dev)[0]))
        params[i] = keep
        numeric[i] = (values[0] - values[1]) / (2 * h)
    np.testing.assert_allclose(analytic, numeric, rtol=1e-5, atol=1e-8)
    assert (model.layers[1]._mask == 0).any()


def test_saturated_logits_give_finite_loss_and_gradient():
    model = _model([Dense(1, "sigmoid", input_dim=4)], "binary_crossentropy")
    model.set_weights([np.full((4, 1), 400.0), np.zeros(1)])
    x = np.ones((2, 4))
    loss, _ = model.compute_gradients(x, model.targets(np.array([0.0, 1.0]), 2))
    assert np.isfinite(float(loss)) and float(loss) > 100
    assert np.isfinite(model.gradients).all()


def test_softmax_cross_entropy_is_stable_for_huge_logits():
    model = _model([Dense(3, "softmax", input_dim=4)], "sparse_categorical_crossentropy")
    model.set_weights([np.full((4, 3), 1e4) * [1, -1, 0], np.zeros(3)])
    loss, _ = model.compute_gradients(np.ones((1, 4)), model.targets(np.array([1]), 1))
    assert float(loss) == pytest.approx(8e4)
    assert np.isfinite(model.gradients).all()
