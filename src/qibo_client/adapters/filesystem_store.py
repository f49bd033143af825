"""Result store on the local filesystem: ``<base>/<server key>/<pid>/results.npy``.

The base folder is the one given, else ``$RESULTS_BASE_FOLDER`` (as in the
published client), else a per-user cache folder (never a folder shared by
all users). Results are kept per server (:func:`server_key`), since two
servers may hand out the same pid. An archive is extracted while it downloads
into a private ``.<pid>.partial-<random>`` folder beside its place and renamed
into place only when complete, so ``<pid>`` is always either absent or whole.
Only folders and files this user owns, and never a symbolic link, are read
from or written into: in a shared results folder nobody can plant a result.
With a size cap (``$QIBO_CLIENT_CACHE_MAX_SIZE``), the least recently used job
folders go after each save (:mod:`~qibo_client.adapters.filesystem_cache`).
"""

from __future__ import annotations

import contextlib
import os
import secrets
import shutil
import tempfile
import time
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from qibo_client.adapters import filesystem_cache as usage
from qibo_client.adapters.filesystem_paths import kind_of, planted_error, remove, server_key
from qibo_client.domain.records import StoredResult
from qibo_client.exceptions import UnsafeResultError
from qibo_client.ports.result_store import CachedResult, ResultStore, choose_evictions
from qibo_client.ports.transport import ResultStream
from qibo_client.protocol.readers import validate_pid
from qibo_client.protocol.wire import RESULTS_FILE

#: Environment variable naming the results base folder (as in qibo-client 0.2.x).
RESULTS_BASE_ENV = "RESULTS_BASE_FOLDER"
#: Leftovers of a killed process (``.<pid>.partial-*``, ``.<pid>.old-*``) older than this go.
STALE_AFTER_SECONDS = 24 * 3600
#: How often a result is moved into place, or read, while another process replaces it.
TRIES = 5


def default_base_folder() -> Path:
    """``$RESULTS_BASE_FOLDER`` when set, else ``<user cache>/qibo-client/results``."""
    configured = os.environ.get(RESULTS_BASE_ENV)
    if configured:
        return Path(configured).expanduser()
    import platformdirs

    return Path(platformdirs.user_cache_dir("qibo-client")) / "results"


class FilesystemResultStore(ResultStore):
    """Keeps each job's extracted archive in ``<base_folder>/<server key>/<pid>``.

    ``max_total_bytes`` bounds what one archive may unpack to (a caller's
    ``max_bytes`` may only lower it), and ``max_members`` how many entries it
    may have. ``max_cache_bytes`` bounds the whole folder (bytes, or a size
    such as ``"2GB"``; ``None``: ``$QIBO_CLIENT_CACHE_MAX_SIZE``, unset for no
    bound): after each save, the least recently used results go until the
    rest fit, except the one just saved and any used in the last minute.
    """

    def __init__(
        self,
        base_folder: Path | str | None = None,
        *,
        max_total_bytes: int = 16 * 2**30,
        max_members: int = 64,
        max_cache_bytes: int | str | None = None,
    ) -> None:
        self.base_folder = Path(base_folder) if base_folder is not None else default_base_folder()
        self.max_total_bytes = max_total_bytes
        self.max_members = max_members
        if isinstance(max_cache_bytes, str):
            max_cache_bytes = usage.parse_size(max_cache_bytes)
        elif max_cache_bytes is None:
            max_cache_bytes = usage.cap_from_environment()
        self.max_cache_bytes: int | None = max_cache_bytes

    def __repr__(self) -> str:
        return f"FilesystemResultStore({str(self.base_folder)!r})"

    def folder_for(self, server: str, pid: str) -> Path:
        """The folder that holds (or will hold) the job's extracted files."""
        return self.base_folder / server_key(server) / validate_pid(pid)

    def lookup(self, server: str, pid: str) -> StoredResult | None:
        folder = self.folder_for(server, pid)
        usage.touch(folder)  # before looking: the size cap spares what is about to be read
        result = folder / RESULTS_FILE
        if kind_of(folder.parent) == kind_of(folder) == "dir" and kind_of(result) == "file":
            return StoredResult(server, pid, folder, result)
        return None

    def forget(self, server: str, pid: str) -> bool:
        return usage.set_aside_and_remove(self.folder_for(server, pid))

    def cached(self) -> list[CachedResult]:
        """Every job folder, ``server`` being its ``<server key>`` folder's name."""
        return usage.scan(self.base_folder)

    def discard(self, entries: Iterable[CachedResult]) -> list[CachedResult]:
        removed = []
        for entry in entries:
            folder = usage.job_folder(self.base_folder, entry.server, entry.pid)
            if folder is not None and usage.set_aside_and_remove(
                folder, unused_since=entry.last_used
            ):
                removed.append(entry)
        return removed

    def _enforce_cap(self, keep: Path) -> None:
        """Remove the least recently used results past :attr:`max_cache_bytes`, never ``keep``."""
        if self.max_cache_bytes is None:
            return
        chosen = choose_evictions(
            self.cached(),
            now=time.time(),
            max_bytes=self.max_cache_bytes,
            keep={(keep.parent.name, keep.name)},
        )
        self.discard(chosen)

    def save(
        self, server: str, pid: str, stream: ResultStream, *, max_bytes: int | None = None
    ) -> StoredResult:
        from qibo_client.results.archive import extract_stream

        folder = self.folder_for(server, pid)
        self._make_server_folder(folder.parent)
        if kind_of(folder) not in ("absent", "dir"):
            raise planted_error(folder)
        had_result = self.lookup(server, pid) is not None
        self._sweep_leftovers(folder)
        limit = self.max_total_bytes if max_bytes is None else min(max_bytes, self.max_total_bytes)
        partial = Path(tempfile.mkdtemp(prefix=f".{folder.name}.partial-", dir=folder.parent))
        try:
            names = extract_stream(
                stream, partial, max_total_bytes=limit, max_members=self.max_members
            )
            self._move_into_place(partial, folder, replace_result=had_result)
        except BaseException:  # KeyboardInterrupt too: never leave a partial folder
            shutil.rmtree(partial, ignore_errors=True)
            raise
        usage.touch(folder)
        with contextlib.suppress(OSError):  # a full cache never fails the save it follows
            self._enforce_cap(folder)
        found = self.lookup(server, pid)
        if found is not None or RESULTS_FILE not in names:
            return found or StoredResult(server, pid, folder, None)
        # Another process is replacing the folder this very moment: ours had a result.
        return StoredResult(server, pid, folder, folder / RESULTS_FILE)

    def _make_server_folder(self, server_folder: Path) -> None:
        """Create the server's folder (mode 0700); refuse one that is a link or not ours."""
        self.base_folder.mkdir(mode=0o700, parents=True, exist_ok=True)
        with contextlib.suppress(FileExistsError):
            server_folder.mkdir(mode=0o700)
        if kind_of(server_folder) != "dir":
            raise planted_error(server_folder)

    def _sweep_leftovers(self, folder: Path) -> None:
        """Remove this job's temp folders that a killed process (not Ctrl-C) left long ago."""
        cutoff = time.time() - STALE_AFTER_SECONDS
        for pattern in (f".{folder.name}.partial-*", f".{folder.name}.old-*"):
            for leftover in folder.parent.glob(pattern):
                with contextlib.suppress(OSError):
                    if kind_of(leftover) == "dir" and leftover.lstat().st_mtime < cutoff:
                        shutil.rmtree(leftover, ignore_errors=True)

    def _move_into_place(self, partial: Path, folder: Path, *, replace_result: bool) -> None:
        """Rename ``partial`` to ``folder``, setting an older ``folder`` aside and deleting it.

        A ``folder`` that holds a result is replaced only when it did before
        this save began; one that gained it meanwhile came from another process
        saving the same job at once, and is kept (ours is the same result).
        """
        failure: OSError | None = None
        for _ in range(TRIES):
            try:
                os.rename(partial, folder)
                return
            except OSError as error:
                if not os.path.lexists(folder):  # gone again: set aside by another process?
                    failure = error
                    continue
            kind = kind_of(folder)
            if kind == "absent":  # set aside by another process since the rename failed
                continue
            if kind != "dir":
                raise planted_error(folder)
            if not replace_result and kind_of(folder / RESULTS_FILE) == "file":
                shutil.rmtree(partial, ignore_errors=True)
                return
            aside = folder.with_name(f".{folder.name}.old-{secrets.token_hex(8)}")
            try:
                os.rename(folder, aside)
            except FileNotFoundError:
                continue  # another process set it aside first
            try:
                os.rename(partial, folder)
            except OSError:
                if os.path.lexists(folder):  # another process's copy arrived in between
                    remove(aside)
                    continue
                os.rename(aside, folder)
                raise
            remove(aside)
            return
        if failure is not None:
            raise failure
        raise UnsafeResultError(f"{folder} kept changing while the result was moved into place")

    def prepare(self) -> None:
        from qibo_client.results.loader import warm_up

        warm_up()

    def load(self, stored: StoredResult) -> Any:
        from qibo_client.results.loader import load_result_file

        path = stored.result_file
        usage.touch(stored.folder)  # used now: the size cap keeps it longest
        for attempt in range(TRIES):
            if path is None:
                break
            if kind_of(path) == "file":
                try:
                    return load_result_file(path)
                except FileNotFoundError:
                    pass  # replaced by another process between our look and our read
            time.sleep(0.01 * attempt)
        raise FileNotFoundError(
            f"no stored result for job {stored.pid}: {stored.folder} holds no {RESULTS_FILE}"
        )
