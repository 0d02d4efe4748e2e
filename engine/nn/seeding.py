"""One process-wide source of seeds, as Keras's ``set_random_seed``.

A model or trainer given no seed takes one from here, so ``set_random_seed(n)`` makes a
script that never passes seeds reproducible, and without it every run differs.
"""

from __future__ import annotations

import numpy as np

_source = np.random.default_rng()


def set_random_seed(seed: int) -> None:
    """Make the weights and batch orders of models and trainers without a seed repeatable."""
    global _source
    _source = np.random.default_rng(seed)


def resolve(seed: int | None) -> int:
    """``seed``, or the next seed from the process-wide source."""
    return int(_source.integers(2**31)) if seed is None else seed
