"""How a job's end is written: its result file, its row, its user's time, also on a full disk.

A job's end keeps the worker's result file as it is (moved into the results
folder, no archive) and writes one row update; the ``.tar.gz`` a download
answers is built the first time somebody asks for it
(:meth:`Recorder.archive`), since most results are read from the job's
inline counts and never downloaded.

When the disk is full the end is still recorded, as cleanly as space allows:
first in full; else, with the result file removed to make room, as ``error``
saying the disk is full; else in memory only, where the job's answers read
it (:meth:`Recorder.unrecorded`) until a later attempt writes it. A job is
never left looking ``running``; after a restart, a job whose end never
reached the disk is queued again.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import threading
import zlib
from pathlib import Path
from typing import Any, Protocol

from qibo_client.protocol.wire import ERROR, RESULTS_FILE, SUCCESS
from qibo_client.server.archives import write_archive
from qibo_client.server.devices import forget_transpiled, save_transpiled
from qibo_client.server.storage import is_disk_full
from qibo_client.server.store import StateStore, now_iso

log = logging.getLogger("qibo_client.server")

#: A job's ``stderr`` when its end could not be written in full.
DISK_FULL_JOB = (
    "the server's disk filled up while this job ended, so its result could not be kept; "
    "run it again once the server's operator has freed space"
)
#: Locks that serialise building (and removing) one job's archive; a pid picks one by hash.
_BUILD_LOCKS = 64


class ResultHolder(Protocol):
    """What holds results in memory (the in-process lane): writes one out when asked."""

    def write_result(self, pid: str, path: Path) -> bool: ...


class Recorder:
    """Writes jobs' ends into the store and the results folder, and builds their archives."""

    def __init__(self, store: StateStore, results_dir: Path) -> None:
        self.store = store
        self.results_dir = results_dir
        self._lock = threading.Lock()
        self._unrecorded: dict[str, dict[str, Any]] = {}
        self._build_locks = [threading.Lock() for _ in range(_BUILD_LOCKS)]

    def archive_path(self, pid: str) -> Path:
        return self.results_dir / f"{_plain(pid)}.tar.gz"

    def result_path(self, pid: str) -> Path:
        """Where a successful job's result file is kept until its archive is built."""
        return self.results_dir / f"{_plain(pid)}.npy"

    def unrecorded(self, pid: str) -> dict[str, Any] | None:
        """The fields of an end kept in memory only (a full disk), else ``None``."""
        with self._lock:
            return self._unrecorded.get(pid)

    def forget(self, pid: str) -> None:
        with self._lock:
            self._unrecorded.pop(pid, None)

    def discard(self, pid: str) -> None:
        """Remove every file kept for ``pid`` (it was deleted), after any archive being built."""
        with self._build_lock(pid):
            for path in (self.archive_path(pid), self.result_path(pid)):
                with contextlib.suppress(OSError):
                    path.unlink()

    def flush(self) -> None:
        """Try again to write the ends kept in memory."""
        with self._lock:
            if not self._unrecorded:
                return
            waiting = dict(self._unrecorded)
        for pid, fields in waiting.items():
            try:
                self.store.update_job(pid, **fields)
            except Exception as error:
                if not is_disk_full(error):
                    raise
                return
            self.forget(pid)

    def finish(
        self,
        pid: str,
        outcome: dict[str, Any],
        qibo_version: str | None,
        workdir: Path | None,
        *,
        cancelled: bool = False,
    ) -> str | None:
        """Keep the result file (moved, not copied), then record the final status and
        charge the time in one transaction.

        Returns the status recorded, or ``None`` when the job was deleted meanwhile.
        """
        kept = self.result_path(pid)
        ok = bool(outcome.get("ok"))
        stdout = outcome.get("stdout") or ""
        stderr = outcome.get("stderr") or ""
        size = 0
        if ok:
            try:
                if workdir is None:
                    raise FileNotFoundError(RESULTS_FILE)
                os.replace(workdir / RESULTS_FILE, kept)
                size = kept.stat().st_size
            except FileNotFoundError:
                ok = False
                stderr += f"\nthe job finished but wrote no {RESULTS_FILE}"
            except OSError as error:
                ok = False
                stderr += f"\nthe server could not keep the job's result: {error}"
        runtime = outcome.get("runtime")
        frequencies = outcome.get("frequencies") if ok else None
        status = SUCCESS if ok else ERROR
        fields = {
            "status": status,
            "updated_at": now_iso(),
            "runtime": runtime,
            "stdout": stdout,
            "stderr": stderr if ok else (stderr or outcome.get("error") or ""),
            "frequencies": None if frequencies is None else json.dumps(frequencies),
            "qibo_version": qibo_version,
            "archive_size": size,
            "result_path": str(self.archive_path(pid)),
            "cancelled": int(cancelled),
        }
        save_transpiled(self.results_dir, pid, outcome.get("transpiled_circuit"))
        try:
            recorded = self.record(pid, fields, runtime)
        except Exception as error:
            if not is_disk_full(error):
                raise
            recorded, status = self._record_short(pid, kept, cancelled), ERROR
        if not recorded:  # deleted while it ran
            self.discard(pid)
            forget_transpiled(self.results_dir, pid)
            return None
        return status

    def record(self, pid: str, fields: dict[str, Any], runtime: float | None) -> bool:
        """Write a job's end and charge its ``runtime``, in one transaction; False if it
        is gone (deleted meanwhile)."""
        columns = ", ".join(f"{name} = ?" for name in fields)
        with self.store.transaction() as db:
            cursor = db.execute(f"UPDATE jobs SET {columns} WHERE pid = ?", (*fields.values(), pid))
            if cursor.rowcount > 0 and runtime:
                sql = "SELECT user_id, device FROM jobs WHERE pid = ?"
                user_id, device = db.execute(sql, (pid,)).fetchone()
                StateStore.charge(db, user_id, device, seconds=float(runtime))
        return cursor.rowcount > 0

    def _record_short(self, pid: str, kept: Path, cancelled: bool) -> bool:
        """The end as ``error`` on a full disk: written small, else kept in memory."""
        log.warning("job %s: the disk is full; its end is recorded without its result", pid)
        with contextlib.suppress(OSError):
            kept.unlink()  # its space may let the row be written
        fields = {
            "status": ERROR,
            "updated_at": now_iso(),
            "stdout": "",
            "stderr": DISK_FULL_JOB,
            "frequencies": None,
            "archive_size": 0,
            "result_path": None,
            "cancelled": int(cancelled),
        }
        try:
            return self.store.update_job(pid, **fields)
        except Exception as error:
            if not is_disk_full(error):
                raise
        if self.store.job(pid) is None:
            return False
        with self._lock:
            self._unrecorded[pid] = fields
        return True

    # -- archives, on the first download -------------------------------------------------

    def archive(self, pid: str, holder: ResultHolder | None = None) -> Path:
        """The ended job's ``.tar.gz``, built now if this is its first download.

        A success's archive holds its result file (asked of ``holder`` when no file is
        kept), an error's its logs from the row. The archive is kept, and the result
        file it was built from removed. Concurrent first downloads build it once.
        Raises ``FileNotFoundError`` when the job or its result is gone, and
        ``OSError`` when the archive cannot be written (a full disk among others).
        """
        archive = self.archive_path(pid)
        with self._build_lock(pid):
            if archive.is_file():
                return archive
            row = self.store.job(pid)
            if row is None:
                raise FileNotFoundError(f"job {pid} is gone")
            if row["status"] == SUCCESS:
                kept = self.result_path(pid)
                if not kept.is_file() and holder is not None:
                    holder.write_result(pid, kept)
                size = write_archive(archive, {RESULTS_FILE: kept})
                with contextlib.suppress(OSError):
                    kept.unlink()
            else:
                logs = {
                    "stdout.log": (row["stdout"] or "").encode(),
                    "stderr.log": (row["stderr"] or "").encode(),
                }
                size = write_archive(archive, logs)
            try:  # what is kept now, for the disk quota; the job's times stay as they were
                self.store.update_job(pid, archive_size=size, updated_at=row["updated_at"])
            except Exception as error:
                if not is_disk_full(error):
                    raise
        return archive

    def _build_lock(self, pid: str) -> threading.Lock:
        return self._build_locks[zlib.crc32(pid.encode()) % _BUILD_LOCKS]


def _plain(pid: str) -> str:
    """``pid`` as a file name: the server makes pids, but a path is never built from an
    arbitrary string."""
    if not pid or "/" in pid or "\\" in pid or pid.startswith(".") or "\0" in pid:
        raise ValueError(f"not a job id: {pid!r}")
    return pid
