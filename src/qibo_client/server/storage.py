"""The server's files: a private data folder, and a full disk told apart from other failures.

The data folder holds users' emails, circuits, results and token hashes, so
it is made private (0700, its files 0600) whatever mode it had. A write that
fails because the disk (or the database) is full is answered with a message
that says so, not a bare "internal error".
"""

from __future__ import annotations

import contextlib
import errno
import logging
import os
import sqlite3
import stat
from pathlib import Path

log = logging.getLogger("qibo_client.server")

#: What a client is told when the server cannot write.
DISK_FULL_DETAIL = (
    "the server's disk is full: it cannot record new jobs or results until its "
    "operator frees space; try again later"
)
#: The errno values of a write that found no room.
_NO_ROOM = {errno.ENOSPC, errno.EDQUOT, errno.EFBIG}


def is_disk_full(error: BaseException) -> bool:
    """True for an error that means the disk, a quota or the database file is full."""
    if isinstance(error, OSError) and error.errno in _NO_ROOM:
        return True
    if isinstance(error, sqlite3.OperationalError | sqlite3.DatabaseError):
        text = str(error).lower()
        return "full" in text or "disk i/o error" in text
    return False


#: What the server keeps in its data folder: files, and folders of its own files.
SERVER_FILES = (
    "server.sqlite3",
    "server.sqlite3-wal",
    "server.sqlite3-shm",
    "server.toml",
    "token",
)
SERVER_FOLDERS = ("results", "work")


def make_private(folder: Path) -> None:
    """Make ``folder`` 0700 and the server's own files in it 0600 (its folders 0700).

    Only what the server keeps there is touched: a data folder may be one the
    user named (``local:///some/folder``) that holds other things too.
    """
    _chmod(folder, 0o700)
    for name in SERVER_FILES:
        _chmod(folder / name, 0o600)
    for name in SERVER_FOLDERS:
        inner = folder / name
        _chmod(inner, 0o700)
        if inner.is_dir() and not inner.is_symlink():
            for entry in os.scandir(inner):
                if entry.is_file(follow_symlinks=False):
                    _chmod(Path(entry.path), 0o600)


def _chmod(path: Path, mode: int) -> None:
    with contextlib.suppress(FileNotFoundError):
        info = path.lstat()
        if stat.S_ISLNK(info.st_mode) or stat.S_IMODE(info.st_mode) == mode:
            return
        try:
            os.chmod(path, mode)
        except OSError as error:  # e.g. a file of another user's
            log.warning("could not make %s private (%s)", path, error.strerror or error)
