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
import struct
from pathlib import Path

import numpy as np

from engine.errors import ModelFileError
from engine.io.atomic import write_bytes

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
