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
