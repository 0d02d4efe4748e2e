"""Callbacks: early stopping with best weights, learning-rate reduction, per-step observers."""

from __future__ import annotations

import numpy as np
import pytest

from engine import Sequential, Trainer
from engine.nn.callbacks import Callback, EarlyStopping, LambdaCallback, ReduceLROnPlateau
from engine.nn.layers import Dense

RNG = np.random.default_rng(1)
X = RNG.standard_normal((64, 3)).astype(np.float32)
Y = X @ np.array([[1.0], [-2.0], [0.5]], dtype=np.float32)


def _model():
    model = Sequential(device="cpu", seed=0)
    model.add(Dense(1, input_dim=3))
    model.compile(loss="mse", optimizer="sgd")
    return model


class _Scripted(Callback):
    """Feeds a scripted 'score' into the logs so monitors see known values."""

    def __init__(self, scores):
        self.scores = scores

    def on_epoch_end(self, epoch, logs=None):
        logs["score"] = self.scores[epoch]


def test_early_stopping_waits_patience_then_restores_the_best_weights():
    model = _model()
    seen = []
    keep = LambdaCallback(on_epoch_end=lambda epoch, logs: seen.append(model.get_weights()))
    stopper = EarlyStopping(monitor="score", patience=2, restore_best_weights=True)
    scores = [5.0, 3.0, 4.0, 3.5, 1.0, 0.5]
    model.fit(X, Y, epochs=6, verbose=0, callbacks=[_Scripted(scores), stopper, keep])
    assert len(seen) == 4 and stopper.stopped_epoch == 3 and stopper.best_epoch == 1
    for got, best in zip(model.get_weights(), seen[1]):
        np.testing.assert_array_equal(got, best)


def test_early_stopping_min_delta_and_max_mode():
    stopper = EarlyStopping(monitor="score", patience=1, min_delta=0.5, mode="max")
    _model().fit(X, Y, epochs=5, verbose=0, callbacks=[_Scripted([1, 1.4, 2, 2, 2]), stopper])
    assert stopper.stopped_epoch == 1


def test_reduce_lr_on_plateau_with_cooldown():
    reducer = ReduceLROnPlateau(monitor="score", factor=0.5, patience=1, cooldown=2, min_lr=0.003)
    scores = [1.0, 1.0, 1.0, 1.0, 1.0, 1.0]
    history = _model().fit(X, Y, epochs=6, verbose=0, callbacks=[_Scripted(scores), reducer])
    assert history.history["lr"] == pytest.approx([0.01, 0.01, 0.005, 0.005, 0.003, 0.003])


def test_missing_monitor_warns_and_does_nothing():
    with pytest.warns(UserWarning, match="val_loss"):
        _model().fit(X, Y, epochs=2, verbose=0, callbacks=[EarlyStopping(patience=0)])


def test_batch_observer_sees_every_step_with_its_loss():
    seen = []
    observer = LambdaCallback(on_train_batch_end=lambda batch, logs: seen.append((batch, logs)))
    model = _model()
    trainer = Trainer(model, X, Y, epochs=2, batch_size=16, seed=0, callbacks=[observer])
    list(trainer)
    steps, losses = trainer.drain_losses()
    assert [b for b, _ in seen] == [0, 1, 2, 3] * 2
    assert [logs["step"] for _, logs in seen] == steps.tolist()
    np.testing.assert_allclose([logs["loss"] for _, logs in seen], losses, rtol=1e-6)


def test_fit_verbose_prints_one_line_per_epoch(capsys):
    _model().fit(X, Y, epochs=2, validation_split=0.25)
    lines = capsys.readouterr().out.splitlines()
    assert len(lines) == 2 and lines[1].startswith("Epoch 2/2") and "val_loss" in lines[1]
