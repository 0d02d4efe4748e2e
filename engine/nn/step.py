"""The training step the trainer runs, and the one function that chooses it.

:func:`make_train_function` plays the role of Keras' ``make_train_function``: it returns the
eager :class:`TrainStep` (plain ``xp`` code, the reference) or, when the GPU fast path is
asked for, what :mod:`engine.accel` builds around it (fused kernels, the step captured as a
CUDA graph). Every step has the same interface:

* ``begin_epoch(order)``: a new epoch, its rows in ``order`` (a device int64 array) or in
  file order (None); zeroes the epoch's sums;
* ``step(batch)``: train on batch number ``batch`` of the epoch; returns the loss as a device
  scalar, or None when it stayed on the device (a replayed graph stores it in ``losses``);
* ``losses`` ``(steps_per_epoch,)``: this epoch's per-step losses, on the device;
* ``loss_sum`` and ``stats``: the epoch's sums of loss and of each metric's statistics;
* ``close()``: the run is over (the fast path puts the model's eager objects back).
"""

from __future__ import annotations

import math

import numpy as np

from engine.encoded_rows import EncodedRows

# A step gathers the rows of several batches at once (a block) and adds the block's metric
# statistics at once: per batch, both cost more in call overhead than in arithmetic on the CPU.
BLOCK_BATCHES = 64  # at most this many batches a block
BLOCK_BYTES = 1 << 22  # and at most about this much memory for a block's rows


class TrainStep:
    """One mini-batch in plain ``xp`` code, over device data ``x`` ``(n, in)`` (an array or
    :class:`~engine.encoded_rows.EncodedRows`) and targets ``y``.

    Rows are gathered a block of :attr:`block_batches` batches at a time into buffers made
    once (``xblock`` ``(block rows, in)``, ``yblock``; without shuffling, dense ``x`` is
    sliced, not copied), and each batch is a view of them, so a step allocates nothing. Each
    batch's outputs are kept in ``oblock`` and the metrics' statistics added once the block
    ends; the loss and metric sums stay on the device until the epoch ends. The batches,
    and so the training, are the same as gathering one batch at a time.
    """

    def __init__(self, model, x, y, batch_size: int) -> None:
        xp = model.xp
        self.model, self.x, self.y = model, x, y
        self.n, self.batch_size = len(x), int(batch_size)
        self.steps_per_epoch = math.ceil(self.n / self.batch_size)
        width = model.layers[-1].output_dim
        row_bytes = model.dtype.itemsize * (math.prod(x.shape[1:]) + math.prod(y.shape[1:]) + width)
        per_block = BLOCK_BYTES // max(1, row_bytes * self.batch_size)
        self.block_batches = max(1, min(BLOCK_BATCHES, per_block, self.steps_per_epoch))
        rows = min(self.batch_size * self.block_batches, self.n)
        self.xblock = xp.empty((rows, *x.shape[1:]), dtype=model.dtype)
        self.yblock = xp.empty((rows, *y.shape[1:]), dtype=model.dtype)
        self.oblock = xp.empty((rows, width), dtype=model.dtype)
        self.losses = xp.zeros(self.steps_per_epoch, dtype=model.dtype)
        self.loss_sum = xp.zeros((), dtype=xp.float64)
        # float64 sums, exact past 2**24 rows; shaped by one evaluation on a row of zeros
        zeros_y = xp.zeros((1, *y.shape[1:]), dtype=model.dtype)
        zeros_a = xp.zeros((1, width), dtype=model.dtype)
        self.stats = [
            xp.zeros_like(m.stats(zeros_y, zeros_a).astype(xp.float64)) for m in model.metrics
        ]
        self.order = None
        self._block = -1  # the block whose rows are loaded
        self._x_rows = self._y_rows = None  # its rows: views of the buffers, or of x and y
        self._first = 0  # the block's first batch stepped (a graph may have run the others)

    def begin_epoch(self, order) -> None:
        self.order = order
        self._block = -1
        self.loss_sum.fill(0)
        for total in self.stats:
            total.fill(0)

    def rows(self, batch: int) -> int:
        """Rows in batch number ``batch`` (the last of an epoch may be smaller)."""
        return min(self.batch_size, self.n - batch * self.batch_size)

    def step(self, batch: int):
        block, k = divmod(batch, self.block_batches)
        if block != self._block:
            self._load_block(block, batch)
        lo = k * self.batch_size
        hi = lo + self.rows(batch)
        loss, outputs = self.model.train_step(self._x_rows[lo:hi], self._y_rows[lo:hi])
        self.oblock[lo:hi] = outputs
        self.losses[batch] = loss
        if k == self.block_batches - 1 or batch == self.steps_per_epoch - 1:
            self._end_block(batch, hi)
        return loss

    def _load_block(self, block: int, first: int) -> None:
        """Gather the rows of block number ``block`` (its batches from ``first`` on)."""
        xp = self.model.xp
        start = block * self.block_batches * self.batch_size
        stop = min(start + self.block_batches * self.batch_size, self.n)
        skip = (first - block * self.block_batches) * self.batch_size  # rows a graph ran
        index = slice(start + skip, stop) if self.order is None else self.order[start + skip : stop]
        rows = stop - start - skip
        if isinstance(self.x, EncodedRows):  # one-hot columns expanded into the buffer
            self.x.write_rows(self.xblock[skip : skip + rows], index)
            x_rows = self.xblock
        elif self.order is None:
            x_rows = self.x[start:stop]
        else:
            xp.take(self.x, index, axis=0, out=self.xblock[skip : skip + rows])
            x_rows = self.xblock
        if self.order is None:
            y_rows = self.y[start:stop]
        else:
            xp.take(self.y, index, axis=0, out=self.yblock[skip : skip + rows])
            y_rows = self.yblock
        self._block, self._first, self._x_rows, self._y_rows = block, first, x_rows, y_rows

    def _end_block(self, batch: int, hi: int) -> None:
        """Add the loss and metric statistics of the block's batches up to ``batch``."""
        xp = self.model.xp
        lo = (self._first - self._block * self.block_batches) * self.batch_size
        losses = self.losses[self._first : batch + 1].astype(xp.float64)
        self.loss_sum += losses.sum() * self.batch_size
        last = self.rows(batch)
        if last != self.batch_size:  # the epoch's smaller last batch
            self.loss_sum += losses[-1] * (last - self.batch_size)
        y, outputs = self._y_rows[lo:hi], self.oblock[lo:hi]
        for total, metric in zip(self.stats, self.model.metrics):
            total += metric.stats(y, outputs).astype(np.float64)

    def add_to_sums(self, loss, y, outputs, rows: int) -> None:
        """Add one batch's loss and metric statistics to the epoch's sums, on the device
        (for a step run outside :meth:`step`: a replayed graph's)."""
        self.loss_sum += loss * rows
        for total, metric in zip(self.stats, self.model.metrics):
            total += metric.stats(y, outputs).astype(np.float64)

    def close(self) -> None:
        """Nothing to undo: the eager step changes nothing in the model."""


def make_train_function(
    model, x, y, batch_size: int, *, shuffle: bool = True, batch_callbacks: bool = False,
    fast_path=None,
):  # fmt: skip
    """The step a trainer runs over device data ``x``, ``y``.

    ``fast_path``: None (``GPU_TRAINER_FAST``), a bool, or an
    :class:`engine.accel.FastPath` (which kernels and which capture; the CPU tests pass the
    NumPy twins). ``shuffle`` and ``batch_callbacks`` tell the fast path whether the step
    can be captured. Any fast-path failure leaves the eager step, with the reason logged.
    """
    from engine import accel

    step = TrainStep(model, x, y, batch_size)
    config = accel.requested(fast_path)
    if config is None:
        return step
    return accel.make_fast_step(step, config, shuffle=shuffle, batch_callbacks=batch_callbacks)
