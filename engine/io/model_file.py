"""The model file: one safetensors file holding the weights and, as JSON, everything else.

Tensors ``w000``, ``w001``, … are the model's ``get_weights()`` in order. The header's
metadata holds JSON strings: ``architecture`` (``Sequential.get_config()``),
``preprocessing``, ``target`` (task, class labels, regression scaling and, for two classes,
the decision ``threshold``; absent in older files, which decide at 0.5), ``schema``,
``settings``, ``metrics``, ``versions`` and ``extra`` (whatever the caller adds, e.g. the
GPU run summary), plus a SHA-256 ``checksum`` of everything else in the header and of the
tensor bytes (format 2: each tensor's name, dtype, shape and bytes, and every metadata field),
so that damage or an edit anywhere in the file is caught. Format 1 files (whose checksum
covered the tensor bytes and the sections only) are still read. Loading never uses pickle.
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
FORMAT_VERSION = 2
READABLE_VERSIONS = ("1", "2")
# numpy dtype -> the name safetensors writes in the header
_DTYPE_NAMES = {np.dtype(np.float32): "F32", np.dtype(np.float64): "F64"}
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
    header = {
        k: {"dtype": _DTYPE_NAMES[w.dtype], "shape": list(w.shape)} for k, w in tensors.items()
    }
    metadata["checksum"] = _checksum(header, tensors, metadata)
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
    header = _header(blob, path)
    metadata = header.pop("__metadata__", None)
    metadata = metadata if isinstance(metadata, dict) else {}
    if metadata.get("format") != FORMAT:
        raise ModelFileError(f"{path.name}: is a safetensors file but not a GPU Trainer model")
    version = metadata.get("format_version", "?")
    if version not in READABLE_VERSIONS:
        raise ModelFileError(
            f"{path.name}: model file format {version} is not supported by this version "
            f"(reads formats {', '.join(READABLE_VERSIONS)}); update GPU Trainer"
        )
    try:
        tensors = load(blob)
        sections = {name: json.loads(metadata[name]) for name in SECTIONS}
        expected = (
            _checksum_v1(tensors, metadata) if version == "1"
            else _checksum(header, tensors, metadata)
        )  # fmt: skip
    except Exception:
        raise ModelFileError(f"{path.name}: the model file is damaged; train it again") from None
    if expected != metadata.get("checksum"):
        raise ModelFileError(f"{path.name}: the model file is damaged (checksum mismatch)")
    return [tensors[k] for k in sorted(tensors)], sections


def _header(blob: bytes, path: Path) -> dict:
    """The safetensors header (tensor entries and ``__metadata__``), validated enough to give
    a clear message."""
    if len(blob) < 8:
        raise ModelFileError(f"{path.name}: is empty or truncated, not a model file")
    (size,) = struct.unpack("<Q", blob[:8])
    if size > _MAX_HEADER:
        raise ModelFileError(f"{path.name}: is not a model file (not in safetensors format)")
    if 8 + size > len(blob):
        raise ModelFileError(f"{path.name}: is truncated; copy or train it again")
    try:
        header = json.loads(blob[8 : 8 + size].decode("utf-8"))
    except (UnicodeDecodeError, ValueError):
        header = None
    if not isinstance(header, dict):
        raise ModelFileError(f"{path.name}: is not a model file (not in safetensors format)")
    return header


def _checksum(header: dict, tensors: dict[str, np.ndarray], metadata: dict[str, str]) -> str:
    """Format 2: SHA-256 over each tensor's name, dtype and shape as the header declares them
    and its bytes, then every metadata field but the checksum: an edited dtype, shape,
    statistic or label is caught as surely as a changed weight."""
    digest = hashlib.sha256()
    for name in sorted(tensors):
        spec = header[name]
        digest.update(json.dumps([name, spec["dtype"], spec["shape"]]).encode())
        digest.update(np.ascontiguousarray(tensors[name]).tobytes())
    fields = {k: v for k, v in metadata.items() if k != "checksum"}
    digest.update(json.dumps(fields, sort_keys=True).encode("utf-8"))
    return digest.hexdigest()


def _checksum_v1(tensors: dict[str, np.ndarray], metadata: dict[str, str]) -> str:
    """Format 1: SHA-256 over the tensor bytes and the JSON sections."""
    digest = hashlib.sha256()
    for name in sorted(tensors):
        digest.update(name.encode())
        digest.update(np.ascontiguousarray(tensors[name]).tobytes())
    for name in SECTIONS:
        digest.update(name.encode())
        digest.update(metadata.get(name, "").encode("utf-8"))
    return digest.hexdigest()
