"""The engine's optimizers against PyTorch's, through a committed oracle (no torch here).

tests/fixtures/optimizer_oracle.json holds the weights PyTorch reached after 25 float64 steps
of each optimizer on a small fixed problem (scripts/make_optimizer_oracle.py made it and says
how the two libraries' definitions were made to agree). The engine replays the same training
from the same data and initial weights and must land on the same weights.
"""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pytest

from engine.layers import Dense
from engine.models import Sequential
from engine.nn.optimizers import SGD, Adam, AdamW, RMSprop
from engine.nn.trainer import Trainer

ORACLE = json.loads(
    (Path(__file__).resolve().parents[2] / "fixtures" / "optimizer_oracle.json").read_text()
)
OPTIMIZERS = {"SGD": SGD, "Adam": Adam, "AdamW": AdamW, "RMSprop": RMSprop}

# Measured agreement: at most 6e-16 of the largest weight (float64 rounding over 25 steps).
# The smallest error of a wrong rule below is 3.5e-7 (a step size off by one in a million).
# 1e-11 sits about 2e4 times above the first and 3e4 times below the second, leaving room for
# another machine's BLAS to sum in another order.
RTOL = 1e-11

# One plausible mistake per case, as a changed argument; each must miss the oracle.
SGD_RATE = ORACLE["cases"]["sgd"]["config"]["learning_rate"]
WRONG = {
    "sgd": {"learning_rate": SGD_RATE * (1 + 1e-6)},  # a one-in-a-million step-size error
    "sgd_momentum": {"momentum": 0.0},  # the momentum term missing
    "sgd_nesterov": {"nesterov": False},  # plain momentum instead of Nesterov's
    "adam": {"beta_2": 0.99},  # a wrong beta
    "adamw": {"weight_decay": 0.0},  # the decoupled decay not applied
    "rmsprop": {"rho": 0.95},  # a wrong decay rate
    "rmsprop_centered": {"centered": False},  # the mean gradient not subtracted
    "rmsprop_momentum": {"momentum": 0.0},  # the momentum term missing
}


def train(optimizer) -> list[np.ndarray]:
    """The engine's weights after the oracle's steps, from its data and initial weights."""
    x, y = np.array(ORACLE["x"]), np.array(ORACLE["y"])
    model = Sequential(device="cpu", dtype="float64", seed=0)
    model.add(Dense(8, activation="tanh", input_dim=x.shape[1]))
    model.add(Dense(1, activation="sigmoid"))
    model.compile(loss="binary_crossentropy", optimizer=optimizer)
    model.set_weights([np.array(w) for w in ORACLE["initial_weights"]])
    batch_size, steps = ORACLE["batch_size"], ORACLE["steps"]
    epochs = math.ceil(steps / math.ceil(len(x) / batch_size))
    trainer = Trainer(model, x, y, epochs=epochs, batch_size=batch_size, shuffle=False)
    for _ in range(steps):
        trainer.step()
    return model.get_weights()


def relative_error(weights, expected) -> float:
    """The largest difference over all weights, relative to the largest expected weight
    (per-element ratios would blow up on weights that happen to be near zero)."""
    got = np.concatenate([np.ravel(w) for w in weights])
    want = np.concatenate([np.ravel(w) for w in expected])
    return float(np.max(np.abs(got - want)) / np.max(np.abs(want)))


@pytest.mark.parametrize("name", list(ORACLE["cases"]))
def test_matches_pytorch(name):
    case = ORACLE["cases"][name]
    weights = train(OPTIMIZERS[case["optimizer"]](**case["config"]))
    assert relative_error(weights, case["weights"]) < RTOL
    # the check means something only if training moved the weights far past the tolerance
    assert relative_error(ORACLE["initial_weights"], case["weights"]) > 1e6 * RTOL


@pytest.mark.parametrize("name", list(WRONG))
def test_a_wrong_rule_misses(name):
    case = ORACLE["cases"][name]
    weights = train(OPTIMIZERS[case["optimizer"]](**{**case["config"], **WRONG[name]}))
    assert relative_error(weights, case["weights"]) > 100 * RTOL
