"""Result store on the local filesystem: ``<base>/<pid>/results.npy``.

The base folder is the one given, else ``$RESULTS_BASE_FOLDER`` (as in the
published client), else a per-user cache folder (never a folder shared by
all users). An archive is extracted while it downloads into a private
``<base>/.<pid>.partial-<random>`` folder and renamed into place only when
complete, so ``<base>/<pid>`` is always either absent or whole.
"""

from __future__ import annotations

import contextlib
import os
import secrets
import shutil
import tempfile
import time
from pathlib import Path
from typing import Any

from qibo_client.domain.records import StoredResult
from qibo_client.ports.result_store import ResultStore
from qibo_client.ports.transport import ResultStream
from qibo_client.protocol.readers import validate_pid
from qibo_client.protocol.wire import RESULTS_FILE

#: Environment variable naming the results base folder (as in qibo-client 0.2.x).
RESULTS_BASE_ENV = "RESULTS_BASE_FOLDER"
#: Leftovers of a killed process (``.<pid>.partial-*``, ``.<pid>.old-*``) older than this go.
STALE_AFTER_SECONDS = 24 * 3600


def default_base_folder() -> Path:
    """``$RESULTS_BASE_FOLDER`` when set, else ``<user cache>/qibo-client/results``."""
    configured = os.environ.get(RESULTS_BASE_ENV)
    if configured:
        return Path(configured).expanduser()
    import platformdirs

    return Path(platformdirs.user_cache_dir("qibo-client")) / "results"


class FilesystemResultStore(ResultStore):
    """Keeps each job's extracted archive in ``<base_folder>/<pid>``.

    ``max_total_bytes`` bounds what one archive may unpack to, and
    ``max_members`` how many entries it may have.
    """

    def __init__(
        self,
        base_folder: Path | str | None = None,
        *,
        max_total_bytes: int = 16 * 2**30,
        max_members: int = 64,
    ) -> None:
        self.base_folder = Path(base_folder) if base_folder is not None else default_base_folder()
        self.max_total_bytes = max_total_bytes
        self.max_members = max_members

    def __repr__(self) -> str:
        return f"FilesystemResultStore({str(self.base_folder)!r})"

    def folder_for(self, pid: str) -> Path:
        """The folder that holds (or will hold) the job's extracted files."""
        return self.base_folder / validate_pid(pid)

    def _stored(self, server: str, pid: str) -> StoredResult:
        folder = self.folder_for(pid)
        result = folder / RESULTS_FILE
        return StoredResult(server, pid, folder, result if result.is_file() else None)

    def lookup(self, server: str, pid: str) -> StoredResult | None:
        stored = self._stored(server, pid)
        return stored if stored.result_file is not None else None

    def forget(self, server: str, pid: str) -> bool:
        folder = self.folder_for(pid)
        if folder.is_symlink() or not folder.is_dir():
            return False
        shutil.rmtree(folder, ignore_errors=True)
        return True

    def save(self, server: str, pid: str, stream: ResultStream) -> StoredResult:
        from qibo_client.results.archive import extract_stream

        folder = self.folder_for(pid)
        self.base_folder.mkdir(mode=0o700, parents=True, exist_ok=True)
        self._sweep_leftovers(pid)
        partial = Path(tempfile.mkdtemp(prefix=f".{pid}.partial-", dir=self.base_folder))
        try:
            extract_stream(
                stream,
                partial,
                max_total_bytes=self.max_total_bytes,
                max_members=self.max_members,
            )
            self._move_into_place(partial, folder)
        except BaseException:  # KeyboardInterrupt too: never leave a partial folder
            shutil.rmtree(partial, ignore_errors=True)
            raise
        return self._stored(server, pid)

    def _sweep_leftovers(self, pid: str) -> None:
        """Remove this job's temp folders that a killed process (not Ctrl-C) left long ago."""
        cutoff = time.time() - STALE_AFTER_SECONDS
        for pattern in (f".{pid}.partial-*", f".{pid}.old-*"):
            for leftover in self.base_folder.glob(pattern):
                with contextlib.suppress(OSError):
                    if (
                        leftover.is_dir()
                        and not leftover.is_symlink()
                        and leftover.lstat().st_mtime < cutoff
                    ):
                        shutil.rmtree(leftover, ignore_errors=True)

    def _move_into_place(self, partial: Path, folder: Path) -> None:
        """Rename ``partial`` to ``folder``; an old ``folder`` is set aside first, then deleted."""
        try:
            os.rename(partial, folder)
            return
        except OSError:
            if not os.path.lexists(folder):
                raise
        aside = folder.with_name(f".{folder.name}.old-{secrets.token_hex(8)}")
        os.rename(folder, aside)
        try:
            os.rename(partial, folder)
        except BaseException:
            if not os.path.lexists(folder):
                os.rename(aside, folder)
            raise
        if aside.is_dir() and not aside.is_symlink():
            shutil.rmtree(aside, ignore_errors=True)
        else:
            aside.unlink(missing_ok=True)

    def prepare(self) -> None:
        from qibo_client.results.loader import warm_up

        warm_up()

    def load(self, stored: StoredResult) -> Any:
        from qibo_client.results.loader import load_result_file

        path = stored.result_file
        if path is None or not path.is_file():
            raise FileNotFoundError(
                f"no stored result for job {stored.pid}: {stored.folder} holds no {RESULTS_FILE}"
            )
        return load_result_file(path)
