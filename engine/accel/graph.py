"""The whole training step as one CUDA graph: captured once, replayed for every full batch.

Part of the GPU fast path (:mod:`engine.accel.fusion`): **off by default, unverified on a GPU.**

What the step needs from one batch to the next lives on the device, so one graph serves
every batch of every epoch:

* the epoch's order in a fixed buffer (refilled, not reallocated, each epoch);
* the batch number (``int32[1]``), which the graph reads to gather its rows and advances;
* the learning rate and the optimizer's step counter
  (:class:`~engine.accel.fusion.FusedOptimizer`);
* the per-step losses, the epoch's loss sum and metric sums, in fixed buffers.

The last batch of an epoch, when smaller, runs eagerly. Nothing is read back inside an epoch:
the trainer reads the losses when they are drained or at the epoch's end.

Capturing runs on its own stream (a created, blocking one, so that it is ordered with the
legacy default stream the rest of the engine uses), with a memory pool of its own that lives
as long as the graph (the graph's temporaries must never be handed to anyone else). The
first call runs the step eagerly on that stream with the default allocator, which also makes
the lasting buffers, compiles kernels and sets up cuBLAS, then captures the next one. Any
error while capturing leaves the trainer eager, with the reason logged.

:class:`NumpyCapture` stands in for CUDA graphs on NumPy (replay = run the step again), so
that the CPU tests check all of the above except the capture itself.
"""

from __future__ import annotations

import contextlib
import logging
import os

import numpy as np

from engine.encoded_rows import EncodedRows
from engine.nn.layers import Dropout

log = logging.getLogger("engine.accel")


class NumpyCapture:
    """Capture for NumPy: the 'graph' is the step function itself."""

    def run_eager(self, body) -> None:
        body()

    def capture(self, body):
        return body

    def replay(self, graph) -> None:
        graph()


class CudaGraphCapture:
    """Stream capture with CuPy on a created (non-default) stream and a private pool."""

    def __init__(self) -> None:
        import cupy

        self.cupy = cupy
        self.stream = cupy.cuda.Stream()  # ordered with the legacy default stream
        self.pool = cupy.cuda.MemoryPool()

    def run_eager(self, body) -> None:
        # the default allocator: buffers made here (layers', optimizer state) outlive the
        # graph and must not come from its pool, which is freed with it
        with self.stream:
            body()

    def capture(self, body):
        with self.cupy.cuda.using_allocator(self.pool.malloc), self.stream:
            self.stream.begin_capture()
            try:
                body()
            except BaseException:
                with contextlib.suppress(Exception):  # end it; the body's error is the one
                    self.stream.end_capture()
                raise
            return self.stream.end_capture()

    def replay(self, graph) -> None:
        graph.launch(self.stream)


class GraphStep:
    """Runs a step's full batches as one replayed graph; the ragged last batch, and every
    batch once capturing failed, run through the wrapped ``step`` (see :mod:`engine.nn.step`
    for the interface both share)."""

    def __init__(self, step, capture, ops) -> None:
        model = step.model
        xp = model.xp
        self.inner, self.capture, self.ops, self.model = step, capture, ops, model
        self.n, self.batch_size = step.n, step.batch_size
        self.steps_per_epoch = step.steps_per_epoch
        self.order = xp.zeros(self.n, dtype=np.int64)
        self.batch_no = xp.zeros(1, dtype=np.int32)
        # the gather kernel indexes rows in C order (a Fortran-order upload would not be)
        self.x, self.y = xp.ascontiguousarray(step.x), xp.ascontiguousarray(step.y)
        self.xb = xp.zeros((self.batch_size, *self.x.shape[1:]), dtype=model.dtype)
        self.yb = xp.zeros((self.batch_size, *self.y.shape[1:]), dtype=self.y.dtype)
        self.graph = None
        self.kept: list = []
        self.failed: str | None = None

    @property
    def losses(self):
        return self.inner.losses

    @property
    def loss_sum(self):
        return self.inner.loss_sum

    @property
    def stats(self):
        return self.inner.stats

    def begin_epoch(self, order) -> None:
        """Refill the fixed order buffer and zero the batch number and the sums."""
        self.inner.begin_epoch(order)
        self.order[...] = order
        self.batch_no.fill(0)

    def step(self, batch: int):
        if self.failed is not None or self.inner.rows(batch) != self.batch_size:
            return self.inner.step(batch)
        self.run()
        return None

    def _body(self) -> None:
        ops, batch = self.ops, self.batch_size
        ops.gather_rows(self.x, self.order, self.batch_no, batch, self.xb)
        ops.gather_rows(self.y, self.order, self.batch_no, batch, self.yb)
        loss, outputs = self.model.train_step(self.xb, self.yb)
        self.inner.add_to_sums(loss, self.yb, outputs, batch)
        ops.store_and_advance(self.inner.losses, loss, self.batch_no)

    def run(self) -> None:
        """One full batch: the first call runs it eagerly and captures the next; later calls
        replay. A capture error leaves the step eager from then on, with the reason logged."""
        if self.graph is not None:
            self.capture.replay(self.graph)
            return
        self.capture.run_eager(self._body)
        try:
            self.graph = self.capture.capture(self._body)
        except Exception as exc:  # noqa: BLE001 - any capture error: stay eager, say why
            self.failed = f"{type(exc).__name__}: {exc}"
            log.warning("CUDA graph capture failed, the step stays eager: %s", self.failed)
            return
        # The graph writes where the work buffers were at capture time. A layer may later
        # swap a buffer for a larger one (validation runs bigger batches); holding the old
        # ones means their memory is never handed to another array while the graph lives.
        self.kept = self.work_buffers()

    def work_buffers(self) -> list:
        """Every work buffer the step uses: the model's (layers' and the loss gradient's)."""
        return self.model.work_buffers()

    def close(self) -> None:
        self.graph, self.kept = None, []
        self.inner.close()


def unsupported(step, shuffle: bool, batch_callbacks: bool) -> str | None:
    """Why ``step`` (see :mod:`engine.nn.step`) cannot be captured, or None."""
    model = step.model
    if model.dtype != np.float32:
        return f"the kernels are float32; the model is {np.dtype(model.dtype).name}"
    if os.environ.get("CUPY_CUDA_PER_THREAD_DEFAULT_STREAM", "0") not in ("", "0"):
        return "CuPy's per-thread default stream would not be ordered with the graph's stream"
    if isinstance(step.x, EncodedRows):
        return "one-hot features are expanded per batch outside the graph"
    if any(isinstance(layer, Dropout) for layer in model.layers):
        return "Dropout draws random masks, which a replayed graph would repeat"
    if batch_callbacks:
        return "a per-batch callback reads every loss back"
    if not shuffle:
        return "the graph gathers by the epoch's order; without shuffling there is none"
    if step.steps_per_epoch < 2:
        return "fewer than two batches an epoch"
    return None
