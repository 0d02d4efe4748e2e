"""Samples, device facts and a run summary as one JSON document (test fixtures, replays)."""

from __future__ import annotations

import json
from pathlib import Path

from engine.hardware.samples import info_from_dict, info_to_dict, sample_from_dict, sample_to_dict
from engine.io.atomic import write_bytes

FORMAT = "gpu-trainer-telemetry/1"


def recording(sampler, summary: dict | None = None, **meta) -> dict:
    """Everything ``sampler`` holds, JSON-safe; ``meta`` says what ran, where and when."""
    return {
        "format": FORMAT,
        "meta": meta,
        "mode": sampler.mode,
        "reason": sampler.reason,
        "notice": sampler.notice,
        "system": sampler.system,
        "devices": [info_to_dict(d) for d in sampler.devices],
        "training_index": sampler.training_index,
        "summary": summary,
        "samples": [sample_to_dict(s) for s in sampler.samples],
    }


def write_recording(path, data: dict) -> Path:
    """Write ``data`` as JSON via a temporary name, so no half-written file is left behind."""
    return write_bytes(path, (json.dumps(data, indent=1) + "\n").encode("utf-8"))


def read_recording(path) -> dict:
    """Load a recording; ``samples`` and ``devices`` come back as sample/info objects."""
    data = json.loads(Path(path).read_text(encoding="utf-8"))
    if data.get("format") != FORMAT:
        raise ValueError(f"{path}: not a GPU Trainer telemetry recording ({FORMAT})")
    data["samples"] = [sample_from_dict(s) for s in data["samples"]]
    data["devices"] = [info_from_dict(d) for d in data["devices"]]
    return data
