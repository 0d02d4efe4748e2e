"""Standardisation that holds for every finite float64, including values beyond float32.

A column of ±1e308 or 1e200·i is valid float64, yet the textbook formulas overflow on it:
the sum of the values, their squares, and ``x - mean`` itself can all exceed float64's range.
Here the mean and standard deviation are taken of the values scaled by a power of two,
and ``(x - mean) / std`` is worked out from halves, so nothing overflows and ordinary
columns get the same figures as before. The network trains in float32: a standardised
value is clipped to ``LIMIT``, which no training row reaches.
"""

from __future__ import annotations

import math

import numpy as np

# a training row's standardised value is at most sqrt(rows - 1) (Samuelson's inequality),
# so only rows far outside the training range meet this bound; it keeps float32 finite
LIMIT = 1e6


def mean_std(values: np.ndarray, n_filled: int = 0, fill: float = 0.0) -> tuple[float, float]:
    """Mean and standard deviation of the finite float64 ``values`` together with
    ``n_filled`` copies of ``fill`` (a value within their range); 1.0 as the deviation of a
    column of one value. ``values`` is overwritten (it is scratch memory to the callers).

    The values are scaled by a power of two that brings the largest magnitude into
    [0.5, 1): exact, so an ordinary column's figures are those of the plain formulas, while
    no sum or square can leave float64.
    """
    if values.size == 0:
        return 0.0, 1.0
    low, high = float(values.min()), float(values.max())
    if low == high:
        return low, 1.0
    exponent = math.frexp(max(-low, high))[1]
    low, high, fill = (math.ldexp(v, -exponent) for v in (low, high, fill))
    np.ldexp(values, -exponent, out=values)
    n = values.size + n_filled
    # the mean lies within the values and their spread is at most half their range: the
    # bounds keep rounding from carrying a figure past float64's largest number
    mean = min(max((float(values.sum()) + n_filled * fill) / n, low), high)
    values -= mean
    # not np.dot: OpenBLAS threads spin after a call, taking the cores a caller's pool works on
    variance = (float(np.einsum("i,i->", values, values)) + n_filled * (fill - mean) ** 2) / n
    std = math.ldexp(min(math.sqrt(variance), (high - low) / 2), exponent)
    return math.ldexp(mean, exponent), std if std > 0.0 else 1.0


def standardise(x: np.ndarray, mean, std) -> np.ndarray:
    """``(x - mean) / std`` in place (``mean``/``std`` broadcast), clipped to ±``LIMIT``.

    Halving is exact for every normal float64, so ``x / 2 - mean / 2`` is ``(x - mean) / 2``
    and cannot overflow; only a value millions of deviations out overflows the division,
    and it is clipped like any other far-out value. NaN stays NaN.
    """
    x *= 0.5
    x -= np.multiply(mean, 0.5)
    with np.errstate(over="ignore"):  # the infinities this makes are clipped below
        x /= std
        x *= 2.0
    return np.clip(x, -LIMIT, LIMIT, out=x)


# -- robust scaling with smooth clipping (RealMLP, Holzmüller et al. 2024) -------------------
SCALINGS: tuple[str, ...] = ("standard", "robust")
DEFAULT_SCALING = "robust"  # what a new fit uses; a model file without the field: "standard"
SOFT_CLIP = 3.0  # soft_clip's bound: its output lies in (-SOFT_CLIP, SOFT_CLIP)
_IQR_PER_STD = 1.3489795003921634  # the interquartile range of a standard normal


def robust_spread(finite: np.ndarray) -> float | None:
    """The interquartile range of the finite ``finite`` (not changed) over 1.349, so that a
    normal column gets about its standard deviation; None where the quartiles coincide (a
    mostly constant or binary column: the caller falls back to the standard deviation)."""
    n = finite.size
    if n < 2:
        return None
    ranks = [(n - 1) // 4, (3 * (n - 1)) // 4]
    low, high = np.partition(finite, ranks)[ranks]
    spread = (float(high) * 0.5 - float(low) * 0.5) * (2.0 / _IQR_PER_STD)
    return spread if spread > 0.0 and math.isfinite(spread) else None


def soft_clip(x: np.ndarray) -> np.ndarray:
    """``x / sqrt(1 + (x / SOFT_CLIP)**2)`` in place: about ``x`` near 0, never beyond
    ±``SOFT_CLIP``, so a far-out value cannot dominate a layer. NaN stays NaN. The ONNX
    export repeats these operations in this order."""
    t = x / SOFT_CLIP
    t *= t
    t += 1.0
    np.sqrt(t, out=t)
    x /= t
    return x
