"""One BLAS thread for the CPU's small matrix products (the validation pass at each epoch's end).

OpenBLAS spreads a product of more than a few hundred thousand multiply-adds over all its
threads. On a machine whose cores are busy (other programs, the app's own threads) waking the
other threads costs far more than such a product: a 1,200-row validation pass of a 64-32
network, measured on a shared 2-core machine, took 1 to 11 ms with two threads and 0.2 to
0.5 ms with one, in one process, alternating. Products below :data:`SMALL_PRODUCT` gain little
from a second thread even on an idle machine, so they get one; larger ones keep every thread.
The result is the same either way: OpenBLAS splits the output between its threads, never a
sum.
"""

from __future__ import annotations

import contextlib
import functools

# multiply-adds of the largest matrix product below which one BLAS thread does the work
# (about a millisecond on one core)
SMALL_PRODUCT = 1 << 24
# below this, OpenBLAS runs a product on one thread anyway (measured: 400 x 64 x 32 took
# 15-16 us with one thread or two, 1,000 x 64 x 32 37 us with two and 52 with one), and
# threadpoolctl's limit would only cost its 20-45 us
TINY_PRODUCT = 1 << 19


@functools.cache
def _blas():
    """threadpoolctl's handle on the BLAS libraries loaded in this process, or None."""
    try:
        from threadpoolctl import ThreadpoolController
    except ImportError:  # (installed with scikit-learn; without it nothing is limited)
        return None
    try:
        blas = ThreadpoolController().select(user_api="blas")
    except Exception:  # an unusual library layout: leave the threads as they are
        return None
    return blas if blas.lib_controllers else None


def one_thread_if_small(multiply_adds: int, on_gpu: bool = False):
    """A context in which BLAS uses one thread, when the largest matrix product inside has
    fewer than :data:`SMALL_PRODUCT` ``multiply_adds`` (and at least :data:`TINY_PRODUCT`)
    and runs on the CPU; otherwise (or without threadpoolctl) a context that changes nothing."""
    if on_gpu or not TINY_PRODUCT <= multiply_adds < SMALL_PRODUCT:
        return contextlib.nullcontext()
    blas = _blas()
    if blas is None:
        return contextlib.nullcontext()
    return blas.limit(limits=1)


def largest_product(model, rows: int) -> int:
    """Multiply-adds of the largest matrix product of ``model``'s forward pass over ``rows``
    rows: ``rows`` times its largest layer's parameter count (weights and biases)."""
    return rows * max((layer.n_params for layer in model.layers), default=0)
