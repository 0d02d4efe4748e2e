"""Keras-style callbacks, called by :class:`engine.nn.trainer.Trainer` between steps.

A callback sees ``self.model`` (set by ``set_model``); it stops training by setting
``model.stop_training`` and changes the learning rate through
``model.optimizer.learning_rate``. ``on_train_batch_end`` receives the step's loss, which
costs a device sync per step, so the trainer calls it only for callbacks that override it.
"""

from __future__ import annotations

import math
import time
import warnings


class Callback:
    model = None
    # attributes that hold what the callback has learnt during a run; a checkpoint keeps
    # them (get_state) and a resumed run puts them back (set_state) after on_train_begin
    state_fields: tuple[str, ...] = ()

    def set_model(self, model) -> None:
        self.model = model

    @property
    def wants_batches(self) -> bool:
        return type(self).on_train_batch_end is not Callback.on_train_batch_end

    def get_state(self) -> dict:
        """The values of ``state_fields`` (numbers, lists, or lists of host arrays)."""
        return {name: getattr(self, name) for name in self.state_fields}

    def set_state(self, state: dict) -> None:
        """Put back what :meth:`get_state` gave."""
        for name in self.state_fields:
            if name in state:
                setattr(self, name, state[name])

    def on_train_begin(self, logs=None) -> None: ...

    def on_train_end(self, logs=None) -> None: ...

    def on_epoch_begin(self, epoch: int, logs=None) -> None: ...

    def on_epoch_end(self, epoch: int, logs=None) -> None: ...

    def on_train_batch_end(self, batch: int, logs=None) -> None:
        """``logs``: ``{"loss": float, "step": global step}``."""


class History(Callback):
    """``history``: ``{key: [value per epoch]}``; ``epoch``: the epoch numbers seen."""

    state_fields = ("history", "epoch")

    def __init__(self):
        self.history: dict[str, list[float]] = {}
        self.epoch: list[int] = []

    def on_epoch_end(self, epoch: int, logs=None) -> None:
        self.epoch.append(epoch)
        for key, value in (logs or {}).items():
            self.history.setdefault(key, []).append(value)

    def set_state(self, state: dict) -> None:
        """In place: whoever reads ``history`` (the app's live view) keeps the same lists."""
        self.history.clear()
        self.history.update({k: list(v) for k, v in state.get("history", {}).items()})
        self.epoch[:] = state.get("epoch", [])


class LambdaCallback(Callback):
    """Callables for any of the hooks, e.g. ``LambdaCallback(on_train_batch_end=f)`` to
    observe every step."""

    def __init__(
        self,
        on_epoch_begin=None,
        on_epoch_end=None,
        on_train_begin=None,
        on_train_end=None,
        on_train_batch_end=None,
    ):
        noop = lambda *args: None  # noqa: E731
        self.on_epoch_begin = on_epoch_begin or noop
        self.on_epoch_end = on_epoch_end or noop
        self.on_train_begin = on_train_begin or noop
        self.on_train_end = on_train_end or noop
        self.on_train_batch_end = on_train_batch_end or noop
        self._batches = on_train_batch_end is not None

    @property
    def wants_batches(self) -> bool:
        return self._batches


class _Monitor(Callback):
    """Tracks the best value of ``monitor`` (lower is better unless mode says otherwise)."""

    state_fields = ("best",)

    def __init__(self, monitor: str, min_delta: float, mode: str):
        self.monitor = monitor
        self.min_delta = abs(float(min_delta))
        if mode not in ("auto", "min", "max"):
            raise ValueError(f"mode must be 'auto', 'min' or 'max', not {mode!r}")
        maximise = mode == "max" or (
            mode == "auto" and ("acc" in monitor or monitor.endswith("r2"))
        )
        self._sign = -1.0 if maximise else 1.0
        self._warned = False
        self.best = math.inf

    def _reset(self) -> None:
        self.best = math.inf

    def _improved(self, logs) -> bool | None:
        """True when better by more than min_delta; None when the value is missing."""
        value = (logs or {}).get(self.monitor)
        if value is None:
            if not self._warned:
                warnings.warn(
                    f"{type(self).__name__}: '{self.monitor}' is not among the logged "
                    f"values ({', '.join(logs or {})}); it does nothing",
                    stacklevel=2,
                )
                self._warned = True
            return None
        score = self._sign * value
        if score < self.best - self.min_delta:
            self.best = score
            return True
        return False


class EarlyStopping(_Monitor):
    """Stop when ``monitor`` has not improved for ``patience`` epochs; optionally put back
    the weights of the best epoch at the end of training."""

    def __init__(
        self,
        monitor: str = "val_loss",
        min_delta: float = 0.0,
        patience: int = 0,
        verbose: int = 0,
        mode: str = "auto",
        restore_best_weights: bool = False,
    ):
        super().__init__(monitor, min_delta, mode)
        self.patience = int(patience)
        self.verbose = verbose
        self.restore_best_weights = restore_best_weights
        self.wait = 0
        self.stopped_epoch = None
        self.best_epoch = None
        self.best_weights = None

    state_fields = ("best", "wait", "stopped_epoch", "best_epoch", "best_weights")

    def on_train_begin(self, logs=None) -> None:
        self._reset()
        self.wait, self.stopped_epoch, self.best_epoch, self.best_weights = 0, None, None, None

    def on_epoch_end(self, epoch: int, logs=None) -> None:
        improved = self._improved(logs)
        if improved is None:
            return
        if improved:
            self.wait, self.best_epoch = 0, epoch
            if self.restore_best_weights:
                self.best_weights = self.model.get_weights()
            return
        self.wait += 1
        if self.wait >= self.patience:
            self.stopped_epoch = epoch
            self.model.stop_training = True
            if self.verbose:
                print(f"Epoch {epoch + 1}: early stopping")

    def on_train_end(self, logs=None) -> None:
        if self.restore_best_weights and self.best_weights is not None:
            if self.verbose:
                print(f"Restoring the weights of epoch {self.best_epoch + 1}")
            self.model.set_weights(self.best_weights)


class ReduceLROnPlateau(_Monitor):
    """Multiply the learning rate by ``factor`` after ``patience`` epochs without improvement,
    then wait ``cooldown`` epochs; never below ``min_lr``."""

    def __init__(
        self,
        monitor: str = "val_loss",
        factor: float = 0.1,
        patience: int = 10,
        verbose: int = 0,
        mode: str = "auto",
        min_delta: float = 1e-4,
        cooldown: int = 0,
        min_lr: float = 0.0,
    ):
        if factor >= 1.0:
            raise ValueError("ReduceLROnPlateau needs a factor below 1")
        super().__init__(monitor, min_delta, mode)
        self.factor, self.patience, self.verbose = float(factor), int(patience), verbose
        self.cooldown, self.min_lr = int(cooldown), float(min_lr)
        self.wait = self.cooldown_counter = 0

    state_fields = ("best", "wait", "cooldown_counter")

    def on_train_begin(self, logs=None) -> None:
        self._reset()
        self.wait = self.cooldown_counter = 0

    def on_epoch_end(self, epoch: int, logs=None) -> None:
        improved = self._improved(logs)
        if improved is None:
            return
        if self.cooldown_counter > 0:
            self.cooldown_counter -= 1
            self.wait = 0
        if improved:
            self.wait = 0
            return
        if self.cooldown_counter > 0:
            return
        self.wait += 1
        optimizer = self.model.optimizer
        if self.wait >= self.patience and optimizer.learning_rate > self.min_lr:
            optimizer.learning_rate = max(optimizer.learning_rate * self.factor, self.min_lr)
            if self.verbose:
                print(f"Epoch {epoch + 1}: learning rate reduced to {optimizer.learning_rate:g}")
            self.cooldown_counter, self.wait = self.cooldown, 0


class EpochLogger(Callback):
    """``fit(verbose=1)``: one line per epoch with its time and logs."""

    def __init__(self, epochs: int):
        self.epochs = epochs
        self._start = 0.0

    def on_epoch_begin(self, epoch: int, logs=None) -> None:
        self._start = time.monotonic()

    def on_epoch_end(self, epoch: int, logs=None) -> None:
        logs = logs or {}
        parts = [f"Epoch {epoch + 1}/{self.epochs}", f"{time.monotonic() - self._start:.2f}s"]
        parts += [f"{k}: {v:.4g}" if k == "lr" else f"{k}: {v:.4f}" for k, v in logs.items()]
        print(" - ".join(parts))
