"""NVML GPU telemetry with a psutil CPU fallback (Qt-free). Placeholder: the sampler lands here."""

from __future__ import annotations


def nvml_status() -> str:
    """One line: the NVML driver version and GPU count, or why NVML is unavailable."""
    try:
        import pynvml
    except ImportError:
        return "unavailable — nvidia-ml-py is not installed"
    try:
        pynvml.nvmlInit()
    except pynvml.NVMLError as exc:
        if isinstance(exc, pynvml.NVMLError_LibraryNotFound):
            return "unavailable — no NVIDIA driver found (NVML library not found)"
        return f"unavailable — {exc}"
    try:
        driver = pynvml.nvmlSystemGetDriverVersion()
        count = pynvml.nvmlDeviceGetCount()
        return f"driver {driver}, {count} GPU(s)"
    except pynvml.NVMLError as exc:
        return f"initialised, but a query failed — {exc}"
    finally:
        pynvml.nvmlShutdown()
