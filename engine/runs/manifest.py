"""A run's manifest: one JSON file with what reproduces it.

The data's SHA-256 and schema with its roles, every setting and the seed, and the versions
and device it ran with. ``gpu-trainer train DATA --manifest FILE`` trains the same run again
(on the CPU with the same versions, bit for bit) and refuses data whose hash differs. The
model file carries its run's manifest too.
"""

from __future__ import annotations

import json
from pathlib import Path

from engine.errors import UserError
from engine.io.atomic import write_bytes

FORMAT = "gpu-trainer-manifest"
VERSION = 1


def manifest_for(run: dict) -> dict:
    """The manifest of a run as :meth:`engine.runs.store.RunStore.get` gives it."""
    settings = dict(run["settings"])
    settings["seed"] = run["seed"]
    return {
        "format": FORMAT,
        "version": VERSION,
        "run_id": run["id"],
        "data": {
            "name": Path(run["data_path"] or "").name,
            "sha256": run["data_sha256"],
            "rows": run["data_rows"],
            "columns": run["data_columns"],
            "schema": run["schema"],
        },
        "settings": settings,
        "environment": run["environment"],
    }


def write_manifest(path, manifest: dict) -> Path:
    return write_bytes(path, (json.dumps(manifest, indent=2) + "\n").encode("utf-8"))


def read_manifest(path) -> dict:
    """The manifest at ``path``; one sentence when it is missing or not a manifest."""
    path = Path(path)
    try:
        manifest = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise UserError(f"{path}: manifest not found; check the path") from None
    except (OSError, UnicodeDecodeError, ValueError):
        raise UserError(f"{path}: is not a GPU Trainer manifest (not JSON)") from None
    if not isinstance(manifest, dict) or manifest.get("format") != FORMAT:
        raise UserError(
            f"{path}: is not a GPU Trainer manifest; write one with "
            "'gpu-trainer runs show RUN --manifest FILE'"
        )
    return manifest


def check_data(manifest: dict, sha256: str, data_name: str) -> None:
    """Refuse data that is not the manifest's (by content, not by name)."""
    want = manifest["data"]["sha256"]
    if sha256 != want:
        raise UserError(
            f"{data_name}: is not the data of run {manifest['run_id']} (SHA-256 {sha256[:12]}… "
            f"instead of {want[:12]}…); pass the file that run trained on"
        )
