"""Choose the array module: CuPy on a usable NVIDIA GPU, otherwise NumPy, with the reason.

Every other engine module writes ``xp.`` code against the module picked here (Chainer's
idiom), so the same code runs on NumPy and CuPy.

The choice comes, in order, from the ``device`` argument, the ``GPU_TRAINER_DEVICE``
environment variable (``cpu``, ``gpu``, ``gpu:N`` or ``auto``), then ``auto``: the GPU when one
is usable, else the CPU. Asking for the GPU where none is usable raises
:class:`DeviceUnavailableError` with the reason in words.
"""

from __future__ import annotations

import contextlib
import functools
import logging
import os
import platform
import sys
from dataclasses import dataclass, field
from types import ModuleType
from typing import Any

import numpy as np

from engine.errors import DeviceUnavailableError

ENV_VAR = "GPU_TRAINER_DEVICE"
log = logging.getLogger(__name__)


@dataclass(frozen=True)
class GpuProbe:
    """Outcome of probing CuPy once: usable or not, and why not."""

    usable: bool
    reason: str | None = None
    cupy_version: str | None = None
    device_count: int = 0


@dataclass(frozen=True)
class Backend:
    """The array module and the device it computes on.

    ``xp`` is ``numpy`` or ``cupy``; ``reason`` says, for NumPy, why the GPU is not used.
    """

    xp: ModuleType
    device: str  # "cpu" or "gpu:N"
    device_name: str
    reason: str | None = None
    info: dict[str, Any] = field(default_factory=dict, compare=False)

    @property
    def name(self) -> str:
        return "cupy" if self.is_gpu else "numpy"

    @property
    def is_gpu(self) -> bool:
        return self.device.startswith("gpu")

    @property
    def gpu_index(self) -> int | None:
        return int(self.device.split(":")[1]) if self.is_gpu else None

    def asarray(self, a, dtype=np.float32):
        """Copy host data to this backend's device (no copy when already there)."""
        if self.is_gpu:
            with self.xp.cuda.Device(self.gpu_index):
                return self.xp.asarray(a, dtype=dtype)
        return np.asarray(a, dtype=dtype)

    def asnumpy(self, a) -> np.ndarray:
        """Bring an array back to the host as NumPy."""
        return to_numpy(a)

    def activate(self):
        """A context in which new arrays and kernels go to this backend's device (the
        calling thread's current CUDA device is otherwise GPU 0)."""
        if self.is_gpu:
            return self.xp.cuda.Device(self.gpu_index)
        return contextlib.nullcontext()

    def synchronize(self) -> None:
        if self.is_gpu:
            self.xp.cuda.get_current_stream().synchronize()

    def describe(self) -> str:
        """One line for a status bar: 'GPU: NVIDIA H100 · CuPy' or 'CPU · NumPy — reason'."""
        if self.is_gpu:
            return f"GPU: {self.device_name} · CuPy"
        return f"CPU · NumPy — {self.reason}" if self.reason else "CPU · NumPy"


def to_numpy(a) -> np.ndarray:
    """NumPy view/copy of a NumPy or CuPy array (or anything array-like)."""
    if isinstance(a, np.ndarray):
        return a
    get = getattr(a, "get", None)
    if get is not None and type(a).__module__.startswith("cupy"):
        return get()
    return np.asarray(a)


def array_module(a) -> ModuleType:
    """The module (numpy or cupy) that owns array ``a``."""
    if type(a) is np.ndarray:  # every CPU step asks several times: answer it first
        return np
    if type(a).__module__.startswith("cupy"):
        import cupy

        return cupy
    return np


@functools.cache
def probe_gpu() -> GpuProbe:
    """Import CuPy, ask whether a GPU is available and run a tiny kernel; cache the answer.

    The kernel catches a CUDA runtime without NVRTC, which only fails on first compile.
    """
    try:
        import cupy
    except ImportError:
        return GpuProbe(False, "CuPy is not installed (pip install 'gpu-trainer[gpu]')")
    except Exception as exc:  # a broken CuPy install must not take the app down
        return GpuProbe(False, f"CuPy failed to import: {_first_line(exc)}")
    version = getattr(cupy, "__version__", None)
    try:
        if not cupy.is_available():
            return GpuProbe(False, _no_gpu_reason(cupy), version)
        count = cupy.cuda.runtime.getDeviceCount()
        x = cupy.arange(4, dtype=cupy.float32)
        if float((x * 2 + 1).sum()) != 16.0:
            return GpuProbe(False, "a test kernel on the GPU returned a wrong result", version)
    except Exception as exc:
        return GpuProbe(False, f"the GPU failed a test kernel: {_first_line(exc)}", version)
    return GpuProbe(True, None, version, count)


def _no_gpu_reason(cupy) -> str:
    try:
        cupy.cuda.runtime.getDeviceCount()
    except Exception as exc:
        text = str(exc)
        if "InsufficientDriver" in text or "insufficient" in text.lower():
            return "the NVIDIA driver is too old for this CuPy build"
        if "NoDevice" in text or "no CUDA-capable device" in text:
            return "no NVIDIA GPU found"
        return "no NVIDIA driver found"
    return "no usable NVIDIA GPU found"


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return f"{type(exc).__name__}: {text[0]}" if text else type(exc).__name__


def parse_device(spec: str | None) -> tuple[str, int | None]:
    """'auto' | 'cpu' | 'gpu' | 'gpu:N' -> (kind, index). Raises ValueError otherwise."""
    text = (spec or "auto").strip().lower()
    if text in ("auto", "cpu"):
        return text, None
    if text in ("gpu", "cuda"):
        return "gpu", 0
    for prefix in ("gpu:", "cuda:"):
        if text.startswith(prefix) and text[len(prefix) :].isdigit():
            return "gpu", int(text[len(prefix) :])
    raise ValueError(f"unknown device {spec!r}: use 'auto', 'cpu', 'gpu' or 'gpu:N'")


def cpu_name() -> str:
    name = platform.processor() or platform.machine()
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as fh:
            for line in fh:
                if line.startswith("model name"):
                    name = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    return name or "CPU"


TF32_ENV_VAR = "GPU_TRAINER_TF32"


def set_tf32(enabled: bool) -> None:
    """Let float32 matrix products on the GPU use TF32 tensor cores (off by default: about
    10 bits of mantissa instead of 23).

    CuPy reads ``CUPY_TF32`` at its first float32 matmul; after that its compute type is set
    directly (a CuPy internal: if it moves, a warning says the setting did not apply).
    ``GPU_TRAINER_TF32=1`` turns it on when the GPU backend is first made.
    """
    os.environ["CUPY_TF32"] = "1" if enabled else "0"
    cupy = sys.modules.get("cupy")
    if cupy is None:
        return
    try:
        from cupy._core import _routines_linalg as linalg

        kind = linalg.COMPUTE_TYPE_TF32 if enabled else linalg.COMPUTE_TYPE_DEFAULT
        linalg.set_compute_type(np.float32, kind)
    except Exception as exc:  # noqa: BLE001 - a CuPy internal; say so and go on
        log.warning("could not switch TF32 %s in this CuPy: %s", "on" if enabled else "off", exc)


@functools.cache
def _gpu_backend(index: int) -> Backend:
    import cupy

    tf32 = os.environ.get(TF32_ENV_VAR, "").strip().lower() in ("1", "true", "yes", "on")
    set_tf32(tf32)

    with cupy.cuda.Device(index):
        props = cupy.cuda.runtime.getDeviceProperties(index)
    name = props["name"]
    name = name.decode() if isinstance(name, bytes) else str(name)
    pci = "{:04x}:{:02x}:{:02x}.0".format(
        props.get("pciDomainID", 0), props.get("pciBusID", 0), props.get("pciDeviceID", 0)
    )
    info = {"pci_bus_id": pci.upper(), "total_memory": int(props.get("totalGlobalMem", 0))}
    return Backend(cupy, f"gpu:{index}", name, None, info)


def get_backend(device: str | None = None) -> Backend:
    """The backend for ``device`` (argument, else $GPU_TRAINER_DEVICE, else 'auto')."""
    source = "device argument" if device is not None else ENV_VAR
    spec = device if device is not None else os.environ.get(ENV_VAR)
    try:
        kind, index = parse_device(spec)
    except ValueError as exc:
        raise DeviceUnavailableError(f"{source}: {exc}") from None
    if kind == "cpu":
        return Backend(np, "cpu", cpu_name(), "CPU requested")
    probe = probe_gpu()
    if kind == "auto":
        if probe.usable:
            return _gpu_backend(0)
        return Backend(np, "cpu", cpu_name(), probe.reason)
    if not probe.usable:
        raise DeviceUnavailableError(
            f"the GPU was requested but cannot be used: {probe.reason}; use --device cpu"
        )
    if index >= probe.device_count:
        raise DeviceUnavailableError(
            f"GPU {index} was requested but only {probe.device_count} GPU(s) are visible"
        )
    return _gpu_backend(index)
