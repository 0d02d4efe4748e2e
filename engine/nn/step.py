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


class TrainStep:
    """One mini-batch in plain ``xp`` code, over device data ``x`` ``(n, in)`` (an array or
    :class:`~engine.encoded_rows.EncodedRows`) and targets ``y``.

    The batch is gathered into buffers made once (``xb`` ``(batch, in)``, ``yb``), so a step
    allocates nothing; the loss and metric sums stay on the device until the epoch ends.
    """

    def __init__(self, model, x, y, batch_size: int) -> None:
        xp = model.xp
        self.model, self.x, self.y = model, x, y
        self.n, self.batch_size = len(x), int(batch_size)
        self.steps_per_epoch = math.ceil(self.n / self.batch_size)
        rows = min(self.batch_size, self.n)
        self.xb = xp.empty((rows, *x.shape[1:]), dtype=model.dtype)
        self.yb = xp.empty((rows, *y.shape[1:]), dtype=model.dtype)
        self.losses = xp.zeros(self.steps_per_epoch, dtype=model.dtype)
        self.loss_sum = xp.zeros((), dtype=xp.float64)
        # float64 sums, exact past 2**24 rows; shaped by one evaluation on a row of zeros
        zeros_y = xp.zeros((1, *y.shape[1:]), dtype=model.dtype)
        zeros_a = xp.zeros((1, model.layers[-1].output_dim), dtype=model.dtype)
        self.stats = [
            xp.zeros_like(m.stats(zeros_y, zeros_a).astype(xp.float64)) for m in model.metrics
        ]
        self.order = None

    def begin_epoch(self, order) -> None:
        self.order = order
        self.loss_sum.fill(0)
        for total in self.stats:
            total.fill(0)

    def rows(self, batch: int) -> int:
        """Rows in batch number ``batch`` (the last of an epoch may be smaller)."""
        return min(self.batch_size, self.n - batch * self.batch_size)

    def step(self, batch: int):
        xp, model = self.model.xp, self.model
        start = batch * self.batch_size
        stop = min(start + self.batch_size, self.n)
        rows = stop - start
        index = slice(start, stop) if self.order is None else self.order[start:stop]
        if isinstance(self.x, EncodedRows):  # one-hot columns expanded into the work buffer
            xb = self.x.write_rows(self.xb[:rows], index)
        elif self.order is None:
            xb = self.x[index]
        else:
            xb = xp.take(self.x, index, axis=0, out=self.xb[:rows])
        if self.order is None:
            yb = self.y[index]
        else:
            yb = xp.take(self.y, index, axis=0, out=self.yb[:rows])
        loss, outputs = model.train_step(xb, yb)
        self.add_to_sums(loss, yb, outputs, rows)
        self.losses[batch] = loss
        return loss

    def add_to_sums(self, loss, y, outputs, rows: int) -> None:
        """Add one batch's loss and metric statistics to the epoch's sums, on the device."""
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
