"""How a job's end is written: its archive, its row, its user's time, also on a full disk.

When the disk is full the end is still recorded, as cleanly as space allows:
first in full; else, with the archive removed to make room, as ``error``
saying the disk is full; else in memory only, where the job's answers read
it (:meth:`Recorder.unrecorded`) until a later attempt writes it. A job is
never left looking ``running``; after a restart, a job whose end never
reached the disk is queued again.
"""

from __future__ import annotations

import contextlib
import json
import logging
import shutil
import threading
from pathlib import Path
from typing import Any

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


class Recorder:
    """Writes jobs' ends into the store and the results folder."""

    def __init__(self, store: StateStore, results_dir: Path) -> None:
        self.store = store
        self.results_dir = results_dir
        self._lock = threading.Lock()
        self._unrecorded: dict[str, dict[str, Any]] = {}

    def archive_path(self, pid: str) -> Path:
        return self.results_dir / f"{pid}.tar.gz"

    def unrecorded(self, pid: str) -> dict[str, Any] | None:
        """The fields of an end kept in memory only (a full disk), else ``None``."""
        with self._lock:
            return self._unrecorded.get(pid)

    def forget(self, pid: str) -> None:
        with self._lock:
            self._unrecorded.pop(pid, None)

    def flush(self) -> None:
        """Try again to write the ends kept in memory."""
        with self._lock:
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
        """Pack the archive, record the final status, charge the time, clean up.

        Returns the status recorded, or ``None`` when the job was deleted meanwhile.
        """
        archive = self.archive_path(pid)
        results = (workdir or self.results_dir / "none") / RESULTS_FILE
        ok = bool(outcome.get("ok")) and results.is_file()
        stdout = outcome.get("stdout") or ""
        stderr = outcome.get("stderr") or ""
        if outcome.get("ok") and not ok:
            stderr += f"\nthe job finished but wrote no {RESULTS_FILE}"
        try:
            if ok:
                size = write_archive(archive, {RESULTS_FILE: results})
            else:
                logs = {"stdout.log": stdout.encode(), "stderr.log": stderr.encode()}
                size = write_archive(archive, logs)
        except OSError as error:
            ok, size = False, 0
            stderr += f"\nthe server could not write the result archive: {error}"
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
            "result_path": str(archive) if size else None,
            "cancelled": int(cancelled),
        }
        save_transpiled(self.results_dir, pid, outcome.get("transpiled_circuit"))
        try:
            recorded = self._record(pid, fields, runtime)
        except Exception as error:
            if not is_disk_full(error):
                raise
            recorded, status = self._record_short(pid, archive, cancelled), ERROR
        finally:
            if workdir is not None:
                shutil.rmtree(workdir, ignore_errors=True)
        if not recorded:  # deleted while it ran
            with contextlib.suppress(OSError):
                archive.unlink()
            forget_transpiled(self.results_dir, pid)
            return None
        return status

    def _record(self, pid: str, fields: dict[str, Any], runtime: float | None) -> bool:
        row = self.store.job(pid)
        columns = ", ".join(f"{name} = ?" for name in fields)
        with self.store.transaction() as db:
            cursor = db.execute(f"UPDATE jobs SET {columns} WHERE pid = ?", (*fields.values(), pid))
            if row is not None and runtime:
                StateStore.charge(db, row["user_id"], row["device"], seconds=float(runtime))
        return cursor.rowcount > 0

    def _record_short(self, pid: str, archive: Path, cancelled: bool) -> bool:
        """The end as ``error`` on a full disk: written small, else kept in memory."""
        log.warning("job %s: the disk is full; its end is recorded without its result", pid)
        with contextlib.suppress(OSError):
            archive.unlink()  # its space may let the row be written
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
