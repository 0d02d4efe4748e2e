"""A run taken up again from its state between epochs goes on exactly as if it had never
stopped: weights, history, optimizer moments, callbacks, batch order and dropout masks."""

from __future__ import annotations

import copy

import numpy as np
import pytest

from engine.nn.callbacks import EarlyStopping, ReduceLROnPlateau
from engine.nn.layers import Dense, Dropout
from engine.nn.models import Sequential
from engine.nn.optimizers import SGD, Adam, RMSprop
from engine.nn.trainer import Trainer

RNG = np.random.default_rng(0)
X = RNG.standard_normal((120, 5)).astype(np.float32)
Y = (X[:, :2].sum(axis=1, keepdims=True) > 0).astype(np.float32)


def _trainer(optimizer, epochs: int) -> Trainer:
    model = Sequential(device="cpu", seed=3)
    model.add(Dense(8, activation="relu", input_dim=5))
    model.add(Dropout(0.3))
    model.add(Dense(1, activation="sigmoid"))
    model.compile(loss="binary_crossentropy", optimizer=optimizer, metrics=["accuracy"])
    callbacks = [
        EarlyStopping(patience=50, restore_best_weights=True),
        ReduceLROnPlateau(patience=2, factor=0.5),
    ]
    return Trainer(model, X, Y, epochs=epochs, batch_size=16, seed=7,
                   validation_data=(X[:40], Y[:40]), callbacks=callbacks)  # fmt: skip


@pytest.mark.parametrize("make", [lambda: Adam(0.05), lambda: SGD(0.1, momentum=0.9),
                                  lambda: RMSprop(0.05, centered=True)])  # fmt: skip
def test_ten_epochs_straight_equal_five_then_five_more(make):
    straight = _trainer(make(), 10)
    list(straight)

    first = _trainer(make(), 10)
    for _ in range(5 * first.steps_per_epoch):
        first.step()
    state = copy.deepcopy(first.get_state())  # what a checkpoint at epoch 5's end keeps
    first.stop()
    resumed = _trainer(make(), 10)
    resumed.set_state(state)
    list(resumed)

    for a, b in zip(straight.model.get_weights(), resumed.model.get_weights()):
        np.testing.assert_array_equal(a, b)
    assert resumed.history == straight.history
    for a, b in zip(straight.loss_log.data(), resumed.loss_log.data()):  # every step's loss
        np.testing.assert_array_equal(a, b)
    assert len(set(straight.history["lr"])) > 1  # the plateau callback's state mattered
    assert resumed.global_step == straight.global_step
    best = [cb for cb in resumed.callbacks if isinstance(cb, EarlyStopping)][0]
    assert best.best_epoch == [cb for cb in straight.callbacks
                               if isinstance(cb, EarlyStopping)][0].best_epoch  # fmt: skip


def test_state_is_taken_between_epochs_and_set_before_the_first_step():
    trainer = _trainer(Adam(0.01), 3)
    trainer.step()
    with pytest.raises(RuntimeError, match="between epochs"):
        trainer.get_state()
    with pytest.raises(RuntimeError, match="before its first step"):
        trainer.set_state({})
