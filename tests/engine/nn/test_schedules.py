"""The warm-up + cosine learning-rate schedule: its factors, a rate changed mid-run, and a
resumed run that goes on exactly as one that never stopped."""

from __future__ import annotations

import copy
import math

import numpy as np
import pytest

from engine.nn.layers import Dense
from engine.nn.models import Sequential
from engine.nn.optimizers import AdamW
from engine.nn.schedules import WarmupCosine, schedule_callback
from engine.nn.trainer import Trainer

RNG = np.random.default_rng(1)
X = RNG.standard_normal((64, 3)).astype(np.float32)
Y = (X[:, :1] > 0).astype(np.float32)


def _trainer(epochs=10, lr=0.01):
    model = Sequential(device="cpu", seed=3)
    model.add(Dense(6, activation="relu", input_dim=3))
    model.add(Dense(1, activation="sigmoid"))
    model.compile(loss="binary_crossentropy", optimizer=AdamW(lr, 0.01))
    schedule = WarmupCosine(epochs, 0.2, 0.1)
    return Trainer(model, X, Y, epochs=epochs, batch_size=16, seed=2,
                   validation_data=(X[:16], Y[:16]), callbacks=[schedule])  # fmt: skip


def test_factors_warm_up_linearly_then_follow_the_cosine():
    s = WarmupCosine(10, warmup=0.2, final=0.1)
    assert [s.factor(e) for e in (0, 1)] == pytest.approx([1 / 3, 2 / 3])
    for e in range(2, 10):
        want = 0.1 + 0.9 * 0.5 * (1 + math.cos(math.pi * (e - 2) / 8))
        assert s.factor(e) == pytest.approx(want)
    assert s.factor(2) == pytest.approx(1.0)


def test_the_run_logs_the_scheduled_rates():
    trainer = _trainer()
    list(trainer)
    schedule = WarmupCosine(10, 0.2, 0.1)
    assert trainer.history["lr"] == pytest.approx([0.01 * schedule.factor(e) for e in range(10)])


def test_a_rate_set_mid_run_holds_for_the_rest_of_the_run():
    trainer = _trainer()
    for _ in range(4 * trainer.steps_per_epoch):
        trainer.step()
    trainer.learning_rate = 0.5  # the app's control, between epochs
    list(trainer)
    schedule = WarmupCosine(10, 0.2, 0.1)
    lrs = trainer.history["lr"]
    assert lrs[:4] == pytest.approx([0.01 * schedule.factor(e) for e in range(4)])
    assert lrs[4:] == [0.5] * 6


def test_a_taken_over_rate_survives_a_resume():
    first = _trainer()
    for _ in range(3 * first.steps_per_epoch):
        first.step()
    first.learning_rate = 0.2
    for _ in range(2 * first.steps_per_epoch):
        first.step()
    state = copy.deepcopy(first.get_state())
    first.stop()
    resumed = _trainer()
    resumed.set_state(state)
    list(resumed)
    assert resumed.history["lr"][3:] == [0.2] * 7


def test_a_resumed_run_goes_on_as_if_it_never_stopped():
    straight = _trainer()
    list(straight)
    first = _trainer()
    for _ in range(5 * first.steps_per_epoch):
        first.step()
    state = copy.deepcopy(first.get_state())
    first.stop()
    resumed = _trainer()
    resumed.set_state(state)
    list(resumed)
    assert resumed.history == straight.history
    for a, b in zip(straight.model.get_weights(), resumed.model.get_weights()):
        np.testing.assert_array_equal(a, b)


def test_schedule_names():
    assert schedule_callback("constant", 10) is None
    assert isinstance(schedule_callback("cosine", 10), WarmupCosine)
    with pytest.raises(ValueError, match="schedule"):
        schedule_callback("linear", 10)
