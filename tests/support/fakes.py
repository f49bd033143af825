"""Hand-written fakes that subclass our ports and keep plain state to assert on."""

from __future__ import annotations

import io
import tarfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from qibo_client.adapters.local_transport import LocalResponse
from qibo_client.domain.records import (
    DiskQuota,
    JobInfo,
    JobSubmission,
    ProjectQuota,
    ServerVersion,
)
from qibo_client.exceptions import QiboApiError
from qibo_client.ports import (
    RESULTS_FILE,
    JobSnapshot,
    ProgressView,
    Renderer,
    ResultStore,
    ResultStream,
    Transport,
)


class BytesStream(ResultStream):
    def __init__(self, data: bytes) -> None:
        self.data = data
        self.content_length = len(data)
        self.closed = False

    def iter_chunks(self, chunk_size: int = 1 << 20) -> Iterator[bytes]:
        for start in range(0, len(self.data), chunk_size):
            yield self.data[start : start + chunk_size]

    def close(self) -> None:
        self.closed = True


def tar_gz(files: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as archive:
        for name, content in files.items():
            info = tarfile.TarInfo(name)
            info.size = len(content)
            archive.addfile(info, io.BytesIO(content))
    return buffer.getvalue()


def job_wire(pid: str, status: str, **extra: Any) -> dict[str, Any]:
    """A protocol job object."""
    return {
        "pid": pid,
        "status": status,
        "user": {"email": extra.pop("email", "me@lab")},
        "projectquota": {"project": "personal", "partition": {"name": "numpy"}},
        "circuit": {},
        "created_at": "2026-11-23T10:00:00Z",
        "updated_at": "2026-11-23T10:00:01Z",
        "result_path": None,
        **extra,
    }


class ScriptedTransport(Transport):
    """A transport whose job statuses follow a script, one step per ``get_job`` call.

    ``failures`` holds errors to raise on the next calls before answering.
    """

    def __init__(self, statuses: list[str] | None = None, *, long_poll: bool = False) -> None:
        self.base_url = "fake://server"
        self.statuses = list(statuses or ["queueing", "running", "success"])
        self.long_poll = long_poll
        self.calls: list[tuple[str, Any]] = []
        self.failures: list[BaseException] = []
        self.archive = tar_gz({RESULTS_FILE: b"result-bytes"})
        self.submitted: list[tuple[JobSubmission, str | None]] = []
        self.version = ServerVersion("0.3.2", "0.2.8")

    @property
    def supports_long_poll(self) -> bool:
        return self.long_poll

    def server_version(self) -> ServerVersion:
        self.calls.append(("server_version", None))
        return self.version

    def submit_job(self, submission: JobSubmission, *, idempotency_key: str | None = None) -> str:
        self.calls.append(("submit_job", idempotency_key))
        self.submitted.append((submission, idempotency_key))
        return f"job-{len(self.submitted)}"

    def get_job(self, pid: str, *, wait: float = 0.0, known_status: str | None = None) -> JobInfo:
        self.calls.append(("get_job", wait))
        if self.failures:
            raise self.failures.pop(0)
        status = self.statuses.pop(0) if len(self.statuses) > 1 else self.statuses[0]
        return JobInfo.from_wire(job_wire(pid, status, queue_position=1, etd_seconds=3.0))

    def list_jobs(self) -> list[JobInfo]:
        self.calls.append(("list_jobs", None))
        return []

    def open_result(self, pid: str) -> ResultStream:
        self.calls.append(("open_result", pid))
        return BytesStream(self.archive)

    def delete_job(self, pid: str) -> LocalResponse:
        self.calls.append(("delete_job", pid))
        return LocalResponse(204)

    def delete_all_jobs(self) -> list[str]:
        return []

    def disk_quota(self) -> DiskQuota:
        return DiskQuota("me@lab", 10.0, 20.0)

    def project_quotas(self) -> list[ProjectQuota]:
        return []

    def count(self, name: str) -> int:
        return sum(1 for call, _ in self.calls if call == name)


class DictResultStore(ResultStore):
    """Keeps extracted archive members in memory; ``load`` returns the raw bytes."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.files: dict[str, dict[str, bytes]] = {}

    def folder_for(self, pid: str) -> Path:
        return self.root / pid

    def has_result(self, pid: str) -> bool:
        return RESULTS_FILE in self.files.get(pid, {})

    def save_archive(self, pid: str, stream: ResultStream) -> Path:
        data = b"".join(stream.iter_chunks())
        with tarfile.open(fileobj=io.BytesIO(data), mode="r:gz") as archive:
            self.files[pid] = {
                member.name: archive.extractfile(member).read()  # type: ignore[union-attr]
                for member in archive.getmembers()
            }
        return self.folder_for(pid)

    def load(self, pid: str) -> Any:
        return self.files[pid][RESULTS_FILE]


class RecordingView(ProgressView):
    def __init__(self, owner: RecordingRenderer) -> None:
        self.owner = owner

    def update(self, snapshot: JobSnapshot) -> None:
        self.owner.snapshots.append(snapshot)

    def finish(self, snapshot: JobSnapshot, *, results_folder: str | None = None) -> None:
        self.owner.finished.append(snapshot)
        self.owner.finished_folders.append(results_folder)


@dataclass
class RecordingRenderer(Renderer):
    """Records every call so tests can assert on what a person would have seen."""

    snapshots: list[JobSnapshot] = field(default_factory=list)
    finished: list[JobSnapshot] = field(default_factory=list)
    finished_folders: list[str | None] = field(default_factory=list)
    messages: list[tuple[str, str]] = field(default_factory=list)
    errors: list[BaseException] = field(default_factory=list)
    quotas: list[tuple[DiskQuota, list[ProjectQuota]]] = field(default_factory=list)
    job_tables: list[tuple[str, list[JobInfo]]] = field(default_factory=list)

    def start_progress(self, snapshot: JobSnapshot) -> ProgressView:
        self.snapshots.append(snapshot)
        return RecordingView(self)

    def show_quota(self, disk: DiskQuota, projects: Any) -> None:
        self.quotas.append((disk, list(projects)))

    def show_jobs(self, user: str, jobs: Any) -> None:
        self.job_tables.append((user, list(jobs)))

    def show_error(self, error: BaseException) -> None:
        self.errors.append(error)

    def show_message(self, text: str, *, level: str = "info") -> None:
        self.messages.append((level, text))


def transient(status: int = 503) -> QiboApiError:
    return QiboApiError(
        status=status, method="GET", url="fake://server/api/jobs/x/", message="busy"
    )
