from __future__ import annotations

import pytest

from engine.errors import UserError
from engine.io.atomic import atomic_path, write_bytes


def test_write_bytes_replaces_the_file_whole(tmp_path):
    target = tmp_path / "out.bin"
    target.write_bytes(b"old")
    write_bytes(target, b"new contents")
    assert target.read_bytes() == b"new contents"
    assert [p.name for p in tmp_path.iterdir()] == ["out.bin"]


def test_an_error_mid_write_keeps_the_old_file_and_leaves_no_temporary(tmp_path):
    target = tmp_path / "out.csv"
    target.write_text("old")
    with pytest.raises(RuntimeError), atomic_path(target) as tmp:
        tmp.write_text("half")
        raise RuntimeError("disk full")
    assert target.read_text() == "old"
    assert [p.name for p in tmp_path.iterdir()] == ["out.csv"]


def test_a_missing_folder_is_a_user_error(tmp_path):
    with pytest.raises(UserError, match="does not exist"), atomic_path(tmp_path / "no" / "f"):
        pass


def test_a_folder_as_the_target_is_a_user_error(tmp_path):
    with pytest.raises(UserError, match="is a folder"):
        write_bytes(tmp_path, b"x")


def test_written_files_follow_the_umask_not_mkstemps_private_mode(tmp_path):
    import os

    mask = os.umask(0o022)
    os.umask(mask)
    target = write_bytes(tmp_path / "m.bin", b"x")
    assert target.stat().st_mode & 0o777 == 0o666 & ~mask


WRITER = """
import sys
import numpy as np
from engine.io.model_file import save_model

path, version = sys.argv[1], 0
while True:  # one model file rewritten again and again, two versions alternating
    version = 1 - version
    weights = [np.full((1024, 1024), version, np.float32), np.full(7, version, np.float32)]
    save_model(path, weights, {"extra": {"version": version}})
    print(version, flush=True)
"""


def _kill_while_writing(target, delay: float) -> bool:
    """Start the writer, SIGKILL it ``delay`` s after its first whole file; True when the kill
    landed mid-write (its temporary file is still there)."""
    import signal
    import subprocess
    import sys
    import time
    from pathlib import Path

    root = Path(__file__).resolve().parents[3]
    writer = subprocess.Popen(
        [sys.executable, "-c", WRITER, str(target)], cwd=root, stdout=subprocess.PIPE
    )
    try:
        assert writer.stdout.readline()  # one whole file written
        time.sleep(delay)
    finally:
        writer.send_signal(signal.SIGKILL)
        writer.wait()
    return any(p.name.endswith(".tmp") for p in target.parent.iterdir())


def test_a_writer_killed_mid_write_leaves_the_old_file_or_the_new_one(tmp_path):
    """SIGKILL at arbitrary moments of a 4 MB model file's rewrite: the file is always one
    whole version (its checksum holds), and the next write clears the killed writer's
    temporary file. Kills go on until one has landed mid-write (about one in three does)."""
    import numpy as np

    from engine.io.model_file import read_model_file, save_model

    target = tmp_path / "model.safetensors"
    rng = np.random.default_rng(0)
    landed = 0
    for attempt in range(30):
        landed += _kill_while_writing(target, float(rng.uniform(0.02, 0.5)))
        weights, sections = read_model_file(target)
        version = sections["extra"]["version"]
        assert version in (0, 1)
        assert np.all(weights[0] == version) and np.all(weights[1] == version)
        save_model(target, weights, sections)  # the next write of the file
        assert [p.name for p in tmp_path.iterdir()] == ["model.safetensors"]
        if landed and attempt >= 3:
            break
    assert landed, "no kill landed mid-write: the test did not test anything"
