"""The filesystem store's bookkeeping: sizes and last uses of job folders, the size cap, removal.

A job folder's modification time is its last use: the store sets it when it
saves a result and when it loads one. Folders are removed the way the store
replaces them: renamed aside (``.<pid>.old-<random>``) in one step, then
deleted, so ``<pid>`` is always either absent or whole; a folder used since it
was listed is left alone.
"""

from __future__ import annotations

import contextlib
import os
import re
import secrets
from pathlib import Path

from qibo_client.adapters.filesystem_paths import kind_of, remove
from qibo_client.exceptions import ConfigurationError, MalformedResponseError
from qibo_client.ports.result_store import CachedResult
from qibo_client.protocol.readers import validate_pid

#: Environment variable bounding the results folder's total size (``2GB``, ``500MB``; unset: none).
CACHE_MAX_SIZE_ENV = "QIBO_CLIENT_CACHE_MAX_SIZE"

_UNITS = {"": 1, "k": 2**10, "m": 2**20, "g": 2**30, "t": 2**40}
_SIZE = re.compile(r"^\s*(\d+(?:\.\d*)?|\.\d+)\s*([kmgt]?)(i?b)?\s*$", re.IGNORECASE)
_NO_CAP = frozenset({"", "none", "off", "unlimited"})


def parse_size(text: str) -> int | None:
    """Bytes from a human size: ``2GB``, ``1.5 GiB``, ``500M``, ``4096``; ``None`` for ``none``.

    Units step by 1024 (``1 GB`` is 1024 MB, as ``qibo-client cache list``
    shows sizes); ``none``, ``off``, ``unlimited`` or blank mean no bound.
    """
    if text.strip().lower() in _NO_CAP:
        return None
    match = _SIZE.match(text)
    if match is None:
        raise ValueError(f"{text!r} is not a size: write it as 2GB, 500MB, 1.5GiB or 'none'")
    number, unit = match.group(1), match.group(2).lower()
    return int(float(number) * _UNITS[unit])


def cap_from_environment() -> int | None:
    """The size cap ``$QIBO_CLIENT_CACHE_MAX_SIZE`` sets, if any."""
    try:
        return parse_size(os.environ.get(CACHE_MAX_SIZE_ENV, ""))
    except ValueError as error:
        raise ConfigurationError(f"${CACHE_MAX_SIZE_ENV}: {error}") from None


def touch(folder: Path) -> None:
    """Mark a job folder as used now (its modification time), if it is ours."""
    if kind_of(folder) != "dir":
        return
    with contextlib.suppress(OSError):
        if os.utime in os.supports_follow_symlinks:
            os.utime(folder, follow_symlinks=False)
        else:  # pragma: no cover - systems without lutimes
            os.utime(folder)


def folder_size(folder: Path) -> int:
    """The bytes of the files under ``folder`` (links are counted, never followed)."""
    total = 0
    for root, _, files in os.walk(folder):
        for name in files:
            with contextlib.suppress(OSError):
                total += os.lstat(os.path.join(root, name)).st_size
    return total


def _subfolders(folder: Path) -> list[Path]:
    """Our own folders in ``folder`` (no links, no hidden temporary ones)."""
    try:
        names = sorted(os.listdir(folder))
    except OSError:
        return []
    return [folder / n for n in names if not n.startswith(".") and kind_of(folder / n) == "dir"]


def scan(base: Path) -> list[CachedResult]:
    """Every complete job folder under ``base``: ``<server key>/<pid>``, with size and last use."""
    found = []
    for server_folder in _subfolders(base):
        for folder in _subfolders(server_folder):
            try:
                validate_pid(folder.name)
                last_used = os.lstat(folder).st_mtime
            except (MalformedResponseError, OSError):
                continue
            found.append(
                CachedResult(
                    server_folder.name, folder.name, folder_size(folder), last_used, folder
                )
            )
    return found


def job_folder(base: Path, server_name: str, pid: str) -> Path | None:
    """``base/<server name>/<pid>`` when both are plain names; else ``None``."""
    try:
        validate_pid(pid)
    except MalformedResponseError:
        return None
    if not server_name or server_name.startswith(".") or Path(server_name).name != server_name:
        return None
    return base / server_name / pid


def _used_after(path: Path, moment: float) -> bool:
    try:
        return os.lstat(path).st_mtime > moment
    except OSError:
        return True  # gone or unreadable: not ours to remove


def set_aside_and_remove(folder: Path, *, unused_since: float | None = None) -> bool:
    """Rename ``folder`` aside, then delete it; True if this call removed it.

    With ``unused_since``, a folder used after that moment is left where it
    is: another process looked it up or loaded it since it was listed. Its
    touch may land between our look and our rename, so the folder set aside
    is looked at again and put back if it was used.
    """
    if kind_of(folder.parent) != "dir" or kind_of(folder) != "dir":
        return False
    if unused_since is not None and _used_after(folder, unused_since):
        return False
    aside = folder.with_name(f".{folder.name}.old-{secrets.token_hex(8)}")
    try:
        os.rename(folder, aside)
    except OSError:  # gone already, or in use where renaming is refused (Windows)
        return False
    if unused_since is not None and _used_after(aside, unused_since):
        try:
            os.rename(aside, folder)  # a reader is on its way: put it back
        except OSError:
            remove(aside)  # saved again meanwhile: the newer copy stays
        return False
    remove(aside)
    return True
