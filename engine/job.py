"""One training run from a table to a model file: the API both the CLI and the GUI use.

```python
table = read_csv("data.csv")
schema = infer_schema(table.frame, target="price", source=table.name)
data = prepare(table, schema, settings)          # split, fit preprocessing, float32 arrays
job = TrainingJob(data, settings)                # builds the network and the engine Trainer
for record in job.trainer: ...                   # or drive job.trainer.step() yourself
metrics = job.evaluate()                         # test metrics in the target's own units
job.save("model.safetensors", extra_metadata={"hardware": ...})
```
"""

from __future__ import annotations

import math
import platform
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from engine import activations, optimizers
from engine.data.evaluation import classification_report, regression_report
from engine.data.preprocess import Preprocessor
from engine.data.reader import CsvTable
from engine.data.schema import Schema, infer_schema
from engine.data.split import split_indices
from engine.data.target import TargetEncoder
from engine.errors import DataError, UserError
from engine.features import EncodedRows


@dataclass
class LayerSpec:
    """One hidden layer: Dense(units, activation), then Dropout(dropout) when above 0."""

    units: int
    activation: str = "relu"
    dropout: float = 0.0


def _default_layers() -> list[LayerSpec]:
    return [LayerSpec(64), LayerSpec(32)]


@dataclass
class TrainSettings:
    """Everything that shapes a run; the defaults train the bundled samples well in seconds."""

    layers: list[LayerSpec] = field(default_factory=_default_layers)
    optimizer: str = "adam"
    learning_rate: float = 1e-3
    batch_size: int = 32
    epochs: int = 200
    l2: float = 0.0
    early_stopping: int = 20  # epochs without a better validation loss; 0 = off
    seed: int | None = 0
    device: str = "auto"
    val_split: float = 0.15
    test_split: float = 0.2
    fast_path: bool | None = None  # fused GPU kernels; None: GPU_TRAINER_FAST (default off)

    def check(self) -> None:
        """Raise :class:`UserError` for a setting no run can use."""
        for i, layer in enumerate(self.layers, 1):
            if layer.units < 1:
                raise UserError(f"hidden layer {i} needs at least 1 unit, not {layer.units}")
            if layer.activation not in activations.ACTIVATIONS:
                raise UserError(
                    f"hidden layer {i}: unknown activation {layer.activation!r}; "
                    f"use one of {', '.join(activations.ACTIVATIONS)}"
                )
            if not 0.0 <= layer.dropout < 1.0:
                raise UserError(f"hidden layer {i}: dropout must be in [0, 1), not {layer.dropout}")
        if not (self.learning_rate > 0 and math.isfinite(self.learning_rate)):
            raise UserError(
                f"the learning rate must be a positive number, not {self.learning_rate}"
            )
        if self.optimizer.lower() not in optimizers.OPTIMIZERS:
            known = ", ".join(optimizers.OPTIMIZERS)
            raise UserError(f"unknown optimizer {self.optimizer!r}; use one of {known}")
        if self.batch_size < 1 or self.epochs < 1:
            raise UserError("batch size and epochs must be at least 1")
        if self.early_stopping < 0 or self.l2 < 0:
            raise UserError("early stopping patience and L2 must not be negative")

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict) -> TrainSettings:
        values = dict(data)
        values["layers"] = [LayerSpec(**layer) for layer in values.get("layers", [])]
        known = cls.__dataclass_fields__
        return cls(**{k: v for k, v in values.items() if k in known})


@dataclass
class PreparedData:
    """Split float32 arrays and what made them.

    ``x_*``: ``(n, n_inputs)`` features as :class:`~engine.features.EncodedRows` (one index
    per categorical column instead of its one-hot block: the engine expands each batch on
    the device; ``np.asarray(x)`` gives the dense matrix); ``y_*``: ``(n, n_outputs)``, 0/1
    or one-hot for classes, standardised values for regression.
    """

    x_train: EncodedRows
    y_train: np.ndarray
    x_val: EncodedRows
    y_val: np.ndarray
    x_test: EncodedRows
    y_test: np.ndarray
    preprocessor: Preprocessor
    target: TargetEncoder
    schema: Schema
    source: str
    notes: list[str] = field(default_factory=list)

    @property
    def task(self) -> str:
        return self.target.task

    @property
    def n_inputs(self) -> int:
        return self.x_train.shape[1]

    @property
    def n_outputs(self) -> int:
        return self.target.n_outputs

    @property
    def feature_names(self) -> list[str]:
        return self.preprocessor.output_names


def prepare(
    data: CsvTable | pd.DataFrame,
    schema: Schema | None = None,
    settings: TrainSettings | None = None,
) -> PreparedData:
    """Drop rows without a target, split, fit preprocessing on the training rows, encode.

    Raises :class:`DataError` when no model can be trained (see :meth:`Schema.check`).
    """
    settings = settings or TrainSettings()
    if isinstance(data, CsvTable):
        frame, source, notes = data.frame, data.name, list(data.warnings)
    else:
        frame, source, notes = data, "the data", []
    schema = schema or infer_schema(frame, source=source)
    schema.check(source)
    target_column = frame[schema.target]
    target = TargetEncoder.fit(target_column, schema.task)
    valid = target.valid_rows(target_column)
    kept = None  # positions of the rows with a target; None: all rows
    if not valid.all():
        notes.append(f"{source}: {int((~valid).sum()):,} rows without a target value are skipped")
        kept = np.flatnonzero(valid)
        target_column = target_column.iloc[kept]
    classes = target.class_indices(target_column) if schema.task == "classification" else None
    if len(target_column) < 3:
        raise DataError(
            f"{source}: only {len(target_column)} rows have a target value; add more rows"
        )
    train, val, test = split_indices(
        len(target_column), settings.val_split, settings.test_split, settings.seed, classes
    )
    if schema.task == "regression":
        target = TargetEncoder.fit(target_column, "regression", rows=train)
    # the frame keeps the rows without a target: its positions go through ``kept``
    rows = [train, val, test] if kept is None else [kept[train], kept[val], kept[test]]
    preprocessor, (x_train, x_val, x_test) = Preprocessor.fit_transform(
        frame, schema, rows[0], rows
    )
    y = target.encode(target_column) if classes is None else target.encode_classes(classes)
    return PreparedData(
        x_train, y[train], x_val, y[val], x_test, y[test],
        preprocessor, target, schema, source, notes,
    )  # fmt: skip


def build_model(n_inputs: int, n_outputs: int, task: str, settings: TrainSettings):
    """A compiled engine Sequential: the hidden layers, then the head the task needs."""
    from engine.layers import Dense, Dropout
    from engine.models import Sequential
    from engine.regularizers import l2

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
    if task == "regression":
        head, loss, metrics = "linear", "mse", ["mae"]
    elif n_outputs == 1:
        head, loss, metrics = "sigmoid", "binary_crossentropy", ["accuracy"]
    else:
        head, loss, metrics = "softmax", "categorical_crossentropy", ["accuracy"]
    first = not settings.layers
    model.add(Dense(n_outputs, activation=head, input_dim=n_inputs if first else None))
    model.compile(loss=loss, optimizer=settings.optimizer, metrics=metrics)
    return model


def versions() -> dict:
    """Versions of what produced a model, for the model file."""
    import engine

    found = {"gpu_trainer": engine.__version__, "python": platform.python_version()}
    found["numpy"] = np.__version__
    found["pandas"] = pd.__version__
    return found


class TrainingJob:
    """The network and its engine Trainer for one :class:`PreparedData`; drive ``trainer``.

    Early stopping (``settings.early_stopping`` epochs without a lower validation loss)
    stops the trainer; the best epoch's weights are put back before evaluating or saving.
    """

    def __init__(self, data: PreparedData, settings: TrainSettings | None = None):
        from engine.callbacks import EarlyStopping
        from engine.trainer import Trainer

        self.data = data
        self.settings = settings or TrainSettings()
        self.model = build_model(data.n_inputs, data.n_outputs, data.task, self.settings)
        has_val = len(data.x_val) > 0
        callbacks = []
        self._stopper = None
        if has_val and self.settings.early_stopping > 0:
            self._stopper = EarlyStopping(
                patience=self.settings.early_stopping, restore_best_weights=True
            )
            callbacks.append(self._stopper)
        self.trainer = Trainer(
            self.model,
            data.x_train,
            data.y_train,
            epochs=self.settings.epochs,
            batch_size=self.settings.batch_size,
            validation_data=(data.x_val, data.y_val) if has_val else None,
            shuffle=True,
            seed=self.settings.seed,
            callbacks=callbacks,
            fast_path=self.settings.fast_path,
        )
        self.trainer.learning_rate = self.settings.learning_rate

    @property
    def stopped_early(self) -> bool:
        return self._stopper is not None and self._stopper.stopped_epoch is not None

    def restore_best(self) -> None:
        """Put back the best validation epoch's weights (also when the run was stopped)."""
        if self._stopper is not None and self._stopper.best_weights is not None:
            self.model.set_weights(self._stopper.best_weights)

    def run(self, on_step=None) -> dict:
        """Train to the end, calling ``on_step(record)`` after each step; returns the history."""
        for record in self.trainer:
            if on_step is not None:
                on_step(record)
        return self.trainer.history

    def evaluate(self, split: str = "test") -> dict:
        """Metrics on ``split`` ('test', 'val' or 'train') in the target's own units.

        Classification: accuracy, macro_f1, per-class precision/recall/f1/support, the
        confusion matrix and the labels. Regression: mae, rmse, r2 and y_true/y_pred.
        """
        self.restore_best()
        x = getattr(self.data, f"x_{split}")
        y = getattr(self.data, f"y_{split}")
        outputs = self.model.predict(x) if len(x) else np.zeros((0, self.data.n_outputs))
        target = self.data.target
        if self.data.task == "regression":
            report = regression_report(target.decode(y), target.decode(outputs))
        else:
            truth = y.argmax(axis=1) if y.shape[1] > 1 else y[:, 0].astype(np.int64)
            report = classification_report(truth, target.probabilities(outputs), target.labels)
        report["split"] = split
        return report

    def save(self, path, extra_metadata: dict | None = None, metrics: dict | None = None) -> Path:
        """Write the model file (atomically); ``metrics`` default to :meth:`evaluate`."""
        from engine.model_file import save_model

        self.restore_best()
        metrics = dict(metrics or self.evaluate())
        metrics.pop("y_true", None)
        metrics.pop("y_pred", None)
        history = {k: [float(v) for v in vals] for k, vals in self.trainer.history.items()}
        settings = self.settings.to_dict()
        settings["epochs_run"] = len(history.get("loss", []))
        settings["stopped_early"] = self.stopped_early
        settings["final_learning_rate"] = float(self.trainer.learning_rate)  # may change mid-run
        sections = {
            "architecture": self.model.get_config(),
            "preprocessing": self.data.preprocessor.to_dict(),
            "target": self.data.target.to_dict(),
            "schema": self.data.schema.to_dict(),
            "settings": settings,
            "metrics": {"test": metrics, "history": history},
            "versions": versions(),
            "extra": dict(extra_metadata or {}, source=self.data.source),
        }
        weights = [np.asarray(w) for w in self.model.get_weights()]
        return save_model(path, weights, sections)
