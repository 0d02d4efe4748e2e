"""The step-by-step trainer: records, pause / resume, learning-rate changes, stop,
reproducibility, per-step losses and divergence."""

from __future__ import annotations

import numpy as np
import pytest

from engine import GpuOutOfMemory, Sequential, Trainer, TrainingDiverged, UserError
from engine.nn.layers import Dense, Dropout
from engine.nn.optimizers import SGD

RNG = np.random.default_rng(0)
X = RNG.standard_normal((100, 4)).astype(np.float32)
Y = (X[:, :2].sum(axis=1, keepdims=True) > 0).astype(np.float32)


def _model(optimizer="adam", seed=None, dropout=0.1):
    model = Sequential(device="cpu", seed=seed)
    model.add(Dense(8, activation="relu", input_dim=4))
    model.add(Dropout(dropout))
    model.add(Dense(1, activation="sigmoid"))
    model.compile(loss="binary_crossentropy", optimizer=optimizer, metrics=["accuracy"])
    return model


def _trainer(model=None, **kwargs):
    args = {"epochs": 2, "batch_size": 32, "seed": 0, "validation_data": (X[:20], Y[:20])}
    return Trainer(model or _model(), X, Y, **{**args, **kwargs})


def test_records_count_steps_and_mark_epoch_ends():
    trainer = _trainer()
    assert (trainer.steps_per_epoch, trainer.total_steps) == (4, 8)
    records = list(trainer)
    assert [r.step for r in records] == list(range(1, 9))
    assert [(r.epoch, r.batch) for r in records[3:5]] == [(0, 3), (1, 0)]
    assert [r.samples for r in records[:4]] == [32, 32, 32, 4]
    ends = [r.epoch_end for r in records if r.epoch_end is not None]
    assert [e.epoch for e in ends] == [0, 1] and records[3].epoch_end is ends[0]
    assert set(ends[0].logs) == {"loss", "accuracy", "val_loss", "val_accuracy", "lr"}
    assert ends[0].seconds >= 0 and records[0].time <= records[-1].time
    assert trainer.done and trainer.global_step == 8 and trainer.epoch == 2
    assert trainer.history["val_loss"] == [e.logs["val_loss"] for e in ends]
    with pytest.raises(RuntimeError, match="finished"):
        trainer.step()


def test_drain_losses_returns_each_step_once():
    trainer = _trainer()
    for _ in range(3):
        trainer.step()
    steps, losses = trainer.drain_losses()
    assert steps.dtype == np.int64 and losses.dtype == np.float32
    assert steps.tolist() == [1, 2, 3] and np.isfinite(losses).all()
    for _ in trainer:
        pass
    steps, _ = trainer.drain_losses()
    assert steps.tolist() == [4, 5, 6, 7, 8]
    assert trainer.drain_losses()[0].size == 0


def test_epoch_loss_is_the_mean_of_step_losses_weighted_by_rows():
    trainer = _trainer(epochs=1)
    records = list(trainer)
    _, losses = trainer.drain_losses()
    rows = np.array([r.samples for r in records])
    expected = (losses * rows).sum() / rows.sum()
    assert records[-1].epoch_end.logs["loss"] == pytest.approx(expected, rel=1e-5)


def test_pause_change_learning_rate_and_resume():
    model = _model(SGD(0.1))
    trainer = _trainer(model)
    trainer.step()
    trainer.learning_rate = 0.02  # "paused": no step asked for in between
    assert model.optimizer.learning_rate == 0.02
    list(trainer)
    assert trainer.history["lr"] == [0.02, 0.02]
    with pytest.raises(UserError, match="positive"):
        trainer.learning_rate = -1


def test_stop_ends_the_run_between_steps():
    trainer = _trainer()
    trainer.step()
    trainer.stop()
    assert trainer.done and trainer.global_step == 1
    assert list(trainer) == []


def test_seeded_runs_are_reproducible():
    def run():
        model = _model()
        list(_trainer(model, seed=5))
        return model.get_weights()

    for a, b in zip(run(), run()):
        np.testing.assert_array_equal(a, b)


def test_unshuffled_batches_follow_the_data_order():
    trainer = _trainer(_model(SGD(0.0), seed=1, dropout=0), shuffle=False, epochs=1)
    list(trainer)
    _, losses = trainer.drain_losses()
    model = trainer.model
    for i, rows in enumerate([slice(0, 32), slice(32, 64)]):
        assert losses[i] == pytest.approx(model.evaluate(X[rows], Y[rows], verbose=0)[0], rel=1e-5)


@pytest.mark.filterwarnings("error")  # divergence is reported, never warned about
def test_diverging_loss_stops_with_the_step_and_advice():
    model = Sequential(device="cpu", seed=0)
    model.add(Dense(1, input_dim=4))
    model.compile(loss="mse", optimizer=SGD(1e8))
    trainer = Trainer(model, X, Y * 1e3, epochs=50, batch_size=10, seed=0)
    with pytest.raises(TrainingDiverged, match=r"step \d+.*lower the learning rate") as info:
        list(trainer)
    assert info.value.step == trainer.global_step


def test_trainer_needs_a_compiled_model_and_matching_rows():
    model = Sequential([Dense(1, input_dim=4)], device="cpu")
    with pytest.raises(ValueError, match="compile"):
        Trainer(model, X, Y)
    with pytest.raises(ValueError, match="rows"):
        Trainer(_model(), X, Y[:50])


def test_sparse_softmax_training_learns():
    labels = (X[:, 0] > 0).astype(np.int64) + (X[:, 1] > 0)
    model = Sequential(device="cpu", seed=0)
    model.add(Dense(16, activation="relu", input_dim=4))
    model.add(Dense(3, activation="softmax"))
    model.compile(loss="sparse_categorical_crossentropy", optimizer="adam", metrics=["accuracy"])
    history = model.fit(X, labels, epochs=60, batch_size=16, verbose=0)
    assert history.history["accuracy"][-1] > 0.8
    assert history.history["loss"][-1] < history.history["loss"][0]


def test_out_of_memory_becomes_a_user_error_naming_the_batch_size(monkeypatch):
    class OutOfMemoryError(Exception):  # what CuPy raises, by name
        pass

    trainer = _trainer()

    def fail(x, y):
        raise OutOfMemoryError("out of memory allocating 1,024 bytes")

    monkeypatch.setattr(trainer.model, "train_step", fail)
    with pytest.raises(GpuOutOfMemory, match="batch size 32"):
        trainer.step()


def test_set_random_seed_repeats_runs_without_seeds():
    from engine import set_random_seed

    def run():
        set_random_seed(11)
        model = _model(dropout=0.0)
        list(Trainer(model, X, Y, epochs=1, batch_size=16))
        return model.get_weights()

    for a, b in zip(run(), run()):
        np.testing.assert_array_equal(a, b)


@pytest.mark.filterwarnings("error")  # divergence is reported, never warned about
def test_a_failed_run_still_ends_with_its_hooks_and_the_best_weights():
    """Divergence ends the run like any other ending: on_train_end runs, so EarlyStopping
    puts back the last good (best) epoch's weights instead of leaving NaN ones."""
    from engine.nn.callbacks import EarlyStopping, LambdaCallback

    model = Sequential(device="cpu", seed=0)
    model.add(Dense(1, input_dim=4))
    model.compile(loss="mse", optimizer=SGD(1e-3))
    ended, best = [], EarlyStopping(patience=100, restore_best_weights=True)
    callbacks = [best, LambdaCallback(on_train_end=lambda *a: ended.append(1))]
    trainer = Trainer(model, X, Y, epochs=50, batch_size=10, seed=0, validation_data=(X, Y),
                      callbacks=callbacks)  # fmt: skip
    for _ in range(3 * trainer.steps_per_epoch):
        trainer.step()
    trainer.learning_rate = 1e9  # the next epoch diverges
    with pytest.raises(TrainingDiverged):
        list(trainer)
    assert ended == [1] and trainer.done
    weights = model.get_weights()
    assert all(np.isfinite(w).all() for w in weights)
    for a, b in zip(best.best_weights, weights):
        np.testing.assert_array_equal(a, b)
