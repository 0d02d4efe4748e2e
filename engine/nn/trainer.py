"""The step-by-step training loop that ``fit``, the CLI and the GUI all drive.

The caller asks for one mini-batch at a time (``step()``) and gets a small
:class:`StepRecord`; pausing is not asking, stopping is ``stop()``, and the learning rate can
change between steps. The data go to the device once; each epoch's order is drawn on the
host from a seeded NumPy generator (the same on NumPy and CuPy), uploaded once and applied
on the device, batch by batch, into preallocated buffers. Per-step losses stay on the device
until ``drain_losses()`` or the end of the epoch reads them back, so a GPU is not
synchronised every step; on the CPU every loss is checked as it comes. Features given as
:class:`~engine.encoded_rows.EncodedRows` stay compact on the device and are expanded batch by
batch into the same buffer.
"""

from __future__ import annotations

import contextlib
import logging
import math
import time
from dataclasses import dataclass

import numpy as np

from engine.encoded_rows import EncodedRows, on_backend
from engine.errors import GpuOutOfMemory, TrainingDiverged, UserError
from engine.nn import seeding
from engine.nn.blas import largest_product, one_thread_if_small
from engine.nn.callbacks import Callback, History
from engine.nn.models import PREDICT_BATCH
from engine.nn.step import TrainStep, make_train_function
from engine.series import DecimatingBuffer

log = logging.getLogger(__name__)
LOSS_LOG_POINTS = 2048


@dataclass(frozen=True)
class EpochResult:
    """One finished epoch: ``logs`` has loss, metrics, val_loss, val_<metric>, lr."""

    epoch: int  # 0-based
    logs: dict[str, float]
    seconds: float
    time: float  # time.monotonic() at the end of the epoch


@dataclass(frozen=True)
class StepRecord:
    """One mini-batch: ``step`` global and 1-based, ``epoch`` and ``batch`` 0-based."""

    step: int
    epoch: int
    batch: int
    samples: int  # rows in this batch
    time: float  # time.monotonic() after the step
    epoch_end: EpochResult | None  # set on the epoch's last step


class Trainer:
    """Train a compiled model on ``x`` ``(n, features)`` (an array or
    :class:`~engine.encoded_rows.EncodedRows`) and ``y`` ``(n, outputs)`` (or
    ``(n,)`` class indices for a sparse loss), host arrays, for ``epochs`` epochs of
    ``ceil(n / batch_size)`` steps; the last batch of an epoch may be smaller.

    ``validation_data``: ``(x_val, y_val)``, evaluated at each epoch's end. ``seed`` fixes the
    batch order, and the initial weights when this trainer builds the model. ``fast_path``
    (default: ``GPU_TRAINER_FAST=1``) runs the step with fused kernels as a CUDA graph on a
    GPU (:mod:`engine.accel`; off by default and not yet verified on a GPU). The step itself
    comes from :func:`~engine.nn.step.make_train_function`: ``train_function``.
    """

    def __init__(
        self,
        model,
        x,
        y,
        epochs: int = 10,
        batch_size: int = 32,
        validation_data=None,
        shuffle: bool = True,
        seed: int | None = None,
        callbacks=None,
        fast_path: bool | None = None,
    ):
        if not model.compiled:
            raise ValueError("compile the model first: model.compile(loss=..., optimizer=...)")
        if not isinstance(x, EncodedRows):
            x = np.asarray(x)
        if x.ndim != 2 or len(x) == 0:
            raise ValueError(f"x must be a 2-D array with at least one row, not shape {x.shape}")
        if batch_size < 1 or epochs < 0:
            raise ValueError("batch_size must be at least 1 and epochs not negative")
        self.model = model
        self.epochs, self.batch_size, self.shuffle = int(epochs), int(batch_size), shuffle
        self.n = len(x)
        self.steps_per_epoch = math.ceil(self.n / self.batch_size)
        self.total_steps = self.epochs * self.steps_per_epoch
        self.global_step = self.epoch = 0
        self._batch = self._drained = 0
        self._rng = np.random.default_rng(seeding.stream_seed(seed, "order"))
        self._stopped = self._ended = self._started = False
        self._pending: list[tuple[np.ndarray, np.ndarray]] = []
        self.loss_log = DecimatingBuffer(LOSS_LOG_POINTS)  # every step's loss, bounded
        self._callback_states: list[dict] = []  # from set_state, applied at the first step
        self.history_callback = History()
        self.callbacks: list[Callback] = [self.history_callback, *(callbacks or [])]
        for callback in self.callbacks:
            callback.set_model(model)
        self._batch_callbacks = [c for c in self.callbacks if c.wants_batches]
        with _out_of_memory_hint(self.batch_size), model.backend.activate():
            model.build(x.shape[1], seed=seed)
            backend = model.backend
            self._val = None
            if validation_data is not None:
                xv, yv = validation_data
                xv = on_backend(xv, backend, model.dtype)
                self._val = (xv, model.targets(yv, len(xv)))
                # its products are small on most tables: one BLAS thread (engine.nn.blas)
                chunk = min(len(xv), PREDICT_BATCH)
                self._val_threads = (largest_product(model, chunk), backend.is_gpu)
            self.train_function = make_train_function(
                model,
                on_backend(x, backend, model.dtype),
                model.targets(y, self.n),
                self.batch_size,
                shuffle=shuffle,
                batch_callbacks=bool(self._batch_callbacks),
                fast_path=fast_path,
            )
        self.fast_path = not isinstance(self.train_function, TrainStep)
        self._check_each_step = not backend.is_gpu
        self._oom_hint = _out_of_memory_hint(self.batch_size)  # stateless: made once
        # the CPU's backend.activate() is a null context: one, not a new one at every step
        null = contextlib.nullcontext()
        self._on_device = backend.activate if backend.is_gpu else lambda: null

    # -- state ---------------------------------------------------------------------------

    @property
    def done(self) -> bool:
        return self._stopped or self.global_step >= self.total_steps

    @property
    def history(self) -> dict[str, list[float]]:
        """Per-epoch lists: loss, <metric>, val_loss, val_<metric>, lr."""
        return self.history_callback.history

    @property
    def learning_rate(self) -> float:
        return self.model.optimizer.learning_rate

    @learning_rate.setter
    def learning_rate(self, value: float) -> None:
        value = float(value)
        if not (value > 0 and math.isfinite(value)):
            raise UserError(f"the learning rate must be a positive number, not {value}")
        self.model.optimizer.learning_rate = value

    def add_callback(self, callback: Callback) -> None:
        """Add ``callback`` last (before the first step): it sees what every other callback
        did at an epoch's end (a run recorder checkpoints that)."""
        if self._started:
            raise RuntimeError("callbacks are added before the first step")
        if callback.wants_batches:  # the step was made without per-batch reporting
            raise ValueError("a per-batch callback is given to the Trainer when it is made")
        callback.set_model(self.model)
        self.callbacks.append(callback)

    def get_state(self) -> dict:
        """Everything this run needs to go on from here, taken between epochs (a checkpoint):
        ``epoch``, ``global_step``, the batch-order and dropout generators' states, the
        weights, the optimizer's state (host arrays) and learning rate, each callback's state.
        """
        if self._batch:
            raise RuntimeError("a trainer's state is taken between epochs, not mid-epoch")
        model = self.model
        optimizer = {k: model.backend.asnumpy(v) if k != "iterations" else v
                     for k, v in model.optimizer.get_state().items()}  # fmt: skip
        return {
            "epoch": self.epoch,
            "global_step": self.global_step,
            "order_rng": self._rng.bit_generator.state,
            "dropout_rng": model.get_rng_state(),
            "weights": model.get_weights(),
            "optimizer": optimizer,
            "learning_rate": self.learning_rate,
            "callbacks": [callback.get_state() for callback in self.callbacks],
            "loss_log": self.loss_log.get_state(),
        }

    def set_state(self, state: dict) -> None:
        """Go on from :meth:`get_state`'s ``state`` (before the first step): the next step is
        the first of epoch ``state["epoch"]``, and the callbacks get their state back right
        after their ``on_train_begin``."""
        if self._started:
            raise RuntimeError("a trainer's state is set before its first step")
        if len(state["callbacks"]) != len(self.callbacks):
            raise ValueError("the checkpoint was taken with other callbacks")
        model = self.model
        with model.backend.activate():
            model.set_weights(state["weights"])
            model.set_rng_state(state["dropout_rng"])
            model.optimizer.set_state(
                {k: v if k == "iterations" else model.backend.asarray(v, dtype=model.dtype)
                 for k, v in state["optimizer"].items()}
            )  # fmt: skip
        self.learning_rate = state["learning_rate"]
        self.epoch, self.global_step = int(state["epoch"]), int(state["global_step"])
        self._rng.bit_generator.state = state["order_rng"]
        self.loss_log.set_state(state["loss_log"])
        self._callback_states = state["callbacks"]

    def stop(self) -> None:
        """End the run before the next step (callbacks' ``on_train_end`` runs now)."""
        self._stopped = True
        self._finish()

    # -- the loop ------------------------------------------------------------------------

    def __iter__(self):
        while not self.done:
            yield self.step()

    def step(self) -> StepRecord:
        """Run one mini-batch; on an epoch's last batch, also validate and run callbacks.

        An error ends the run: the end-of-run hooks run (so a callback's best weights are put
        back), then the error is raised."""
        if self.done:
            raise RuntimeError("training is finished; create a new Trainer to train again")
        # a diverging run overflows on its way to NaN: that is reported as TrainingDiverged
        # (one sentence with the fix), not as NumPy warnings on the user's terminal
        quiet = np.errstate(over="ignore", invalid="ignore", divide="ignore")
        with self._oom_hint, self._on_device(), quiet:
            try:
                return self._step()
            except BaseException:
                self._end_on_error()
                raise

    def _end_on_error(self) -> None:
        self._stopped = True
        try:
            self._finish()
        except Exception:  # the run's own error is the one to raise; keep this one's trace
            log.exception("the end-of-run hooks failed after the run failed")

    def _step(self) -> StepRecord:
        if not self._started:
            self._started = True
            self.model.stop_training = False
            for callback in self.callbacks:
                callback.on_train_begin()
            for callback, saved in zip(self.callbacks, self._callback_states):
                callback.set_state(saved)
        if self._batch == 0:
            self._begin_epoch()
        rows = min(self.batch_size, self.n - self._batch * self.batch_size)
        loss = self.train_function.step(self._batch)
        return self._after_step(loss, rows)

    def _after_step(self, loss, rows: int) -> StepRecord:
        """Count the step, check it (CPU), run batch callbacks, end the epoch when due.
        ``loss`` is None when the step left it on the device (a replayed graph)."""
        self.global_step += 1
        self._batch += 1
        if loss is not None and self._check_each_step and not math.isfinite(float(loss)):
            raise TrainingDiverged(self.global_step, self.learning_rate)
        if self._batch_callbacks:
            logs = {"loss": float(loss), "step": self.global_step}
            for callback in self._batch_callbacks:
                callback.on_train_batch_end(self._batch - 1, logs)
        epoch, batch = self.epoch, self._batch - 1
        epoch_end = self._end_epoch() if self._batch == self.steps_per_epoch else None
        return StepRecord(self.global_step, epoch, batch, rows, time.monotonic(), epoch_end)

    def _begin_epoch(self) -> None:
        self._epoch_start = time.monotonic()
        order = None
        if self.shuffle:
            order = self.model.xp.asarray(self._rng.permutation(self.n))
        self.train_function.begin_epoch(order)
        self._drained = 0
        for callback in self.callbacks:
            callback.on_epoch_begin(self.epoch)

    def _end_epoch(self) -> EpochResult:
        model = self.model
        self._move_losses_to_host()
        step = self.train_function
        logs = {"loss": float(step.loss_sum) / self.n}
        for metric, total in zip(model.metrics, step.stats):
            totals = np.atleast_1d(model.backend.asnumpy(total)).astype(np.float64)
            logs[metric.name] = metric.result(totals, self.n)
        if self._val is not None:
            with one_thread_if_small(*self._val_threads):
                val = model.evaluate_device(*self._val)
            logs.update({f"val_{k}": v for k, v in val.items()})
        logs["lr"] = self.learning_rate
        finished, now = self.epoch, time.monotonic()
        # the epoch is closed before the callbacks run, so one that takes a checkpoint
        # (get_state) sees the run between epochs
        self.epoch += 1
        self._batch = 0
        for callback in self.callbacks:
            callback.on_epoch_end(finished, logs)
        result = EpochResult(finished, logs, now - self._epoch_start, now)
        if model.stop_training:
            self._stopped = True
        if self.done:
            self._finish()
        return result

    def _finish(self) -> None:
        if self.fast_path:  # the model goes back to eager code, keeping the fused state
            with self.model.backend.activate():
                self.train_function.close()
            self.fast_path = False
        if self._started and not self._ended:
            self._ended = True
            for callback in self.callbacks:
                callback.on_train_end()

    # -- per-step losses -----------------------------------------------------------------

    def drain_losses(self) -> tuple[np.ndarray, np.ndarray]:
        """``(steps int64 (k,), losses float32 (k,))`` of the steps since the last call,
        read back from the device at once."""
        self._move_losses_to_host()
        if not self._pending:
            return np.empty(0, np.int64), np.empty(0, np.float32)
        steps, losses = (np.concatenate(parts) for parts in zip(*self._pending))
        self._pending = []
        return steps, losses

    def _move_losses_to_host(self) -> None:
        """Copy this epoch's not yet drained losses to the host; raise on a non-finite one."""
        count = self._batch or (self.steps_per_epoch if self._started else 0)
        if count <= self._drained:
            return
        losses = self.model.backend.asnumpy(self.train_function.losses[self._drained : count])
        losses = losses.astype(np.float32)
        first = self.global_step - (count - self._drained) + 1
        steps = np.arange(first, first + len(losses), dtype=np.int64)
        self._drained = count
        self.loss_log.extend(steps, losses)
        bad = ~np.isfinite(losses)
        if bad.any():  # (on a GPU, found here when the losses are read back)
            self._end_on_error()
            raise TrainingDiverged(int(steps[bad.argmax()]), self.learning_rate)
        self._pending.append((steps, losses))


class _out_of_memory_hint:
    """Turn CuPy's out-of-memory errors into :class:`GpuOutOfMemory` with the fix."""

    def __init__(self, batch_size: int):
        self.batch_size = batch_size

    def __enter__(self):
        return self

    def __exit__(self, kind, exc, tb):
        if exc is None or not _is_out_of_memory(exc):
            return False
        raise GpuOutOfMemory(
            f"the GPU ran out of memory with batch size {self.batch_size}; use a smaller batch "
            "size or fewer units, or train on the CPU (--device cpu)"
        ) from None


def _is_out_of_memory(exc: BaseException) -> bool:
    name = type(exc).__name__
    return name == "OutOfMemoryError" or "ALLOC_FAILED" in str(exc)
