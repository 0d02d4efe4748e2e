"""A stand-in for engine.nn.trainer.Trainer with the same step API, for worker tests."""

from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np


@dataclass
class Epoch:
    epoch: int
    logs: dict
    seconds: float
    time: float


@dataclass
class Record:
    step: int
    epoch: int
    batch: int
    samples: int
    time: float
    epoch_end: Epoch | None


class FakeTrainer:
    """``epochs`` × ``steps_per_epoch`` steps of ``delay`` seconds with a falling loss."""

    def __init__(self, epochs=3, steps_per_epoch=50, delay=0.0, fail_at=None):
        self.epochs = epochs
        self.steps_per_epoch = steps_per_epoch
        self.total_steps = epochs * steps_per_epoch
        self.global_step = 0
        self.epoch = 0
        self.learning_rate = 0.01
        self.lr_seen: list[float] = []
        self.history = {"loss": [], "val_loss": [], "accuracy": []}
        self.stopped = False
        self._delay = delay
        self._fail_at = fail_at
        self._steps: list[int] = []
        self._losses: list[float] = []

    @property
    def done(self) -> bool:
        return self.stopped or self.global_step >= self.total_steps

    def stop(self) -> None:
        self.stopped = True

    def step(self) -> Record:
        if self._delay:
            time.sleep(self._delay)
        self.global_step += 1
        if self.global_step == self._fail_at:
            from engine.errors import UserError

            raise UserError("training diverged at step 5; lower the learning rate")
        self.lr_seen.append(self.learning_rate)
        loss = 1.0 / self.global_step
        self._steps.append(self.global_step)
        self._losses.append(loss)
        batch = (self.global_step - 1) % self.steps_per_epoch
        end = None
        if batch == self.steps_per_epoch - 1:
            logs = {"loss": loss, "val_loss": loss * 1.1, "accuracy": 1 - loss}
            for key, value in logs.items():
                self.history[key].append(value)
            end = Epoch(self.epoch, logs, 0.1, time.monotonic())
        record = Record(self.global_step, self.epoch, batch, 8, time.monotonic(), end)
        if end is not None:
            self.epoch += 1
        return record

    def drain_losses(self):
        steps = np.asarray(self._steps, np.int64)
        losses = np.asarray(self._losses, np.float32)
        self._steps, self._losses = [], []
        return steps, losses
