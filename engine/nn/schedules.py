"""Learning-rate schedules: a callback that sets the rate at each epoch's start.

:class:`WarmupCosine` multiplies a base rate by a factor of the epoch: a linear warm-up over
the first ``warmup`` fraction of the epochs, then a cosine decay to ``final`` times the base
at the last epoch (Loshchilov & Hutter's SGDR without restarts). The rate changes between
epochs only, so a GPU step is never synchronised for it.

Whoever changes the rate mid-run (the app's learning-rate control, through
``Trainer.learning_rate``) takes it over: that rate holds for the rest of the run and the
schedule sets no other. The base, the last rate set and whether the rate was taken over are
the callback's ``state_fields``, so a resumed run continues the same schedule. A finished run
extended to more epochs continues with the schedule stretched to the new total (the rate
rises again from where it had decayed to), so only a constant rate makes it equal a run
trained straight to that total.
"""

from __future__ import annotations

import math

from engine.nn.callbacks import Callback

SCHEDULES: tuple[str, ...] = ("cosine", "constant")


class WarmupCosine(Callback):
    """``base * factor(epoch)`` at each epoch's start over ``epochs`` epochs.

    ``factor``: ``(epoch + 1) / (W + 1)`` for the first ``W = round(warmup * epochs)`` epochs,
    then ``final + (1 - final) * (1 + cos(pi * (epoch - W) / (epochs - W))) / 2``.
    """

    state_fields = ("base", "last", "taken_over")

    def __init__(self, epochs: int, warmup: float = 0.05, final: float = 0.05):
        if epochs < 1 or not 0.0 <= warmup < 1.0 or not 0.0 <= final <= 1.0:
            raise ValueError("WarmupCosine needs epochs >= 1, warmup in [0, 1), final in [0, 1]")
        self.epochs, self.final = int(epochs), float(final)
        self.warmup_epochs = min(round(warmup * self.epochs), self.epochs - 1)
        self.base: float | None = None  # the rate the schedule scales (set at the start)
        self.last: float | None = None  # the rate this callback set last
        self.taken_over = False  # the rate was set from outside: the schedule stands aside

    def factor(self, epoch: int) -> float:
        w = self.warmup_epochs
        if epoch < w:
            return (epoch + 1) / (w + 1)
        progress = min((epoch - w) / max(self.epochs - w, 1), 1.0)
        return self.final + (1.0 - self.final) * 0.5 * (1.0 + math.cos(math.pi * progress))

    def on_train_begin(self, logs=None) -> None:
        self.base, self.last = float(self.model.optimizer.learning_rate), None
        self.taken_over = False

    def on_epoch_begin(self, epoch: int, logs=None) -> None:
        optimizer = self.model.optimizer
        current = float(optimizer.learning_rate)
        if self.last is not None and not math.isclose(current, self.last, rel_tol=1e-9):
            self.taken_over = True  # changed from outside since the last epoch
        if self.taken_over:
            return
        self.last = self.base * self.factor(epoch)
        optimizer.learning_rate = self.last


def schedule_callback(name: str, epochs: int, warmup: float = 0.05) -> Callback | None:
    """The callback for the schedule ``name`` (one of :data:`SCHEDULES`), or None."""
    if name == "constant":
        return None
    if name == "cosine":
        return WarmupCosine(epochs, warmup)
    raise ValueError(f"unknown learning-rate schedule {name!r}; use one of {', '.join(SCHEDULES)}")
