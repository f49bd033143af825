"""Names and checks for the filesystem result store: a folder per server, and only our own files.

In a results folder other users can write to, a neighbour could plant a
symbolic link or a folder of their own where a result is looked for; the
store reads from and writes into only folders and files this user owns that
are no links (:func:`kind_of`).
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import re
import shutil
import stat
from pathlib import Path
from urllib.parse import urlsplit

from qibo_client.exceptions import UnsafeResultError


def server_key(server: str) -> str:
    """The folder name for a server's results: a readable slug of its URL and a short hash.

    ``https://cloud.qibo.science`` gives ``https-cloud.qibo.science-<12 hex>``;
    ``local:///data/qibo`` gives ``local-data-qibo-<12 hex>``. The hash is of
    the whole URL, so URLs that slug alike still get folders of their own; a
    user name, password or query never shows in the name.
    """
    url = server.strip().rstrip("/")
    try:
        parts = urlsplit(url)
        host = (parts.hostname or "") + (f"-{parts.port}" if parts.port else "")
        readable = f"{parts.scheme}-{host}{parts.path}"
    except ValueError:
        readable = "server"
    slug = re.sub(r"[^a-z0-9.]+", "-", readable.lower()).strip("-.")[:48].rstrip("-.")
    digest = hashlib.sha256(url.encode("utf-8", "surrogatepass")).hexdigest()[:12]
    return f"{slug or 'server'}-{digest}"


def owned(status: os.stat_result) -> bool:
    """True if this user owns the file (always, where the system has no user ids)."""
    return not hasattr(os, "geteuid") or status.st_uid == os.geteuid()


def kind_of(path: Path) -> str:
    """``absent``, ``dir`` or ``file`` for what this user owns and is no link; else ``foreign``."""
    try:
        status = os.lstat(path)
    except (FileNotFoundError, NotADirectoryError):
        return "absent"
    if not owned(status):
        return "foreign"
    if stat.S_ISDIR(status.st_mode):
        return "dir"
    return "file" if stat.S_ISREG(status.st_mode) else "foreign"


def planted_error(path: Path) -> UnsafeResultError:
    """The refusal of a path that is a link, or not ours, where the store would work."""
    return UnsafeResultError(
        f"{path} is a symbolic link, or not a folder of yours; refused, nothing was read or "
        "written there. Remove it, or keep results in a folder only you can write to "
        "($RESULTS_BASE_FOLDER)"
    )


def remove(path: Path) -> None:
    """Delete a folder we set aside (or whatever took its name), ignoring what is gone."""
    if path.is_dir() and not path.is_symlink():
        shutil.rmtree(path, ignore_errors=True)
    else:
        with contextlib.suppress(OSError):
            path.unlink()
