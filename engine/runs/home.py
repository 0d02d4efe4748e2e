"""Where GPU Trainer keeps what it remembers: the run store and the checkpoints.

``GPU_TRAINER_HOME`` chooses the folder (tests, portable installs); otherwise the user's data
folder as platformdirs knows it for this system (``~/.local/share/gpu-trainer`` under the
XDG rules on Linux).
"""

from __future__ import annotations

import os
from pathlib import Path

ENV_VAR = "GPU_TRAINER_HOME"
APP_NAME = "gpu-trainer"


def home() -> Path:
    """The folder (not created here)."""
    explicit = os.environ.get(ENV_VAR, "").strip()
    if explicit:
        return Path(explicit).expanduser()
    from platformdirs import user_data_path

    return user_data_path(APP_NAME, appauthor=False)


def store_path() -> Path:
    return home() / "runs.sqlite"


def checkpoint_folder(run_id: str) -> Path:
    return home() / "checkpoints" / run_id
