"""Label smoothing and class weights of the cross-entropies: gradients by finite differences
in float64, and the values against a plain NumPy reference."""

from __future__ import annotations

import numpy as np
import pytest

from engine.nn import losses
from engine.nn.layers import Dense
from engine.nn.models import Sequential
from tests.engine.nn.test_gradients import _check as check_gradients

RNG = np.random.default_rng(5)
X = RNG.standard_normal((7, 4))


def _check(loss, head, units, y, fused):
    if not fused:
        loss.fused_activation = None
    model = Sequential([Dense(4, "tanh", input_dim=4), Dense(units, head)], device="cpu",
                       seed=2, dtype="float64")  # fmt: skip
    model.compile(loss=loss, optimizer="sgd")
    model.build(X.shape[1])
    check_gradients(model, X, y)


@pytest.mark.parametrize("fused", [True, False])
@pytest.mark.parametrize(("smoothing", "weights"), [(0.1, None), (0.0, [0.3, 2.5]),
                                                    (0.2, [1.5, 0.4])])  # fmt: skip
def test_binary_options_gradients(fused, smoothing, weights):
    y = RNG.integers(0, 2, (len(X), 1)).astype(float)
    _check(losses.BinaryCrossentropy(smoothing, weights), "sigmoid", 1, y, fused)


@pytest.mark.parametrize("fused", [True, False])
@pytest.mark.parametrize(("smoothing", "weights"), [(0.1, None), (0.0, [0.3, 2.5, 1.0]),
                                                    (0.2, [1.5, 0.4, 3.0])])  # fmt: skip
def test_categorical_options_gradients(fused, smoothing, weights):
    y = np.eye(3)[RNG.integers(0, 3, len(X))]
    _check(losses.CategoricalCrossentropy(smoothing, weights), "softmax", 3, y, fused)


def test_values_match_a_numpy_reference():
    z = RNG.standard_normal((6, 3))
    a = np.exp(z) / np.exp(z).sum(axis=1, keepdims=True)
    y = np.eye(3)[[0, 1, 2, 2, 1, 0]]
    weights = np.array([0.5, 2.0, 1.0])
    loss = losses.CategoricalCrossentropy(0.3, weights)
    t = y * 0.7 + 0.1
    expected = np.mean((y @ weights) * -(t * np.log(a)).sum(axis=1))
    assert float(loss.value(y, a, z)) == pytest.approx(expected, rel=1e-12)
    assert float(loss.value(y, a)) == pytest.approx(expected, rel=1e-9)

    zb = RNG.standard_normal((6, 1))
    p = 1 / (1 + np.exp(-zb))
    yb = np.array([[0.0], [1.0], [1.0], [0.0], [1.0], [0.0]])
    binary = losses.BinaryCrossentropy(0.2, [0.25, 4.0])
    tb = yb * 0.8 + 0.1
    wb = np.where(yb == 1, 4.0, 0.25)
    expected = np.mean(wb * -(tb * np.log(p) + (1 - tb) * np.log(1 - p)))
    assert float(binary.value(yb, p, zb)) == pytest.approx(expected, rel=1e-12)


def test_no_options_is_the_plain_loss_and_bad_smoothing_is_refused():
    z = RNG.standard_normal((5, 1))
    p = 1 / (1 + np.exp(-z))
    y = np.array([[0.0], [1.0], [1.0], [0.0], [1.0]])
    plain = losses.get("binary_crossentropy")
    same = losses.BinaryCrossentropy(0.0, [1.0, 1.0])
    assert float(plain.value(y, p, z)) == pytest.approx(float(same.value(y, p, z)), rel=1e-12)
    with pytest.raises(ValueError, match="label_smoothing"):
        losses.BinaryCrossentropy(1.0)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_plain_losses_are_bit_for_bit_the_textbook_expressions(dtype):
    """The plain binary cross-entropy from logits and the squared error reuse buffers and skip
    ``mean``'s Python layer: the loss must still be exactly ``expression.mean()``."""
    rng = np.random.default_rng(11)
    for n in (1, 7, 32, 257):
        z = (rng.standard_normal((n, 1)) * 8).astype(dtype)
        a = (1 / (1 + np.exp(-z))).astype(dtype)
        y = rng.integers(0, 2, (n, 1)).astype(dtype)
        grad = np.empty_like(a)
        got = losses.BinaryCrossentropy().logits_value_and_grad(y, z, a, grad)
        want = (np.maximum(z, 0) - z * y + np.log1p(np.exp(-np.abs(z)))).mean()
        assert got.dtype == want.dtype and got.tobytes() == want.tobytes()
        np.testing.assert_array_equal(grad, (a - y) * (1.0 / n))
        got = losses.MeanSquaredError().value_and_grad(y, a, grad)
        want = ((a - y) * (a - y)).mean()
        assert got.dtype == want.dtype and got.tobytes() == want.tobytes()
