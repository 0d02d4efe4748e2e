"""The fitted way from raw rows to the network's inputs and back: one object.

A :class:`Pipeline` is the column schema, the preprocessing fitted on the training rows and
the target encoding, together. The training run fits it, the model file stores it
(:meth:`to_sections`), and the predictor and the ONNX export read it back, so all of them
see a value the same way (:mod:`engine.data.values`).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from engine.data.preprocess import Preprocessor
from engine.data.schema import Schema
from engine.data.target import TargetEncoder
from engine.encoded_rows import EncodedRows


@dataclass
class Pipeline:
    schema: Schema
    preprocessor: Preprocessor
    target: TargetEncoder

    @property
    def task(self) -> str:
        return self.target.task

    @property
    def target_name(self) -> str:
        return self.target.name

    @property
    def labels(self) -> list:
        return self.target.labels

    @property
    def input_columns(self) -> list[str]:
        """Raw columns a prediction needs; others are ignored."""
        return self.preprocessor.input_columns

    @property
    def feature_names(self) -> list[str]:
        """Names of the network's inputs, in order (``column=category`` for one-hot ones)."""
        return self.preprocessor.output_names

    @property
    def n_inputs(self) -> int:
        return self.preprocessor.n_outputs

    @property
    def n_outputs(self) -> int:
        return self.target.n_outputs

    def encode(self, frame: pd.DataFrame, source: str = "the data") -> EncodedRows:
        """Raw rows -> the network's inputs ``(len(frame), n_inputs)``, kept compact."""
        return self.preprocessor.encode(frame, source)

    def predictions(self, outputs: np.ndarray, index=None) -> pd.DataFrame:
        """Network outputs ``(n, n_outputs)`` -> ``predicted_<target>`` and, for classes, one
        ``probability_<label>`` column per class."""
        names = self.prediction_columns
        result = pd.DataFrame({names[0]: self.target.decode(outputs)}, index=index)
        if self.task == "classification":
            probabilities = self.target.probabilities(outputs)
            for j, name in enumerate(names[1:]):
                result[name] = probabilities[:, j]
        return result

    @property
    def prediction_columns(self) -> list[str]:
        columns = [f"predicted_{self.target_name}"]
        if self.task == "classification":
            columns += [f"probability_{label}" for label in self.labels]
        return columns

    def to_sections(self) -> dict:
        """JSON-safe ``{"schema", "preprocessing", "target"}`` for the model file."""
        return {
            "schema": self.schema.to_dict(),
            "preprocessing": self.preprocessor.to_dict(),
            "target": self.target.to_dict(),
        }

    @classmethod
    def from_sections(cls, sections: dict) -> Pipeline:
        """The inverse of :meth:`to_sections`; raises KeyError, TypeError or ValueError on
        incomplete sections."""
        return cls(
            Schema.from_dict(sections["schema"]),
            Preprocessor.from_dict(sections["preprocessing"]),
            TargetEncoder.from_dict(sections["target"]),
        )


def network_io(frame: pd.DataFrame, schema: Schema) -> tuple[int, int]:
    """``(inputs, outputs)`` of the network a run on all of ``frame`` would train: the
    preprocessing's and the target's own rules, before any split or fitting of numbers."""
    n_inputs = Preprocessor.width_for(frame, schema)
    if schema.target is None or schema.task is None:
        return n_inputs, 1
    return n_inputs, TargetEncoder.fit(frame[schema.target], schema.task).n_outputs
