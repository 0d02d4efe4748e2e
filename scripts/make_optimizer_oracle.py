"""Write tests/fixtures/optimizer_oracle.json: PyTorch's weights after a few optimizer steps.

The fixture is the oracle for tests/engine/nn/test_optimizer_oracle.py, which replays the same
training with the engine's SGD, Adam, AdamW and RMSprop using NumPy alone, so CI needs no
PyTorch. Everything the replay needs is stored: the data, the initial weights (drawn here
with NumPy, not by torch), the batch size, the number of steps, each case's engine
arguments and torch arguments, and the final weights, as float64 JSON numbers written with
``repr`` precision. Regenerate it only when the problem itself changes:

    pip install torch==2.13.0    # a CPU build is enough
    python scripts/make_optimizer_oracle.py

The problem, in float64 throughout: 48 rows of 5 features with 0/1 targets ``(48, 1)``;
Dense(8, tanh) -> Dense(1, sigmoid) with binary cross-entropy, the mean over the batch
(computed from the logits, as the engine does for a sigmoid head); 25 steps on batches of
16 rows taken in order without shuffling (3 per epoch), one constant learning rate per case.
The parameters are plain tensors in the engine's layout (kernels ``(in, out)``) rather than
``torch.nn.Linear`` modules, so no transposing is needed; the optimizers are element-wise.

Like with like. The engine follows Keras's update rules, which differ from torch's in places:

- Adam: Keras folds the bias correction into the step size and adds epsilon to ``sqrt(v)``
  uncorrected; torch adds it to ``sqrt(v_hat)``.
- RMSprop: Keras takes ``g / sqrt(v + eps)``, torch ``g / (sqrt(v) + eps)``; centred, Keras
  takes ``sqrt(v - mean_g**2 + eps)``, torch ``sqrt(v - mean_g**2) + eps``.

Every case therefore uses epsilon = 1e-30 in both, which vanishes next to ``v`` and
``sqrt(v)`` in float64 wherever it is added. 1e-12 is not small enough: under RMSprop's square
root it acts like 1e-6 on ``sqrt(v)``, and Keras's uncorrected Adam epsilon acts like
``eps / sqrt(1 - beta_2**t)`` (30 times larger at the first step); the weights then differed
by 1e-6 (RMSprop) and 1e-9 (Adam) of their scale, against 6e-16 with 1e-30. The other
differences are only of form: SGD momentum (Keras ``v = m v - lr g; w += v``, torch
``b = m b + g; w -= lr b``), Nesterov, and RMSprop momentum (Keras ``mom = m mom + lr g / d``,
torch ``b = m b + g / d; w -= lr b``) agree for a constant learning rate; AdamW scales
``w *= 1 - lr * wd`` before the Adam step in both, on every parameter, biases included.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import torch

OUT = Path(__file__).resolve().parent.parent / "tests" / "fixtures" / "optimizer_oracle.json"
SEED = 20250611
ROWS, FEATURES, HIDDEN = 48, 5, 8
BATCH_SIZE, STEPS = 16, 25
EPSILON = 1e-30

# name -> (engine optimizer, its arguments); the learning rates move every weight well away
# from its initial value in 25 steps without saturating the tanh units
CASES = {
    "sgd": ("SGD", {"learning_rate": 0.5, "momentum": 0.0, "nesterov": False}),
    "sgd_momentum": ("SGD", {"learning_rate": 0.1, "momentum": 0.9, "nesterov": False}),
    "sgd_nesterov": ("SGD", {"learning_rate": 0.1, "momentum": 0.9, "nesterov": True}),
    "adam": ("Adam", {"learning_rate": 0.02, "beta_1": 0.9, "beta_2": 0.999, "epsilon": EPSILON}),
    "adamw": (
        "AdamW",
        {
            "learning_rate": 0.02,
            "weight_decay": 0.01,
            "beta_1": 0.9,
            "beta_2": 0.999,
            "epsilon": EPSILON,
        },
    ),
    "rmsprop": (
        "RMSprop",
        {"learning_rate": 0.01, "rho": 0.9, "momentum": 0.0, "epsilon": EPSILON, "centered": False},
    ),
    "rmsprop_centered": (
        "RMSprop",
        {"learning_rate": 0.01, "rho": 0.9, "momentum": 0.0, "epsilon": EPSILON, "centered": True},
    ),
    "rmsprop_momentum": (
        "RMSprop",
        {"learning_rate": 0.01, "rho": 0.9, "momentum": 0.5, "epsilon": EPSILON, "centered": False},
    ),
}


def make_problem() -> tuple[np.ndarray, np.ndarray, list[np.ndarray]]:
    """Data ``x`` ``(48, 5)``, targets ``y`` ``(48, 1)`` from a noisy linear rule, and initial
    weights in the engine's order: kernel ``(5, 8)``, bias ``(8,)``, kernel ``(8, 1)``, bias
    ``(1,)``. Glorot-uniform kernels; biases non-zero so that AdamW's decay acts on them too."""
    rng = np.random.default_rng(SEED)
    x = rng.standard_normal((ROWS, FEATURES))
    score = x @ rng.standard_normal(FEATURES) + 0.5 * rng.standard_normal(ROWS)
    y = (score > 0).astype(np.float64).reshape(ROWS, 1)
    weights = []
    for fan_in, fan_out in ((FEATURES, HIDDEN), (HIDDEN, 1)):
        limit = np.sqrt(6.0 / (fan_in + fan_out))
        weights.append(rng.uniform(-limit, limit, (fan_in, fan_out)))
        weights.append(rng.uniform(-0.1, 0.1, fan_out))
    return x, y, weights


def torch_arguments(kind: str, config: dict) -> tuple[type, dict]:
    """The torch optimizer and arguments that match the engine's ``kind(**config)``."""
    lr, eps = config["learning_rate"], config.get("epsilon")
    if kind == "SGD":
        return torch.optim.SGD, {
            "lr": lr,
            "momentum": config["momentum"],
            "nesterov": config["nesterov"],
        }
    if kind in ("Adam", "AdamW"):
        arguments = {"lr": lr, "betas": (config["beta_1"], config["beta_2"]), "eps": eps}
        if kind == "AdamW":
            return torch.optim.AdamW, {**arguments, "weight_decay": config["weight_decay"]}
        return torch.optim.Adam, arguments
    return torch.optim.RMSprop, {
        "lr": lr,
        "alpha": config["rho"],
        "eps": eps,
        "momentum": config["momentum"],
        "centered": config["centered"],
    }


def train(x, y, initial, optimizer_class, arguments) -> list[np.ndarray]:
    """The weights after ``STEPS`` steps on in-order batches of ``BATCH_SIZE`` rows."""
    params = [torch.tensor(w, dtype=torch.float64, requires_grad=True) for w in initial]
    optimizer = optimizer_class(params, **arguments)
    x, y = torch.from_numpy(x), torch.from_numpy(y)
    batches = -(-ROWS // BATCH_SIZE)
    kernel0, bias0, kernel1, bias1 = params
    for step in range(STEPS):
        start = (step % batches) * BATCH_SIZE
        xb, yb = x[start : start + BATCH_SIZE], y[start : start + BATCH_SIZE]
        logits = torch.tanh(xb @ kernel0 + bias0) @ kernel1 + bias1
        loss = torch.nn.functional.binary_cross_entropy_with_logits(logits, yb)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    return [p.detach().numpy() for p in params]


def main() -> None:
    x, y, initial = make_problem()
    cases = {}
    for name, (kind, config) in CASES.items():
        optimizer_class, arguments = torch_arguments(kind, config)
        weights = train(x, y, initial, optimizer_class, arguments)
        cases[name] = {
            "optimizer": kind,
            "config": config,
            "torch": {"class": f"torch.optim.{optimizer_class.__name__}", **arguments},
            "weights": [w.tolist() for w in weights],
        }
    oracle = {
        "about": "made by scripts/make_optimizer_oracle.py; see its docstring",
        "torch_version": torch.__version__,
        "numpy_version": np.__version__,
        "batch_size": BATCH_SIZE,
        "steps": STEPS,
        "shuffle": False,
        "x": x.tolist(),
        "y": y.tolist(),
        "initial_weights": [w.tolist() for w in initial],
        "cases": cases,
    }
    OUT.write_text(json.dumps(oracle, indent=1) + "\n")
    print(f"wrote {OUT.relative_to(OUT.parents[2])} ({OUT.stat().st_size} bytes)")


if __name__ == "__main__":
    main()
