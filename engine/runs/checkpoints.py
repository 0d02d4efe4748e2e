"""Checkpoints: a trainer's whole state between epochs, in one safetensors file.

The arrays of :meth:`engine.nn.trainer.Trainer.get_state` (weights, optimizer moments, the
callbacks' best weights, the loss log) become tensors named by where they sit in the state;
everything else (epoch and step, generator states, learning rate, history, callback
counters) is JSON in the header. Files are written atomically (``epoch-0005.safetensors``)
and only the last ``keep`` are kept.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from engine.errors import UserError
from engine.io.atomic import write_bytes

FORMAT = "gpu-trainer-checkpoint"
_TENSOR = "__tensor__"


def checkpoint_path(folder, epoch: int) -> Path:
    return Path(folder) / f"epoch-{epoch:05d}.safetensors"


def write_checkpoint(folder, epoch: int, state: dict) -> Path:
    """``state`` (a trainer's) after ``epoch`` epochs, to ``folder`` (created if need be)."""
    from safetensors.numpy import save

    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    tensors: dict[str, np.ndarray] = {}
    skeleton = _split(state, "", tensors)
    metadata = {"format": FORMAT, "state": json.dumps(skeleton, allow_nan=True)}
    return write_bytes(checkpoint_path(folder, epoch), save(tensors, metadata=metadata))


def read_checkpoint(path) -> dict:
    """The state :func:`write_checkpoint` wrote; one sentence when the file is not one."""
    from safetensors import safe_open

    path = Path(path)
    try:
        with safe_open(str(path), framework="numpy") as fh:
            metadata = fh.metadata() or {}
            tensors = {name: fh.get_tensor(name) for name in fh.keys()}  # noqa: SIM118
        if metadata.get("format") != FORMAT:
            raise ValueError("not a checkpoint")
        return _join(json.loads(metadata["state"]), tensors)
    except FileNotFoundError:
        raise UserError(f"{path}: checkpoint not found; the run cannot be resumed") from None
    except Exception:
        raise UserError(f"{path}: the checkpoint is damaged; resume from an earlier one") from None


def prune(paths: list, keep: int) -> list:
    """Delete all but the last ``keep`` of ``paths`` (oldest first); returns the deleted."""
    dropped = paths[: max(0, len(paths) - keep)]
    for path in dropped:
        Path(path).unlink(missing_ok=True)
    return dropped


def _split(value, where: str, tensors: dict):
    """``value`` with every array replaced by ``{"__tensor__": name}`` (arrays into ``tensors``)."""
    if isinstance(value, np.ndarray):
        tensors[where] = np.ascontiguousarray(value)
        return {_TENSOR: where}
    if isinstance(value, dict):
        return {k: _split(v, f"{where}/{k}", tensors) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_split(v, f"{where}/{i}", tensors) for i, v in enumerate(value)]
    if isinstance(value, np.generic):
        return value.item()
    return value


def _join(value, tensors: dict):
    if isinstance(value, dict):
        if set(value) == {_TENSOR}:
            return tensors[value[_TENSOR]]
        return {k: _join(v, tensors) for k, v in value.items()}
    if isinstance(value, list):
        return [_join(v, tensors) for v in value]
    return value
