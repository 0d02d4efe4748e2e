"""One training run from prepared data to a model file: what the CLI and the GUI drive.

```python
data = prepare(table, schema, settings)          # engine.run.prepare
job = TrainingJob(data, settings)                # builds the network and the engine Trainer
for record in job.trainer: ...                   # or drive job.trainer.step() yourself
metrics = job.evaluate()                         # test metrics in the target's own units
job.save("model.safetensors", extra_metadata={"hardware": ...})
```
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import numpy as np

from engine.io.model_file import save_model
from engine.nn.callbacks import EarlyStopping
from engine.nn.schedules import schedule_callback
from engine.nn.trainer import Trainer
from engine.run.evaluation import classification_report, regression_report
from engine.run.model_factory import build_model, class_weights
from engine.run.prepare import PreparedData
from engine.run.settings import (
    WARMUP_FRACTION,
    TrainSettings,
    effective_weight_decay,
    resolve_activation,
)
from engine.run.versions import versions


class TrainingJob:
    """The network and its engine Trainer for one :class:`PreparedData`; drive ``trainer``.

    Early stopping (``settings.early_stopping`` epochs without a lower validation loss,
    with at least ``settings.early_stopping_rows`` validation rows) stops the trainer,
    and putting back the best epoch's weights is the last step of every
    run that ends (Keras' ``restore_best_weights``, in the trainer's end-of-run hooks).
    :meth:`evaluate` and :meth:`save` read the weights as they are and change nothing.
    """

    def __init__(self, data: PreparedData, settings: TrainSettings | None = None):
        self.data = data
        self.settings = settings or TrainSettings()
        # the settings say what is trained: an "auto" activation becomes the one this table
        # gets. The caller's settings object is the job's (set_threshold writes to it too):
        # it gets a new list of layers; the LayerSpec objects given are not changed
        self.requested_activations = [layer.activation for layer in self.settings.layers]
        self.settings.layers = [
            replace(layer, activation=resolve_activation(layer.activation, data.rows))
            for layer in self.settings.layers
        ]
        self.set_threshold(self.settings.threshold)  # UserError unless two classes
        weights = None
        if data.task != "regression":
            weights = class_weights(data.y_train, self.settings.class_weight)
        self.model = build_model(
            data.n_inputs, data.n_outputs, data.task, self._model_settings(), class_weights=weights,
            numeric_inputs=data.n_numeric, table_rows=data.rows,
        )  # fmt: skip
        has_val = len(data.x_val) > 0
        callbacks = []
        schedule = schedule_callback(self.settings.lr_schedule, self.settings.epochs,
                                     WARMUP_FRACTION)  # fmt: skip
        if schedule is not None:
            callbacks.append(schedule)
        self._stopper = None
        stops = len(data.x_val) >= self.settings.early_stopping_rows
        if has_val and stops and self.settings.early_stopping > 0:
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

    def _model_settings(self) -> TrainSettings:
        """The settings the network is built with: adamw's weight decay scaled for a table
        with few steps an epoch (:func:`~engine.run.settings.effective_weight_decay`)."""
        settings = self.settings
        rows, steps = len(self.data.x_train), settings.weight_decay_steps
        decay = effective_weight_decay(settings.weight_decay, rows, settings.batch_size, steps)
        return replace(settings, weight_decay=decay)

    def set_threshold(self, threshold: float | None) -> None:
        """Decide a two-class target by ``p > threshold`` (None: 0.5) in :meth:`evaluate`
        and in the saved model file; :class:`UserError` for any other target."""
        self.data.pipeline.target.set_threshold(threshold)
        self.settings.threshold = threshold

    @property
    def stopped_early(self) -> bool:
        return self._stopper is not None and self._stopper.stopped_epoch is not None

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
        x = getattr(self.data, f"x_{split}")
        y = getattr(self.data, f"y_{split}")
        outputs = self.model.predict(x) if len(x) else np.zeros((0, self.data.n_outputs))
        target = self.data.pipeline.target
        if self.data.task == "regression":
            report = regression_report(target.decode(y), target.decode(outputs))
        else:
            truth = y.argmax(axis=1) if y.shape[1] > 1 else y[:, 0].astype(np.int64)
            report = classification_report(
                truth, target.probabilities(outputs), target.labels, target.threshold
            )
        report["split"] = split
        return report

    def save(self, path, extra_metadata: dict | None = None, metrics: dict | None = None) -> Path:
        """Write the model file (atomically); ``metrics`` default to :meth:`evaluate`."""
        metrics = dict(metrics or self.evaluate())
        metrics.pop("y_true", None)
        metrics.pop("y_pred", None)
        metrics.pop("y_score", None)
        history = {k: [float(v) for v in vals] for k, vals in self.trainer.history.items()}
        settings = self.settings.to_dict()
        settings["epochs_run"] = len(history.get("loss", []))
        settings["stopped_early"] = self.stopped_early
        settings["final_learning_rate"] = float(self.trainer.learning_rate)  # may change mid-run
        sections = {
            "architecture": self.model.get_config(),
            **self.data.pipeline.to_sections(),
            "settings": settings,
            "metrics": {"test": metrics, "history": history},
            "versions": versions(),
            "extra": dict(extra_metadata or {}, source=self.data.source),
        }
        weights = [np.asarray(w) for w in self.model.get_weights()]
        return save_model(path, weights, sections)
