"""Test configuration: Qt offscreen, and the `gpu` marker skipped where no GPU is usable."""

from __future__ import annotations

import os

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
# Tests never pick up a developer's device choice by accident.
os.environ.pop("GPU_TRAINER_DEVICE", None)

import pytest  # noqa: E402


def pytest_collection_modifyitems(config, items):
    gpu_items = [item for item in items if "gpu" in item.keywords]
    if not gpu_items:
        return
    from engine.backend import probe_gpu

    probe = probe_gpu()
    if probe.usable:
        return
    skip = pytest.mark.skip(reason=f"needs a usable NVIDIA GPU: {probe.reason}")
    for item in gpu_items:
        item.add_marker(skip)


@pytest.fixture
def sample_dir():
    from engine.data.samples import sample_paths

    return sample_paths()[0].parent


@pytest.fixture(autouse=True, scope="session")
def _run_store_of_the_session(tmp_path_factory):
    """Runs recorded by the tests (the CLI records by default) go to a folder of this
    session, never to a developer's own run store."""
    os.environ["GPU_TRAINER_HOME"] = str(tmp_path_factory.mktemp("gpu-trainer-home"))
