"""Hardware telemetry (Qt-free): NVML GPU readings with a psutil CPU fallback.

``Sampler`` is the entry point; ``nvml_status()`` is the one-line check ``gpu-trainer info``
prints. See docs/CONTRACTS.md, "Sampler".
"""

from __future__ import annotations

from engine.hardware.nvml import NvmlUnavailable, normalize_bus_id, nvml_status
from engine.hardware.recording import read_recording, recording, write_recording
from engine.hardware.sampler import Sampler
from engine.hardware.samples import (
    CpuSample,
    GpuInfo,
    GpuSample,
    info_from_dict,
    sample_from_dict,
    sample_to_dict,
)
from engine.hardware.summary import IDLE_ADVICE, idle_advice

__all__ = [
    "IDLE_ADVICE",
    "CpuSample",
    "GpuInfo",
    "GpuSample",
    "NvmlUnavailable",
    "Sampler",
    "idle_advice",
    "info_from_dict",
    "normalize_bus_id",
    "nvml_status",
    "read_recording",
    "recording",
    "sample_from_dict",
    "sample_to_dict",
    "write_recording",
]
