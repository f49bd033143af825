"""JsonLinesRenderer: every client event as one JSON object on its own line.

Each line has ``ts`` (UTC, ISO 8601) and ``event``, one of ``progress``,
``status``, ``finish``, ``quota``, ``jobs``, ``error`` or ``message``, plus the
event's own fields. Lines are flushed as they are written, so a pipeline or a
CI log sees them at once.
"""

from __future__ import annotations

import json
import sys
import threading
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import IO, Any

from qibo_client.domain.records import DiskQuota, JobInfo, ProjectQuota
from qibo_client.ports import JobSnapshot, ProgressView, Renderer

#: Environment variable naming a file to append the lines to instead of stdout.
FILE_ENV = "QIBO_CLIENT_JSONL_FILE"


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def snapshot_fields(snapshot: JobSnapshot) -> dict[str, Any]:
    """A job snapshot as plain JSON fields."""
    return {
        "pid": snapshot.pid,
        "status": snapshot.status.name.lower() if snapshot.status else None,
        "status_text": snapshot.status_text,
        "base_url": snapshot.base_url,
        "device": snapshot.device,
        "project": snapshot.project,
        "queue_position": snapshot.queue_position,
        "seconds_to_job_start": snapshot.seconds_to_job_start,
        "elapsed_seconds": round(snapshot.elapsed_seconds, 3),
    }


def _quota_fields(project: ProjectQuota) -> dict[str, Any]:
    partition = project.partition
    return {
        "project": project.project,
        "device": partition.name,
        "hardware_type": partition.hardware_type,
        "max_num_qubits": partition.max_num_qubits,
        "status": partition.status,
        "seconds_left": project.seconds_left,
        "shots_left": project.shots_left,
        "jobs_left": project.jobs_left,
    }


def _job_fields(job: JobInfo) -> dict[str, Any]:
    return {
        "pid": job.pid,
        "status": job.status,
        "device": job.device,
        "project": job.project,
        "nshots": job.nshots,
        "created_at": job.created_at,
        "updated_at": job.updated_at,
        "runtime": job.runtime,
    }


class JsonLinesView(ProgressView):
    """One job's progress: a ``status`` line per status change, ``progress`` for queue moves."""

    def __init__(self, renderer: JsonLinesRenderer, snapshot: JobSnapshot) -> None:
        self._renderer = renderer
        self._last = snapshot
        renderer.emit("progress", **snapshot_fields(snapshot))

    def update(self, snapshot: JobSnapshot) -> None:
        previous, self._last = self._last, snapshot
        if snapshot.status_text != previous.status_text:
            self._renderer.emit(
                "status", previous=previous.status_text, **snapshot_fields(snapshot)
            )
        elif (snapshot.queue_position, snapshot.seconds_to_job_start) != (
            previous.queue_position,
            previous.seconds_to_job_start,
        ):
            self._renderer.emit("progress", **snapshot_fields(snapshot))

    def finish(self, snapshot: JobSnapshot, *, results_folder: str | None = None) -> None:
        self._renderer.emit("finish", results_folder=results_folder, **snapshot_fields(snapshot))


class JsonLinesRenderer(Renderer):
    """Writes the client's output as JSON lines to ``stream``, ``path`` or stdout.

    With neither, it writes to whatever ``sys.stdout`` is at the moment of
    writing (so redirections and captures apply). A line that cannot be
    written is dropped: a display problem never fails a job.
    """

    def __init__(self, stream: IO[str] | None = None, *, path: str | Path | None = None) -> None:
        self._stream = stream
        self._path = Path(path) if path is not None else None
        self._lock = threading.Lock()

    def emit(self, event: str, **fields: Any) -> None:
        """Write one line: ``{"ts": ..., "event": event, **fields}``."""
        line = json.dumps({"ts": _now(), "event": event, **fields}, default=str)
        with self._lock:
            try:
                if self._path is not None:
                    with self._path.open("a", encoding="utf-8") as file:
                        file.write(line + "\n")
                    return
                stream = self._stream or sys.stdout
                stream.write(line + "\n")
                stream.flush()
            except (OSError, ValueError):
                pass

    def start_progress(self, snapshot: JobSnapshot) -> ProgressView:
        return JsonLinesView(self, snapshot)

    def show_quota(self, disk: DiskQuota, projects: Sequence[ProjectQuota]) -> None:
        self.emit(
            "quota",
            user=disk.email,
            kbs_left=disk.kbs_left,
            kbs_max=disk.kbs_max,
            projects=[_quota_fields(project) for project in projects],
        )

    def show_jobs(self, user: str, jobs: Sequence[JobInfo]) -> None:
        self.emit("jobs", user=user, jobs=[_job_fields(job) for job in jobs])

    def show_error(self, error: BaseException) -> None:
        fields: dict[str, Any] = {"type": type(error).__name__, "message": str(error)}
        status = getattr(error, "status", None)
        if isinstance(status, int):
            fields["status"] = status
        self.emit("error", **fields)

    def show_message(self, text: str, *, level: str = "info") -> None:
        self.emit("message", level=level, text=text)
