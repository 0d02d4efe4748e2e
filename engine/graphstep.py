"""The whole training step as one CUDA graph: captured once, replayed for every full batch.

Part of the GPU fast path (:mod:`engine.fastpath`): **off by default, unverified on a GPU.**

What the step needs from one batch to the next lives on the device, so one graph serves
every batch of every epoch:

* the epoch's order in a fixed buffer (refilled, not reallocated, each epoch);
* the batch number (``int32[1]``), which the graph reads to gather its rows and advances;
* the learning rate and the optimizer's step counter (:class:`~engine.fastpath.FusedOptimizer`);
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

from engine import fastpath

log = logging.getLogger(__name__)


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
    """Runs a :class:`~engine.trainer.Trainer`'s full batches as one replayed graph."""

    def __init__(self, trainer, capture) -> None:
        model = trainer.model
        xp = model.xp
        self.trainer, self.capture, self.xp = trainer, capture, xp
        self.ops = fastpath.ops_for(xp)
        batch = trainer.batch_size
        self.order = xp.zeros(trainer.n, dtype=np.int64)
        self.batch_no = xp.zeros(1, dtype=np.int32)
        self.loss_sum = xp.zeros((), dtype=np.float64)
        # the gather kernel indexes rows in C order (a Fortran-order upload would not be)
        self.x, self.y = xp.ascontiguousarray(trainer._x), xp.ascontiguousarray(trainer._y)
        self.xb = xp.zeros((batch, *self.x.shape[1:]), dtype=model.dtype)
        self.yb = xp.zeros((batch, *self.y.shape[1:]), dtype=self.y.dtype)
        # the metrics' sums, shaped by one evaluation on a batch of zeros
        outputs = xp.zeros((batch, model.layers[-1].output_dim), dtype=model.dtype)
        self.stats = [
            xp.zeros_like(m.stats(self.yb[:1] * 0, outputs[:1]).astype(np.float64))
            for m in model.metrics
        ]
        self.graph = None
        self.failed: str | None = None

    def begin_epoch(self) -> None:
        """After the trainer drew the epoch's order: refill and zero the fixed buffers."""
        trainer = self.trainer
        self.order[...] = trainer._order
        self.batch_no.fill(0)
        self.loss_sum.fill(0)
        for s in self.stats:
            s.fill(0)
        trainer._loss_sum, trainer._stats = self.loss_sum, list(self.stats)

    def _body(self) -> None:
        trainer, model, ops = self.trainer, self.trainer.model, self.ops
        batch = trainer.batch_size
        ops.gather_rows(self.x, self.order, self.batch_no, batch, self.xb)
        ops.gather_rows(self.y, self.order, self.batch_no, batch, self.yb)
        loss, outputs = model.train_step(self.xb, self.yb)
        self.loss_sum += loss * batch
        for total, metric in zip(self.stats, model.metrics):
            total += metric.stats(self.yb, outputs).astype(np.float64)
        ops.store_and_advance(trainer._losses, loss, self.batch_no)

    def run(self) -> bool:
        """One full batch; False when the graph cannot be used (the caller runs eagerly).

        The first call runs the step eagerly and captures the next; later calls replay."""
        if self.failed is not None:
            return False
        if self.graph is not None:
            self.capture.replay(self.graph)
            return True
        self.capture.run_eager(self._body)
        try:
            self.graph = self.capture.capture(self._body)
        except Exception as exc:  # noqa: BLE001 - any capture error: stay eager, say why
            self.failed = f"{type(exc).__name__}: {exc}"
            log.warning("CUDA graph capture failed, the step stays eager: %s", self.failed)
            return True
        # The graph writes where the work buffers were at capture time. A layer may later
        # swap a buffer for a larger one (validation runs bigger batches); holding the old
        # ones means their memory is never handed to another array while the graph lives.
        self.kept = self.work_buffers()
        return True

    def work_buffers(self) -> list:
        """Every work buffer the step uses: the layers', and the loss gradient's."""
        model = self.trainer.model
        found = [getattr(model, "_grad_out", None)]
        for layer in model.layers:
            found += list(getattr(layer, "_buffers", {}).values())
        return [b for b in found if b is not None]


def unsupported(trainer) -> str | None:
    """Why the trainer's steps cannot be captured, or None."""
    from engine.features import EncodedRows
    from engine.layers import Dropout

    if trainer.model.dtype != np.float32:
        return f"the kernels are float32; the model is {np.dtype(trainer.model.dtype).name}"
    if os.environ.get("CUPY_CUDA_PER_THREAD_DEFAULT_STREAM", "0") not in ("", "0"):
        return "CuPy's per-thread default stream would not be ordered with the graph's stream"
    if isinstance(trainer._x, EncodedRows):
        return "one-hot features are expanded per batch outside the graph"
    if any(isinstance(layer, Dropout) for layer in trainer.model.layers):
        return "Dropout draws random masks, which a replayed graph would repeat"
    if trainer._batch_callbacks:
        return "a per-batch callback reads every loss back"
    if not trainer.shuffle:
        return "the graph gathers by the epoch's order; without shuffling there is none"
    if trainer.steps_per_epoch < 2:
        return "fewer than two batches an epoch"
    return None
