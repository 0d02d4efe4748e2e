"""The model file: one safetensors file holding the weights and, as JSON, everything else.

Tensors ``w000``, ``w001``, … are the model's ``get_weights()`` in order. The header's
metadata holds JSON strings: ``architecture`` (``Sequential.get_config()``),
``preprocessing``, ``target`` (task, class labels, regression scaling), ``schema``,
``settings``, ``metrics``, ``versions`` and ``extra`` (whatever the caller adds, e.g. the
GPU run summary), plus a SHA-256 ``checksum`` of the tensor bytes so that damage anywhere
in the file is caught. Loading never uses pickle.
"""

from __future__ import annotations

import hashlib
import json
import os
import struct
from pathlib import Path

import numpy as np
import pandas as pd

from engine.atomic import write_bytes
from engine.data.preprocess import Preprocessor
from engine.data.schema import Schema
from engine.data.target import TargetEncoder
from engine.errors import DataError, ModelFileError

FORMAT = "gpu-trainer-model"
FORMAT_VERSION = 1
SECTIONS = (
    "architecture",
    "preprocessing",
    "target",
    "schema",
    "settings",
    "metrics",
    "versions",
    "extra",
)
_MAX_HEADER = 100 << 20


def save_model(path, weights: list[np.ndarray], sections: dict) -> Path:
    """Write ``weights`` and the JSON ``sections`` (keys from SECTIONS) to ``path`` atomically."""
    from safetensors.numpy import save

    path = Path(path)
    tensors = {f"w{i:03d}": np.ascontiguousarray(w) for i, w in enumerate(weights)}
    metadata = {"format": FORMAT, "format_version": str(FORMAT_VERSION)}
    for name in SECTIONS:
        metadata[name] = json.dumps(sections.get(name) or {}, allow_nan=True)
    metadata["checksum"] = _checksum(tensors, metadata)
    return write_bytes(path, save(tensors, metadata=metadata))


def read_model_file(path) -> tuple[list[np.ndarray], dict]:
    """``(weights, sections)`` from a model file; :class:`ModelFileError` if it is not one."""
    from safetensors.numpy import load

    path = Path(path)
    try:
        blob = path.read_bytes()
    except FileNotFoundError:
        raise ModelFileError(f"{path}: model file not found; check the path") from None
    except OSError as exc:
        raise ModelFileError(f"{path}: cannot be read ({exc.strerror})") from None
    metadata = _header_metadata(blob, path)
    if metadata.get("format") != FORMAT:
        raise ModelFileError(f"{path.name}: is a safetensors file but not a GPU Trainer model")
    version = metadata.get("format_version", "?")
    if version != str(FORMAT_VERSION):
        raise ModelFileError(
            f"{path.name}: model file format {version} is not supported by this version "
            f"(reads format {FORMAT_VERSION}); update GPU Trainer"
        )
    try:
        tensors = load(blob)
        sections = {name: json.loads(metadata[name]) for name in SECTIONS}
    except Exception:
        raise ModelFileError(f"{path.name}: the model file is damaged; train it again") from None
    if _checksum(tensors, metadata) != metadata.get("checksum"):
        raise ModelFileError(f"{path.name}: the model file is damaged (checksum mismatch)")
    return [tensors[k] for k in sorted(tensors)], sections


def _header_metadata(blob: bytes, path: Path) -> dict:
    """The safetensors header's ``__metadata__``, validated enough to give a clear message."""
    if len(blob) < 8:
        raise ModelFileError(f"{path.name}: is empty or truncated, not a model file")
    (size,) = struct.unpack("<Q", blob[:8])
    if size > _MAX_HEADER:
        raise ModelFileError(f"{path.name}: is not a model file (not in safetensors format)")
    if 8 + size > len(blob):
        raise ModelFileError(f"{path.name}: is truncated; copy or train it again")
    try:
        header = json.loads(blob[8 : 8 + size].decode("utf-8"))
        metadata = header.get("__metadata__") or {}
    except (UnicodeDecodeError, ValueError, AttributeError):
        raise ModelFileError(
            f"{path.name}: is not a model file (not in safetensors format)"
        ) from None
    return metadata if isinstance(metadata, dict) else {}


def _checksum(tensors: dict[str, np.ndarray], metadata: dict[str, str]) -> str:
    """SHA-256 over the tensors and every JSON section, so that a changed statistic or label
    is caught as surely as a changed weight."""
    digest = hashlib.sha256()
    for name in sorted(tensors):
        digest.update(name.encode())
        digest.update(np.ascontiguousarray(tensors[name]).tobytes())
    for name in SECTIONS:
        digest.update(name.encode())
        digest.update(metadata.get(name, "").encode("utf-8"))
    return digest.hexdigest()


class Predictor:
    """A loaded model: ``predict`` raw rows into labels with probabilities, or values."""

    def __init__(self, path: Path, weights: list[np.ndarray], sections: dict, device="cpu"):
        from engine.models import Sequential

        self.path = path
        self.metadata = sections
        try:
            self.schema = Schema.from_dict(sections["schema"])
            self.preprocessor = Preprocessor.from_dict(sections["preprocessing"])
            self.target = TargetEncoder.from_dict(sections["target"])
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

    @property
    def task(self) -> str:
        return self.target.task

    @property
    def labels(self) -> list:
        return self.target.labels

    @property
    def target_name(self) -> str:
        return self.target.name

    @property
    def input_columns(self) -> list[str]:
        """Raw columns a prediction needs; others are ignored."""
        return self.preprocessor.input_columns

    @property
    def metrics(self) -> dict:
        return self.metadata["metrics"]

    @property
    def prediction_columns(self) -> list[str]:
        columns = [f"predicted_{self.target_name}"]
        if self.task == "classification":
            columns += [f"probability_{label}" for label in self.labels]
        return columns

    def predict(self, data) -> pd.DataFrame:
        """Rows of a DataFrame, CsvTable or CSV path -> ``predicted_<target>`` and, for
        classes, one ``probability_<label>`` column per class, on the rows' index."""
        return self._predict(*_frame(data))

    def _predict(self, frame: pd.DataFrame, source: str) -> pd.DataFrame:
        x = self.preprocessor.transform(frame, source)
        outputs = self.model.predict(x)
        names = self.prediction_columns
        result = pd.DataFrame({names[0]: self.target.decode(outputs)}, index=frame.index)
        if self.task == "classification":
            probabilities = self.target.probabilities(outputs)
            for j, name in enumerate(names[1:]):
                result[name] = probabilities[:, j]
        return result

    def annotate(self, data) -> pd.DataFrame:
        """The input rows with the prediction columns appended (replacing any of the same
        name), as ``gpu-trainer predict`` and the app's Predict CSV write them."""
        frame, source = _frame(data)
        predictions = self._predict(frame, source)
        rows = frame.drop(columns=[c for c in predictions.columns if c in frame.columns])
        return rows.join(predictions)

    def __repr__(self) -> str:
        return f"Predictor({self.path.name!r}, task={self.task!r}, target={self.target_name!r})"


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


def load_model(path, device: str = "cpu") -> Predictor:
    """Load a model file for prediction (on the CPU unless ``device`` says otherwise)."""
    path = Path(path)
    weights, sections = read_model_file(path)
    return Predictor(path, weights, sections, device=device)
