from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from engine.backend import probe_gpu


def _run(*args: str, env_extra: dict | None = None) -> subprocess.CompletedProcess:
    env = dict(os.environ)
    env.pop("GPU_TRAINER_DEVICE", None)
    env.update(env_extra or {})
    return subprocess.run(
        [sys.executable, "-m", "gui.launcher", *args],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
    )


def test_info_prints_versions_and_backend():
    result = _run("info")
    assert result.returncode == 0, result.stderr
    assert "Traceback" not in result.stdout + result.stderr
    for key in ("gpu-trainer", "Python", "NumPy", "CuPy", "Backend", "NVML"):
        assert key in result.stdout


@pytest.mark.skipif(probe_gpu().usable, reason="this machine has a usable GPU")
def test_info_without_gpu_says_numpy_and_why():
    info = json.loads(_run("info", "--json").stdout)
    assert info["backend"] == "numpy"
    assert info["reason"] == probe_gpu().reason
    assert info["reason"]  # a reason in words, e.g. "CuPy is not installed ..."
    assert "NumPy" in info["backend_description"] and info["reason"] in info["backend_description"]


def test_info_with_impossible_device_request_has_no_traceback():
    result = _run("info", env_extra={"GPU_TRAINER_DEVICE": "tpu:7"})
    assert result.returncode == 0
    assert "Traceback" not in result.stderr
    assert "unknown device" in result.stdout


def test_unknown_command_exits_2():
    result = _run("frobnicate")
    assert result.returncode == 2
