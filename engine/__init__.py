"""GPU Trainer's training engine: NumPy/CuPy MLPs with a Keras-style API.

Qt-free. ``import engine`` loads NumPy only: the names below are imported on first use, so
pandas, pyarrow and safetensors load with the data and model-file modules, CuPy only when a
GPU is used. ``from engine import Sequential`` works as in Keras.
"""

from __future__ import annotations

import importlib

from engine.backend import Backend, get_backend, probe_gpu
from engine.errors import DataError, DeviceUnavailableError, ModelFileError, UserError

__version__ = "0.1.0"

# public name -> module that defines it (imported lazily by __getattr__)
_LAZY = {
    "Sequential": "engine.nn.models",
    "Trainer": "engine.nn.trainer",
    "StepRecord": "engine.nn.trainer",
    "EpochResult": "engine.nn.trainer",
    "TrainingDiverged": "engine.errors",
    "GpuOutOfMemory": "engine.errors",
    "set_random_seed": "engine.nn.seeding",
    "load_model": "engine.io.predictor",
}

__all__ = [
    "Backend",
    "DataError",
    "DeviceUnavailableError",
    "ModelFileError",
    "UserError",
    "__version__",
    "get_backend",
    "probe_gpu",
    *_LAZY,
]


def __getattr__(name: str):
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'engine' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(__all__)
