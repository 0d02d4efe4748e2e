"""The network a run trains: its hidden layers from the settings, its head from the task."""

from __future__ import annotations

from dataclasses import replace

import numpy as np

from engine.nn import losses, optimizers
from engine.nn.embeddings import PeriodicEmbedding
from engine.nn.layers import Dense, Dropout
from engine.nn.models import Sequential
from engine.nn.regularizers import l2
from engine.run.settings import (
    ADAM_BETAS,
    EMBEDDING_DIMS,
    EMBEDDING_FREQUENCIES,
    EMBEDDING_SIGMA,
    TrainSettings,
    head_for,
    resolve_activation,
)


def build_model(
    n_inputs: int, n_outputs: int, task: str, settings: TrainSettings, class_weights=None,
    numeric_inputs: int = 0, table_rows: int | None = None,
):  # fmt: skip
    """A compiled engine Sequential: the numeric embedding the settings ask for, the hidden
    layers, then the head the task needs. A layer's "auto" activation is decided by
    ``table_rows`` (:func:`~engine.run.settings.resolve_activation`).

    ``class_weights`` ``(classes,)``: each class's row weight in the classification loss
    (:func:`class_weights`), or None. ``numeric_inputs``: how many of the first inputs are
    numeric columns (:attr:`PreparedData.n_numeric`), the ones a "periodic"
    ``numeric_embedding`` embeds; with none, there is no embedding."""
    settings.check()
    penalty = l2(settings.l2) if settings.l2 > 0 else None
    model = Sequential(device=settings.device, seed=settings.seed)
    if settings.numeric_embedding == "periodic" and numeric_inputs > 0:
        model.add(
            PeriodicEmbedding(numeric_inputs, EMBEDDING_FREQUENCIES, EMBEDDING_DIMS,
                              EMBEDDING_SIGMA, input_dim=n_inputs)
        )  # fmt: skip
        n_inputs = None  # the first Dense layer takes what the embedding gives
    for i, layer in enumerate(settings.layers):
        model.add(
            Dense(
                layer.units,
                activation=resolve_activation(layer.activation, table_rows),
                input_dim=n_inputs if i == 0 else None,
                kernel_regularizer=penalty,
            )
        )
        if layer.dropout > 0:
            model.add(Dropout(layer.dropout))
    head, loss, metric = head_for(task, n_outputs)
    first = not settings.layers
    model.add(Dense(n_outputs, activation=head, input_dim=n_inputs if first else None))
    model.compile(loss=make_loss(loss, settings, class_weights),
                  optimizer=make_optimizer(settings), metrics=[metric])  # fmt: skip
    return model


def make_optimizer(settings: TrainSettings) -> optimizers.Optimizer:
    """The settings' optimizer at their learning rate; adam(w) with :data:`ADAM_BETAS`."""
    name = settings.optimizer.lower()
    rate = settings.learning_rate
    if name == "adamw":
        return optimizers.AdamW(rate, settings.weight_decay, *ADAM_BETAS)
    if name == "adam":
        return optimizers.Adam(rate, *ADAM_BETAS)
    optimizer = optimizers.get(name)
    optimizer.learning_rate = rate
    return optimizer


def make_loss(name: str, settings: TrainSettings, class_weights=None) -> losses.Loss:
    """The head's loss with the settings' label smoothing and the given class weights."""
    if name in ("binary_crossentropy", "categorical_crossentropy"):
        return losses.get(name).__class__(settings.label_smoothing, class_weights)
    return losses.get(name)


def class_weights(y: np.ndarray, setting: str) -> list[float] | None:
    """Per-class weights from training targets ``y`` (``(n, 1)`` 0/1 or ``(n, k)`` one-hot):
    None for "none"; for "balanced" ``n / (classes * rows of the class)`` (scikit-learn's
    definition; a class with no rows gets 1)."""
    if setting == "none":
        return None
    y = np.asarray(y, dtype=np.float64)
    counts = np.array([len(y) - y.sum(), y.sum()]) if y.shape[1] == 1 else y.sum(axis=0)
    weights = np.ones(len(counts))
    present = counts > 0
    weights[present] = len(y) / (np.count_nonzero(present) * counts[present])
    return weights.tolist()


def count_params(
    n_inputs: int, n_outputs: int, task: str, settings: TrainSettings, numeric_inputs: int = 0
) -> int:
    """Weights and biases of the network :func:`build_model` would make (none are made)."""
    model = build_model(n_inputs, n_outputs, task, replace(settings, device="cpu"),
                        numeric_inputs=numeric_inputs)  # fmt: skip
    return model.count_params()
