"""One process-wide source of seeds, as Keras's ``set_random_seed``, and one independent
stream per use of a seed.

A model, trainer or data split given no seed takes one from here, so ``set_random_seed(n)``
makes a script that never passes seeds reproducible, and without it every run differs. One
seed feeds several uses (the split, the initial weights, dropout, the batch order); each gets
its own child of ``SeedSequence(seed)`` (:func:`stream_seed`), so no two draw the same
numbers.
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


STREAMS = ("split", "weights", "dropout", "order")


def stream_seed(seed: int | None, use: str) -> int:
    """The seed of ``use`` (one of :data:`STREAMS`): the ``use``-th spawned child of
    ``SeedSequence(resolve(seed))``, so the uses of one seed are independent streams."""
    child = np.random.SeedSequence(resolve(seed)).spawn(len(STREAMS))[STREAMS.index(use)]
    return int(child.generate_state(1)[0])
