"""One embedded QiboServer per data folder per process, shared and reference-counted.

The ``local://`` transport acquires the server of its folder (``None``: a
temporary folder) and releases it at close; the last release stops the
workers (and removes a temporary folder), and so does interpreter exit.
"""

from __future__ import annotations

import atexit
import shutil
import tempfile
import threading
from dataclasses import dataclass, field
from pathlib import Path

from qibo_client.server.core import QiboServer
from qibo_client.server.store import token_hash


@dataclass
class _Entry:
    server: QiboServer
    users: int = 0
    temporary: bool = False
    token_hashes: set[str] = field(default_factory=set, repr=False)


_registry: dict[Path | None, _Entry] = {}
_registry_lock = threading.Lock()


def acquire(folder: Path | None, workers: int, token: str, *, lane: bool = True) -> QiboServer:
    """The running server of ``folder`` (started if need be), with ``token`` as a user.

    ``workers`` and ``lane`` (small jobs run in this process) are those of the
    first client to name the folder; later ones share its server as it is.
    """
    with _registry_lock:
        entry = _registry.get(folder)
        if entry is None:
            data_dir = folder or Path(tempfile.mkdtemp(prefix="qibo-local-"))
            server = QiboServer(
                data_dir, workers=workers, in_process=lane, keep=folder is not None
            )
            entry = _Entry(server, temporary=folder is None)
            entry.server.start()
            _registry[folder] = entry
        entry.users += 1
        digest = token_hash(token)
        if digest not in entry.token_hashes:
            entry.server.add_user(token)
            entry.token_hashes.add(digest)
        return entry.server


def release(folder: Path | None) -> None:
    """One user of ``folder``'s server less; the last one stops it."""
    with _registry_lock:
        entry = _registry.get(folder)
        if entry is None:
            return
        entry.users -= 1
        if entry.users > 0:
            return
        del _registry[folder]
    _shut(entry)


def _shut(entry: _Entry) -> None:
    entry.server.close()
    if entry.temporary:
        shutil.rmtree(entry.server.data_dir, ignore_errors=True)


@atexit.register
def _close_all() -> None:
    with _registry_lock:
        entries = list(_registry.values())
        _registry.clear()
    for entry in entries:
        _shut(entry)
