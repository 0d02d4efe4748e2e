"""A model file loaded for prediction: raw rows in, labels with probabilities (or values) out."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pandas as pd

from engine.data.pipeline import Pipeline
from engine.errors import DataError, ModelFileError
from engine.io.model_file import read_model_file
from engine.nn.models import Sequential


class Predictor:
    """A loaded model: ``predict`` raw rows into labels with probabilities, or values."""

    def __init__(self, path: Path, weights: list[np.ndarray], sections: dict, device="cpu"):
        self.path = path
        self.metadata = sections
        try:
            self.pipeline = Pipeline.from_sections(sections)
        except (KeyError, TypeError, ValueError):
            raise ModelFileError(
                f"{path.name}: the model file's metadata is incomplete; train it again"
            ) from None
        try:
            self.model = Sequential.from_config(sections["architecture"], device=device)
            # a fixed seed: loading must not draw from the process-wide one
            self.model.build(np.shape(weights[0])[0] if weights else None, seed=0)
            self.model.set_weights(weights)
        except Exception as exc:
            raise ModelFileError(
                f"{path.name}: the network in the model file cannot be rebuilt ({exc})"
            ) from None
        self._check_widths()

    def _check_widths(self) -> None:
        """The network must take what the preprocessing gives and give what the target
        reads: a file whose parts do not add up is refused, not run."""
        model, pipeline, name = self.model, self.pipeline, self.path.name
        takes, gives = model.layers[0].input_dim, model.layers[-1].output_dim
        if takes != pipeline.n_inputs:
            raise ModelFileError(
                f"{name}: the network takes {takes} inputs but the preprocessing gives "
                f"{pipeline.n_inputs}; the file does not add up, train it again"
            )
        if gives != pipeline.n_outputs:
            raise ModelFileError(
                f"{name}: the network gives {gives} outputs but the target needs "
                f"{pipeline.n_outputs}; the file does not add up, train it again"
            )

    @property
    def metrics(self) -> dict:
        return self.metadata["metrics"]

    @property
    def threshold(self) -> float | None:
        """Two classes: the second class's probability above which it is predicted (the
        file's, 0.5 in files written before thresholds); None for other targets."""
        target = self.pipeline.target
        return target.threshold if target.is_binary else None

    def set_threshold(self, threshold: float | None) -> None:
        """Decide at ``threshold`` instead (None: 0.5); :class:`UserError` unless two classes."""
        self.pipeline.target.set_threshold(threshold)

    def predict(self, data) -> pd.DataFrame:
        """Rows of a DataFrame, CsvTable or CSV path -> ``predicted_<target>`` and, for
        classes, one ``probability_<label>`` column per class, on the rows' index (two
        classes: the second where its probability is above :attr:`threshold`)."""
        return self._predict(*_frame(data))

    def _predict(self, frame: pd.DataFrame, source: str) -> pd.DataFrame:
        outputs = self.model.predict(self.pipeline.encode(frame, source))
        return self.pipeline.predictions(outputs, index=frame.index)

    def annotate(self, data) -> pd.DataFrame:
        """The input rows with the prediction columns appended (replacing any of the same
        name), as ``gpu-trainer predict`` and the app's Predict CSV write them."""
        frame, source = _frame(data)
        predictions = self._predict(frame, source)
        rows = frame.drop(columns=[c for c in predictions.columns if c in frame.columns])
        # side by side by position: an index that repeats must not join many to many
        result = pd.concat(
            [rows.reset_index(drop=True), predictions.reset_index(drop=True)], axis=1
        )
        result.index = rows.index
        return result

    def __repr__(self) -> str:
        task, target = self.pipeline.task, self.pipeline.target_name
        return f"Predictor({self.path.name!r}, task={task!r}, target={target!r})"


def _frame(data) -> tuple[pd.DataFrame, str]:
    from engine.data.reader import CsvTable, read_csv

    if isinstance(data, pd.DataFrame):
        return data, "the data"
    if isinstance(data, CsvTable):
        return data.frame, data.name
    if isinstance(data, str | os.PathLike):
        table = read_csv(data)
        return table.frame, table.name
    raise DataError(f"cannot predict from a {type(data).__name__}; pass a DataFrame or CSV path")


def load_model(path, device: str = "cpu", threshold: float | None = None) -> Predictor:
    """Load a model file for prediction (on the CPU unless ``device`` says otherwise);
    ``threshold`` overrides a two-class model's own (:meth:`Predictor.set_threshold`)."""
    path = Path(path)
    weights, sections = read_model_file(path)
    predictor = Predictor(path, weights, sections, device=device)
    if threshold is not None:
        predictor.set_threshold(threshold)
    return predictor
