"""Versions of what produced a model or a run, and the device it ran on."""

from __future__ import annotations

import platform

import numpy as np
import pandas as pd


def versions() -> dict:
    """gpu-trainer, Python, NumPy and pandas versions, as text."""
    import engine

    found = {"gpu_trainer": engine.__version__, "python": platform.python_version()}
    found["numpy"] = np.__version__
    found["pandas"] = pd.__version__
    return found


def environment(backend) -> dict:
    """The device a run trains on and the versions that train it: backend, device and its
    name, CUDA runtime and driver (on a GPU), and :func:`versions`."""
    found = {
        "backend": backend.name,
        "device": backend.device,
        "device_name": backend.device_name,
        "versions": versions(),
    }
    if backend.is_gpu:
        cuda = backend.xp.cuda
        found["cupy"] = backend.xp.__version__
        found["cuda_runtime"] = cuda.runtime.runtimeGetVersion()
        found["cuda_driver"] = cuda.runtime.driverGetVersion()
    return found
