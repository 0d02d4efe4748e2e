"""Write files whole or not at all: a temporary name in the same folder, then a rename.

Every file the app writes (model files, ONNX graphs, predictions, recordings) goes through
here, so an error or a crash mid-write never leaves a half-written file behind: the data
reach the disk (fsync) before the rename, and the folder's entry after it, so a power cut
cannot leave the new name pointing at missing data either. A process killed mid-write leaves
the old file, never part of the new one; its hidden ``.NAME.PID.*.tmp`` is removed by the next
write of the same file once that process is gone.
"""

from __future__ import annotations

import contextlib
import glob
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path

from engine.errors import UserError
from engine.processes import alive


@contextlib.contextmanager
def atomic_path(path) -> Iterator[Path]:
    """A temporary path beside ``path`` to write; renamed to ``path`` when the block ends
    without an error, removed otherwise. A missing folder is a :class:`UserError`."""
    path = Path(path)
    folder = path.parent if str(path.parent) else Path(".")
    if not folder.is_dir():
        raise UserError(f"{path}: folder {folder} does not exist; create it or pick another")
    if path.is_dir():
        raise UserError(f"{path}: is a folder; give a file name inside it")
    _remove_stale(folder, path.name)
    try:
        fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.{os.getpid()}.", suffix=".tmp", dir=folder)
    except OSError as exc:
        raise UserError(f"{path}: cannot write in {folder} ({exc.strerror or exc})") from None
    os.close(fd)
    try:
        yield Path(tmp)
        os.chmod(tmp, 0o666 & ~_UMASK)  # mkstemp makes it private; a saved file is not
        _fsync(tmp, os.O_RDWR)
        os.replace(tmp, path)
        if os.name == "posix":  # a folder's entry is flushed through the folder itself
            _fsync(folder, os.O_RDONLY)
    except OSError as exc:
        Path(tmp).unlink(missing_ok=True)
        raise UserError(f"{path}: cannot be written ({exc.strerror or exc})") from None
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def _remove_stale(folder: Path, name: str) -> None:
    """Temporary files of ``name`` left by writers that were killed (their PID is gone)."""
    for tmp in folder.glob(f".{glob.escape(name)}.*.tmp"):
        pid = tmp.name[len(name) + 2 :].split(".", 1)[0]
        if pid.isdigit() and not alive(int(pid)):
            tmp.unlink(missing_ok=True)


def _fsync(path, flags: int) -> None:
    """Flush ``path`` (a file or, on POSIX, a folder) to the disk."""
    fd = os.open(path, flags)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _read_umask() -> int:
    # os.umask can only be read by setting it; done once, at import, before any threads write
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


_UMASK = _read_umask()


def write_bytes(path, data: bytes) -> Path:
    """Write ``data`` to ``path`` atomically."""
    with atomic_path(path) as tmp, open(tmp, "wb") as fh:
        fh.write(data)
    return Path(path)
