"""Hand-written fakes of every port that keep plain state to assert on.

``ScriptedTransport`` answers from a script of statuses, ``MemoryResultStore``
keeps archives in memory, ``RecordingRenderer`` writes down what a person
would have seen. Hand them to ``Client(..., transport=, result_store=,
renderer=)`` as you would any adapter.
"""

from __future__ import annotations

import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

from qibo_client.domain.records import (
    DiskQuota,
    JobDeletion,
    JobInfo,
    JobSubmission,
    ProjectQuota,
    ServerVersion,
    StoredResult,
)
from qibo_client.exceptions import TransientError
from qibo_client.ports import (
    BatchSnapshot,
    BatchView,
    JobSnapshot,
    ProgressView,
    Renderer,
    ResultStore,
    Transport,
)
from qibo_client.ports.result_store import CachedResult
from qibo_client.ports.transport import ResultStream
from qibo_client.protocol import readers
from qibo_client.protocol.wire import LONG_POLL, RESULTS_FILE
from qibo_client.testing.answers import job_answer, tar_gz
from qibo_client.testing.streams import BytesStream

T = TypeVar("T")


class ScriptedTransport(Transport):
    """A transport whose job statuses follow ``statuses``, one step per ``get_job``.

    The last status repeats. ``failures`` holds errors raised by the next
    ``get_job`` calls before answering, ``download_failures`` the same for
    ``fetch_result``. Every call lands in :attr:`calls` as ``(name, argument)``:
    the ``hold`` for ``get_job``, the pid for ``fetch_result`` and
    ``delete_job``, the idempotency key for ``submit_job``.
    """

    def __init__(
        self,
        statuses: Sequence[str] | None = None,
        *,
        long_poll: bool = False,
        base_url: str = "fake://server",
    ) -> None:
        self.base_url = base_url
        self.statuses = list(statuses or ["queueing", "running", "success"])
        self.long_poll = long_poll
        self.calls: list[tuple[str, Any]] = []
        self.failures: list[BaseException] = []
        self.download_failures: list[BaseException] = []
        self.archive = tar_gz({RESULTS_FILE: b"result-bytes"})
        self.submitted: list[tuple[JobSubmission, str | None]] = []
        self.jobs: list[JobInfo] = []
        self.version = ServerVersion("0.3.2", "0.2.8")
        self.closed = False

    @property
    def extensions(self) -> frozenset[str]:
        return frozenset({LONG_POLL}) if self.long_poll else frozenset()

    def count(self, name: str) -> int:
        """How many times operation ``name`` was called."""
        return sum(1 for call, _ in self.calls if call == name)

    def server_version(self, *, deadline: float | None = None) -> ServerVersion:
        self.calls.append(("server_version", None))
        return self.version

    def submit_job(self, submission: JobSubmission, *, idempotency_key: str | None = None) -> str:
        self.calls.append(("submit_job", idempotency_key))
        self.submitted.append((submission, idempotency_key))
        return f"job-{len(self.submitted)}"

    def get_job(
        self,
        pid: str,
        *,
        hold: float = 0.0,
        known_status: str | None = None,
        deadline: float | None = None,
    ) -> JobInfo:
        self.calls.append(("get_job", hold))
        if self.failures:
            raise self.failures.pop(0)
        status = self.statuses.pop(0) if len(self.statuses) > 1 else self.statuses[0]
        return readers.read_job(job_answer(pid, status, queue_position=1, etd_seconds=3.0))

    def list_jobs(
        self, *, deadline: float | None = None, pids: Sequence[str] | None = None
    ) -> list[JobInfo]:
        """Answers :attr:`jobs` (empty unless a test fills it), only those of ``pids`` if given."""
        self.calls.append(("list_jobs", None))
        return [job for job in self.jobs if pids is None or job.pid in pids]

    def fetch_result(
        self, pid: str, receive: Callable[[ResultStream], T], *, deadline: float | None = None
    ) -> T:
        self.calls.append(("fetch_result", pid))
        if self.download_failures:
            raise self.download_failures.pop(0)
        with BytesStream(self.archive) as stream:
            return receive(stream)

    def delete_job(self, pid: str) -> JobDeletion:
        self.calls.append(("delete_job", pid))
        return JobDeletion(pid, f"job {pid} deleted")

    def delete_all_jobs(self) -> list[str]:
        self.calls.append(("delete_all_jobs", None))
        return []

    def disk_quota(self) -> DiskQuota:
        self.calls.append(("disk_quota", None))
        return DiskQuota("user@example.org", 10.0, 20.0)

    def project_quotas(self) -> list[ProjectQuota]:
        self.calls.append(("project_quotas", None))
        return []

    def close(self) -> None:
        self.closed = True


def transient(status: int = 503, message: str = "busy") -> TransientError:
    """The error a transport raises once its retries are spent (for ``failures`` lists)."""
    return TransientError(
        status=status, method="GET", url="fake://server/api/jobs/x/", message=message
    )


def load_qibo_result(data: bytes) -> Any:
    """qibo's result object from ``results.npy`` bytes, read by the package's safe loader."""
    from qibo_client.results.loader import load_result_file

    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / RESULTS_FILE
        path.write_bytes(data)
        return load_result_file(path)


class MemoryResultStore(ResultStore):
    """Keeps each job's archive members in :attr:`files`, keyed by ``(server, pid)``.

    Archives are checked exactly as the filesystem store checks them (the same
    safe extraction, through a temporary folder that is removed at once).
    ``load`` gives qibo's result object, or ``loader(bytes)`` when given
    (``loader=bytes`` hands back the raw ``results.npy``). Stored results name
    the nominal folder ``root / pid``; nothing is written there. :attr:`last_used`
    holds when each was saved or loaded (set it to age one).
    """

    def __init__(
        self,
        root: Path | str | None = None,
        *,
        loader: Callable[[bytes], Any] | None = None,
        max_total_bytes: int = 1 << 30,
        max_members: int = 64,
    ) -> None:
        self.root = Path(root) if root is not None else Path("<memory>")
        self.loader = loader or load_qibo_result
        self.max_total_bytes = max_total_bytes
        self.max_members = max_members
        self.files: dict[tuple[str, str], dict[str, bytes]] = {}
        self.last_used: dict[tuple[str, str], float] = {}
        self.prepared = 0
        #: The unpacked-size bound of the latest :meth:`save` (its ``max_bytes``, capped).
        self.last_limit: int | None = None

    def __repr__(self) -> str:
        return f"MemoryResultStore({len(self.files)} results)"

    def _stored(self, server: str, pid: str) -> StoredResult:
        folder = self.root / pid
        has_result = RESULTS_FILE in self.files[(server, pid)]
        return StoredResult(server, pid, folder, folder / RESULTS_FILE if has_result else None)

    def lookup(self, server: str, pid: str) -> StoredResult | None:
        return self._stored(server, pid) if (server, pid) in self.files else None

    def save(
        self, server: str, pid: str, stream: ResultStream, *, max_bytes: int | None = None
    ) -> StoredResult:
        from qibo_client.results.archive import extract_stream

        limit = self.max_total_bytes if max_bytes is None else min(max_bytes, self.max_total_bytes)
        self.last_limit = limit
        with tempfile.TemporaryDirectory() as folder:
            names = extract_stream(
                stream, Path(folder), max_total_bytes=limit, max_members=self.max_members
            )
            members = {name: Path(folder, name).read_bytes() for name in names}
        self.files[(server, pid)] = members
        self.last_used[(server, pid)] = time.time()
        return self._stored(server, pid)

    def load(self, stored: StoredResult) -> Any:
        members = self.files.get((stored.server, stored.pid), {})
        if RESULTS_FILE not in members:
            raise FileNotFoundError(f"no stored result for job {stored.pid}")
        self.last_used[(stored.server, stored.pid)] = time.time()
        return self.loader(members[RESULTS_FILE])

    def forget(self, server: str, pid: str) -> bool:
        self.last_used.pop((server, pid), None)
        return self.files.pop((server, pid), None) is not None

    def cached(self) -> list[CachedResult]:
        return [
            CachedResult(
                server,
                pid,
                sum(map(len, members.values())),
                self.last_used.get((server, pid), 0.0),
                self.root / pid,
            )
            for (server, pid), members in self.files.items()
        ]

    def prepare(self) -> None:
        self.prepared += 1


class RecordingView(ProgressView):
    """A progress display that reports to its :class:`RecordingRenderer`."""

    def __init__(self, owner: RecordingRenderer) -> None:
        self.owner = owner

    def update(self, snapshot: JobSnapshot) -> None:
        self.owner.snapshots.append(snapshot)

    def finish(self, snapshot: JobSnapshot, *, results_folder: str | None = None) -> None:
        self.owner.finished.append(snapshot)
        self.owner.finished_folders.append(results_folder)


class RecordingBatchView(BatchView):
    """A batch display that appends every snapshot to its list, the closing one last."""

    def __init__(self, shown: list[BatchSnapshot]) -> None:
        self.shown = shown
        self.finished = False

    def update(self, snapshot: BatchSnapshot) -> None:
        self.shown.append(snapshot)

    def finish(self, snapshot: BatchSnapshot) -> None:
        self.shown.append(snapshot)
        self.finished = True


@dataclass
class RecordingRenderer(Renderer):
    """Shows nothing; records every call so a test can assert on what a person would see."""

    snapshots: list[JobSnapshot] = field(default_factory=list)
    finished: list[JobSnapshot] = field(default_factory=list)
    finished_folders: list[str | None] = field(default_factory=list)
    messages: list[tuple[str, str]] = field(default_factory=list)
    errors: list[BaseException] = field(default_factory=list)
    quotas: list[tuple[DiskQuota, list[ProjectQuota]]] = field(default_factory=list)
    job_tables: list[tuple[str, list[JobInfo]]] = field(default_factory=list)
    #: One list per batch display: every snapshot it was shown, the last one when it closed.
    batches: list[list[BatchSnapshot]] = field(default_factory=list)

    def start_batch(self, snapshot: BatchSnapshot) -> BatchView:
        shown = [snapshot]
        self.batches.append(shown)
        return RecordingBatchView(shown)

    def start_progress(self, snapshot: JobSnapshot) -> ProgressView:
        self.snapshots.append(snapshot)
        return RecordingView(self)

    def show_quota(self, disk: DiskQuota, projects: Sequence[ProjectQuota]) -> None:
        self.quotas.append((disk, list(projects)))

    def show_jobs(self, user: str, jobs: Sequence[JobInfo]) -> None:
        self.job_tables.append((user, list(jobs)))

    def show_error(self, error: BaseException) -> None:
        self.errors.append(error)

    def show_message(self, text: str, *, level: str = "info") -> None:
        self.messages.append((level, text))
