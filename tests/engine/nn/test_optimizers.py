"""Optimizer updates against their closed forms (Keras's formulas), step by step."""

from __future__ import annotations

import math

import numpy as np
import pytest

from engine.nn import optimizers

W0 = np.array([0.5, -1.0, 2.0, 0.0])
GRADS = [
    np.array([0.1, -0.2, 0.3, 0.0]),
    np.array([-0.3, 0.1, 0.2, 1.0]),
    np.array([1.0, 1, 1, -1]),
]


def _run(optimizer):
    w = W0.copy()
    for g in GRADS:
        optimizer.step(w, g.copy())
    return w


def test_plain_sgd():
    expected = W0 - 0.1 * sum(GRADS)
    np.testing.assert_allclose(_run(optimizers.SGD(0.1)), expected)


@pytest.mark.parametrize("nesterov", [False, True])
def test_momentum_sgd(nesterov):
    w, v = W0.copy(), np.zeros(4)
    for g in GRADS:
        v = 0.9 * v - 0.1 * g
        w = w + (0.9 * v - 0.1 * g if nesterov else v)
    np.testing.assert_allclose(_run(optimizers.SGD(0.1, momentum=0.9, nesterov=nesterov)), w)


@pytest.mark.parametrize("weight_decay", [None, 0.1])
def test_adam_and_adamw(weight_decay):
    lr, b1, b2, eps = 0.01, 0.8, 0.95, 1e-7
    w, m, v = W0.copy(), np.zeros(4), np.zeros(4)
    for t, g in enumerate(GRADS, 1):
        if weight_decay:
            w = w - w * weight_decay * lr
        m = b1 * m + (1 - b1) * g
        v = b2 * v + (1 - b2) * g * g
        step = lr * math.sqrt(1 - b2**t) / (1 - b1**t)
        w = w - step * m / (np.sqrt(v) + eps)
    if weight_decay:
        optimizer = optimizers.AdamW(lr, weight_decay, b1, b2, eps)
    else:
        optimizer = optimizers.Adam(lr, b1, b2, eps)
    np.testing.assert_allclose(_run(optimizer), w, rtol=1e-12)


@pytest.mark.parametrize(("momentum", "centered"), [(0.0, False), (0.5, True)])
def test_rmsprop(momentum, centered):
    lr, rho, eps = 0.01, 0.9, 1e-7
    w, v, mg, mom = W0.copy(), np.zeros(4), np.zeros(4), np.zeros(4)
    for g in GRADS:
        v = rho * v + (1 - rho) * g * g
        mg = rho * mg + (1 - rho) * g
        denominator = v - mg * mg if centered else v
        increment = lr * g / np.sqrt(denominator + eps)
        mom = momentum * mom + increment
        w = w - (mom if momentum else increment)
    optimizer = optimizers.RMSprop(lr, rho, momentum, eps, centered)
    np.testing.assert_allclose(_run(optimizer), w, rtol=1e-12)


def test_learning_rate_change_takes_effect_on_the_next_step():
    optimizer = optimizers.SGD(0.1)
    w = np.ones(2)
    optimizer.step(w, np.ones(2))
    optimizer.learning_rate = 0.5
    optimizer.step(w, np.ones(2))
    np.testing.assert_allclose(w, [0.4, 0.4])


def test_names_and_errors():
    assert isinstance(optimizers.get("adam"), optimizers.Adam)
    assert optimizers.get("RMSprop").learning_rate == 0.001
    assert optimizers.get("sgd").learning_rate == 0.01
    with pytest.raises(ValueError, match="unknown optimizer"):
        optimizers.get("adamax")


def _decay_then_adam(w, g, m, v, t, lr, wd, b1, b2, eps):
    """The decoupled update as the reference writes it, one NumPy operation at a time in
    float32: ``w *= 1 - lr wd``, then Keras's Adam step."""
    w *= 1.0 - lr * wd
    m += (1.0 - b1) * (g - m)
    v += (1.0 - b2) * (g * g - v)
    w -= (lr * math.sqrt(1.0 - b2**t) / (1.0 - b1**t)) * (m / (np.sqrt(v) + eps))


def test_adamw_float32_steps_are_bit_for_bit_the_reference_rule():
    rng = np.random.default_rng(3)
    size, lr, wd, b1, b2, eps = 1000, 1e-3, 0.05, 0.9, 0.999, 1e-7
    w = rng.standard_normal(size).astype(np.float32)
    expected, m, v = w.copy(), np.zeros_like(w), np.zeros_like(w)
    optimizer = optimizers.AdamW(lr, wd, b1, b2, eps)
    for t in range(1, 31):
        g = (rng.standard_normal(size) * 0.1).astype(np.float32)
        g[:50] = 0.0  # rows no batch touches: only the decay moves them
        optimizer.step(w, g.copy())
        _decay_then_adam(expected, g, m, v, t, lr, wd, b1, b2, eps)
        if t == 15:  # a learning-rate change (a schedule's) takes effect at the next step
            optimizer.learning_rate = lr = 4e-4
    assert w.dtype == np.float32
    np.testing.assert_array_equal(w, expected)
    np.testing.assert_array_equal(optimizer.get_state()["m"], m)


def test_adamw_without_decay_is_adam_bit_for_bit_and_state_round_trips():
    rng = np.random.default_rng(4)
    grads = [rng.standard_normal(64).astype(np.float32) for _ in range(6)]
    w_adam = rng.standard_normal(64).astype(np.float32)
    w_adamw = w_adam.copy()
    adam, adamw = optimizers.Adam(0.01), optimizers.AdamW(0.01, weight_decay=0.0)
    for i, g in enumerate(grads):
        if i == 3:  # continue from a copy of the state, as a resumed run does
            resumed = optimizers.AdamW(0.01, weight_decay=0.0)
            resumed.set_state({k: np.copy(v) for k, v in adamw.get_state().items()})
            adamw = resumed
        adam.step(w_adam, g)
        adamw.step(w_adamw, g)
    np.testing.assert_array_equal(w_adamw, w_adam)
    assert adamw.iterations == 6
