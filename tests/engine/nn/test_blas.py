"""One BLAS thread for small products (engine.nn.blas): the same results, the threads back."""

from __future__ import annotations

import numpy as np
import pytest

from engine.nn import blas
from engine.nn.layers import Dense
from engine.nn.models import Sequential

threadpoolctl = pytest.importorskip("threadpoolctl")


def _blas_threads() -> list[int]:
    return [info["num_threads"] for info in threadpoolctl.threadpool_info()
            if info["user_api"] == "blas"]  # fmt: skip


def test_small_products_get_one_thread_and_the_threads_come_back():
    before = _blas_threads()
    with blas.one_thread_if_small(blas.SMALL_PRODUCT - 1):
        assert set(_blas_threads()) == {1}
    assert _blas_threads() == before
    with blas.one_thread_if_small(blas.SMALL_PRODUCT):  # a large product keeps every thread
        assert _blas_threads() == before
    with blas.one_thread_if_small(10, on_gpu=True):  # a GPU's products are not BLAS's
        assert _blas_threads() == before
    with blas.one_thread_if_small(blas.TINY_PRODUCT - 1):  # not worth changing the threads
        assert _blas_threads() == before
    with blas.one_thread_if_small(blas.TINY_PRODUCT):
        assert set(_blas_threads()) == {1}


def test_one_thread_gives_the_same_validation_figures():
    """A pass big enough for OpenBLAS to split over its threads (2,000 rows x 64 x 64):
    the loss and metric must be the same numbers with one thread."""
    rng = np.random.default_rng(0)
    x = rng.standard_normal((2000, 64)).astype(np.float32)
    y = (x[:, :3].sum(axis=1, keepdims=True) > 0).astype(np.float32)
    model = Sequential([Dense(64, "relu", input_dim=64), Dense(64, "relu"), Dense(1, "sigmoid")],
                       device="cpu", seed=0)  # fmt: skip
    model.compile(loss="binary_crossentropy", optimizer="adam", metrics=["binary_accuracy"])
    model.build(64)
    product = blas.largest_product(model, len(x))
    assert product == 2000 * (64 * 64 + 64) < blas.SMALL_PRODUCT
    threaded = model.evaluate(x, y)
    with blas.one_thread_if_small(product):
        single = model.evaluate(x, y)
    assert single == threaded
