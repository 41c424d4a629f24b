"""Files only the server's own user may read: folders 0700, files 0600.

The data folder holds every private key, password hash and sign-in address, so
nothing the server writes there is readable by other users of the machine,
whatever the umask. Files that must appear whole (the secret key) are written
under a temporary name and linked into place, so a process starting beside
another never reads a half-written one.
"""

from __future__ import annotations

import contextlib
import os
import stat
import tempfile
from pathlib import Path

DIR_MODE = 0o700
FILE_MODE = 0o600


def make_private_dir(path: Path) -> None:
    """Create `path` and its missing parents as 0700 folders (existing ones are left as
    they are: the folder of a database path may be anyone's)."""
    missing: list[Path] = []
    here = path
    while not here.exists():
        missing.append(here)
        if here.parent == here:
            break
        here = here.parent
    for folder in reversed(missing):
        # The mode is masked by the umask, which can only take bits away.
        with contextlib.suppress(FileExistsError):
            os.mkdir(folder, DIR_MODE)


def secure_data_dir(path: Path) -> None:
    """The data folder: created 0700, or tightened to 0700 (earlier versions made it 0755)."""
    make_private_dir(path)
    tighten(path)


def tighten(path: Path) -> None:
    """Take group and other permissions off an existing file or folder of ours.

    A missing path is fine; one owned by someone else is left alone (it cannot be
    changed, and refusing to start over it would help nobody).
    """
    try:
        current = stat.S_IMODE(os.stat(path).st_mode)
        if current & 0o077:
            os.chmod(path, current & ~0o077)
    except (FileNotFoundError, PermissionError):
        return


def create_private_file(path: Path) -> None:
    """Make sure `path` exists as a 0600 file (empty if new), without touching its content.

    SQLite gives its `-wal` and `-shm` files the mode of the database file, so
    creating the database this way keeps all three private.
    """
    make_private_dir(path.parent)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT, FILE_MODE)
    os.close(fd)
    tighten(path)


def write_atomically(path: Path, data: bytes) -> None:
    """Write `path` (0600) whole: a synced temporary file renamed over it."""
    tmp = _synced_temporary(path.parent, data)
    try:
        os.replace(tmp, path)
    except BaseException:
        _unlink_quietly(tmp)
        raise


def write_once(path: Path, data: bytes) -> bytes:
    """Create `path` holding `data` (0600) unless it exists; what `path` holds either way.

    The content is written and synced under a temporary name first, then linked to
    `path`, which fails if another process got there first: then its file is read.
    `path` therefore never exists partly written.
    """
    try:
        return path.read_bytes()
    except FileNotFoundError:
        pass
    tmp = _synced_temporary(path.parent, data)
    try:
        os.link(tmp, path)
    except FileExistsError:
        return path.read_bytes()
    finally:
        _unlink_quietly(tmp)
    return data


def _synced_temporary(folder: Path, data: bytes) -> str:
    """`data` in a new file of `folder` (made 0700 if missing), on disk; its path.

    mkstemp creates it 0600, under a dot name that readers of the folder skip.
    """
    make_private_dir(folder)
    fd, tmp = tempfile.mkstemp(prefix=".tmp-", dir=folder)
    try:
        with os.fdopen(fd, "wb") as out:
            out.write(data)
            out.flush()
            os.fsync(out.fileno())
    except BaseException:
        _unlink_quietly(tmp)
        raise
    return tmp


def _unlink_quietly(path: str) -> None:
    with contextlib.suppress(FileNotFoundError):
        os.unlink(path)


__all__ = [
    "DIR_MODE",
    "FILE_MODE",
    "create_private_file",
    "make_private_dir",
    "secure_data_dir",
    "tighten",
    "write_atomically",
    "write_once",
]
