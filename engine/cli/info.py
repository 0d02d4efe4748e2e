"""``gpu-trainer info``: versions, the array backend training would use and why, NVML status."""

from __future__ import annotations

import json
import platform


def add_arguments(parser) -> None:
    parser.add_argument("--json", action="store_true", help="print one JSON object")


def collect() -> dict:
    """Everything ``info`` reports, as plain values. Never raises."""
    import numpy as np

    from engine import __version__
    from engine.backend import get_backend, probe_gpu
    from engine.hardware import nvml_status

    probe = probe_gpu()
    try:
        backend = get_backend()
        backend_text = backend.describe()
        backend_name, reason = backend.name, backend.reason
    except Exception as exc:  # e.g. GPU_TRAINER_DEVICE asks for a GPU that is not there
        backend_text, backend_name, reason = f"unavailable — {exc}", None, str(exc)
    return {
        "gpu_trainer": __version__,
        "python": platform.python_version(),
        "numpy": np.__version__,
        "cupy": probe.cupy_version,
        "backend": backend_name,
        "backend_description": backend_text,
        "reason": reason,
        "gpu_usable": probe.usable,
        "nvml": nvml_status(),
    }


def run(args) -> int:
    info = collect()
    if args.json:
        print(json.dumps(info, indent=2))
        return 0
    rows = [
        ("gpu-trainer", info["gpu_trainer"]),
        ("Python", info["python"]),
        ("NumPy", info["numpy"]),
        ("CuPy", info["cupy"] or "not installed"),
        ("Backend", info["backend_description"]),
        ("NVML", info["nvml"]),
    ]
    width = max(len(k) for k, _ in rows)
    for key, value in rows:
        print(f"{key:<{width}}  {value}")
    return 0
