"""The network a run trains: its hidden layers from the settings, its head from the task."""

from __future__ import annotations

from dataclasses import replace

from engine.nn.layers import Dense, Dropout
from engine.nn.models import Sequential
from engine.nn.regularizers import l2
from engine.run.settings import TrainSettings, head_for


def build_model(n_inputs: int, n_outputs: int, task: str, settings: TrainSettings):
    """A compiled engine Sequential: the hidden layers, then the head the task needs."""
    settings.check()
    penalty = l2(settings.l2) if settings.l2 > 0 else None
    model = Sequential(device=settings.device, seed=settings.seed)
    for i, layer in enumerate(settings.layers):
        model.add(
            Dense(
                layer.units,
                activation=layer.activation,
                input_dim=n_inputs if i == 0 else None,
                kernel_regularizer=penalty,
            )
        )
        if layer.dropout > 0:
            model.add(Dropout(layer.dropout))
    head, loss, metric = head_for(task, n_outputs)
    first = not settings.layers
    model.add(Dense(n_outputs, activation=head, input_dim=n_inputs if first else None))
    model.compile(loss=loss, optimizer=settings.optimizer, metrics=[metric])
    return model


def count_params(n_inputs: int, n_outputs: int, task: str, settings: TrainSettings) -> int:
    """Weights and biases of the network :func:`build_model` would make (none are made)."""
    return build_model(n_inputs, n_outputs, task, replace(settings, device="cpu")).count_params()
