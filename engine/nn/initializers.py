"""Kernel initialisers, drawn on the host with a seeded NumPy generator.

Drawing on the host and copying to the device gives the same initial weights on NumPy and
CuPy for the same seed. Each initialiser maps ``(rng, (fan_in, fan_out))`` to a float64 array.
"""

from __future__ import annotations

import math

import numpy as np

# activations whose derivative is zero or small for negative inputs want He's larger variance
_HE_ACTIVATIONS = ("relu", "leaky_relu", "elu", "gelu")


def glorot_uniform(rng: np.random.Generator, shape: tuple[int, int]) -> np.ndarray:
    limit = math.sqrt(6.0 / (shape[0] + shape[1]))
    return rng.uniform(-limit, limit, shape)


def glorot_normal(rng: np.random.Generator, shape: tuple[int, int]) -> np.ndarray:
    return _truncated_normal(rng, shape, math.sqrt(2.0 / (shape[0] + shape[1])))


def he_uniform(rng: np.random.Generator, shape: tuple[int, int]) -> np.ndarray:
    limit = math.sqrt(6.0 / shape[0])
    return rng.uniform(-limit, limit, shape)


def he_normal(rng: np.random.Generator, shape: tuple[int, int]) -> np.ndarray:
    return _truncated_normal(rng, shape, math.sqrt(2.0 / shape[0]))


def _truncated_normal(rng: np.random.Generator, shape, stddev: float) -> np.ndarray:
    """Normal, redrawn beyond two standard deviations, rescaled to keep ``stddev`` (as Keras)."""
    scale = stddev / 0.87962566103423978  # std of a standard normal truncated to [-2, 2]
    values = rng.standard_normal(shape)
    outside = np.abs(values) > 2
    while outside.any():
        values[outside] = rng.standard_normal(int(outside.sum()))
        outside = np.abs(values) > 2
    return values * scale


INITIALIZERS = {f.__name__: f for f in (glorot_uniform, glorot_normal, he_uniform, he_normal)}


def default_for(activation: str) -> str:
    """He for the ReLU family, Glorot otherwise."""
    return "he_uniform" if activation in _HE_ACTIVATIONS else "glorot_uniform"


def get(name: str):
    if name not in INITIALIZERS:
        raise ValueError(
            f"unknown kernel initializer {name!r}; use one of {', '.join(INITIALIZERS)}"
        )
    return INITIALIZERS[name]
