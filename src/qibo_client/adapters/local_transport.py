"""LocalServerTransport: the transport port served by an in-process Qibo server.

``local://`` runs circuits on qibo's simulators inside this process (small
ones in this very process, others in warm worker processes: see
:mod:`qibo_client.server.lane`), with no account and no network. ``local://`` keeps its
jobs in a temporary folder removed when the last client closes or the
interpreter exits; ``local:///some/folder`` (or ``local://~/folder``) keeps
them there across runs. One server runs per folder per process, shared by
every client that names it.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any, TypeVar
from urllib.parse import parse_qs, unquote, urlsplit

from qibo_client.domain.deadline import Deadline
from qibo_client.domain.records import (
    DiskQuota,
    DryRunReport,
    JobDeletion,
    JobInfo,
    JobSubmission,
    ProjectQuota,
    ServerVersion,
)
from qibo_client.exceptions import (
    ConfigurationError,
    DeadlineExceededError,
    JobPostServerError,
    QiboApiError,
)
from qibo_client.ports import ResultStream, Transport
from qibo_client.protocol import readers, wire
from qibo_client.protocol.writers import batch_body, pid_chunks, submission_body
from qibo_client.server import registry

T = TypeVar("T")

#: The token used when the caller gives none: the embedded server is the user's own.
DEFAULT_LOCAL_TOKEN = "local-user"


def _data_dir(url: str) -> tuple[Path | None, int]:
    """The folder a ``local://`` URL names (``None``: temporary) and its worker count."""
    parts = urlsplit(url.strip())
    if parts.netloc not in ("", "~"):
        raise ConfigurationError(
            f"{url!r}: a local:// URL names a folder, e.g. 'local://' (temporary), "
            "'local:///absolute/folder' or 'local://~/folder'"
        )
    workers = 1
    for value in parse_qs(parts.query).get("workers", []):
        if not value.isdigit() or int(value) < 1:
            raise ConfigurationError(f"{url!r}: workers must be a whole number >= 1")
        workers = int(value)
    path = unquote(parts.path)
    if parts.netloc == "~":
        return Path("~" + path).expanduser().resolve(), workers
    if path in ("", "/"):
        return None, workers
    return Path(path).expanduser().resolve(), workers


def _lane_wanted(url: str) -> bool:
    """Whether a ``local://`` URL lets small jobs run in this process (``?lane=off``: no)."""
    wanted = True
    for value in parse_qs(urlsplit(url.strip()).query).get("lane", []):
        if value.lower() not in ("on", "off", "1", "0", "true", "false"):
            raise ConfigurationError(f"{url!r}: lane must be on or off, got {value!r}")
        wanted = value.lower() in ("on", "1", "true")
    return wanted


class FileResultStream(ResultStream):
    """A result archive read from the server's disk in chunks."""

    def __init__(self, path: Path) -> None:
        self._file = path.open("rb")
        self.content_length = path.stat().st_size

    def iter_chunks(self, chunk_size: int = 1 << 20) -> Iterator[bytes]:
        while chunk := self._file.read(chunk_size):
            yield chunk

    def close(self) -> None:
        self._file.close()


class LocalServerTransport(Transport):
    """Calls an in-process :class:`~qibo_client.server.core.QiboServer` directly.

    Any token is accepted (an empty one means the default local user): the
    embedded server belongs to whoever runs it.
    """

    def __init__(self, url: str, token: str) -> None:
        self.base_url = url
        self._folder, workers = _data_dir(url)
        self._token = token or DEFAULT_LOCAL_TOKEN
        self._server = registry.acquire(
            self._folder, workers, self._token, lane=_lane_wanted(url)
        )
        self._closed = False
        self._lock = threading.Lock()

    def __repr__(self) -> str:
        return f"LocalServerTransport({self.base_url!r})"

    @property
    def extensions(self) -> frozenset[str]:
        from qibo_client.server.core import EXTENSIONS

        return frozenset(EXTENSIONS)

    @property
    def outcome_can_be_lost(self) -> bool:
        return False  # the server is called in this process: it answers or raises

    def _call(self, method: str, path: str, operation: str, *args: Any, **kwargs: Any) -> Any:
        from qibo_client.server.errors import JobRefused, ServerError

        if self._closed:
            raise QiboApiError(0, method, self._url(path), "this client was closed")
        try:
            return getattr(self._server, operation)(*args, **kwargs)
        except ServerError as error:
            raise QiboApiError(error.status, method, self._url(path), error.detail) from None
        except JobRefused as error:
            raise JobPostServerError(error.detail) from None

    def _url(self, path: str) -> str:
        base = self.base_url if self.base_url.endswith("/") else self.base_url + "/"
        return f"{base}api/{path}"

    def _in_time(self, deadline: float | None, method: str, path: str) -> Deadline:
        limit = Deadline(deadline)
        if limit.expired:
            raise DeadlineExceededError(
                status=0,
                method=method,
                url=self._url(path),
                message="the deadline passed before the local server was asked",
            )
        return limit

    def server_version(self, *, deadline: float | None = None) -> ServerVersion:
        self._in_time(deadline, "GET", wire.VERSION_PATH)
        return readers.read_server_version(self._call("GET", wire.VERSION_PATH, "version"))

    def submit_job(self, submission: JobSubmission, *, idempotency_key: str | None = None) -> str:
        body = submission_body(submission)
        answer = self._call(
            "POST",
            wire.JOBS_PATH,
            "submit",
            self._token,
            body,
            idempotency_key,
            in_process=True,
            circuit=submission.source,
        )
        return readers.read_submission_answer(answer)

    def get_job(
        self,
        pid: str,
        *,
        hold: float = 0.0,
        known_status: str | None = None,
        deadline: float | None = None,
    ) -> JobInfo:
        path = wire.job_path(readers.validate_pid(pid))
        limit = self._in_time(deadline, "GET", path)
        hold = limit.cap(hold)
        answer = self._call(
            "GET", path, "get_job", self._token, pid, wait=hold, known_status=known_status
        )
        return readers.read_job(answer, pid)

    @property
    def lists_by_pid(self) -> bool:
        return wire.JOB_LIST_PIDS in self.extensions

    def list_jobs(
        self, *, deadline: float | None = None, pids: Sequence[str] | None = None
    ) -> list[JobInfo]:
        self._in_time(deadline, "GET", wire.JOBS_PATH)
        if pids is None:
            answer = self._call("GET", wire.JOBS_PATH, "list_jobs", self._token)
            return readers.read_job_list(answer)
        found: list[JobInfo] = []
        for chunk in pid_chunks(list(dict.fromkeys(pids))):
            answer = self._call("GET", wire.JOBS_PATH, "list_jobs", self._token, pids=chunk)
            found += readers.read_job_list(answer)
        return found

    def submit_jobs(
        self, submissions: Sequence[JobSubmission], *, idempotency_key: str | None = None
    ) -> list[str] | None:
        if wire.BATCH not in self.extensions or not 0 < len(submissions) <= wire.MAX_BATCH_JOBS:
            return None
        bodies = batch_body(submissions)[wire.BATCH_JOBS_FIELD]
        answer = self._call(
            "POST", wire.BATCH_PATH, "submit_many", self._token, bodies, idempotency_key
        )
        return readers.read_batch_answer(answer, len(submissions))

    def fetch_result(
        self, pid: str, receive: Callable[[ResultStream], T], *, deadline: float | None = None
    ) -> T:
        path = wire.download_path(readers.validate_pid(pid))
        self._in_time(deadline, "GET", path)
        archive = self._call("GET", path, "result_archive", self._token, pid)
        with FileResultStream(archive) as stream:
            return receive(stream)

    def held_result(self, pid: str) -> Any | None:
        path = wire.job_path(readers.validate_pid(pid))
        return self._call("GET", path, "held_result", self._token, pid)

    def delete_job(self, pid: str) -> JobDeletion:
        path = wire.job_path(readers.validate_pid(pid))
        return readers.read_deletion(pid, self._call("DELETE", path, "delete_job", self._token, pid))

    def dry_run(self, submission: JobSubmission) -> DryRunReport | None:
        if wire.DRY_RUN not in self.extensions:
            return None
        answer = self._call(
            "POST", wire.DRY_RUN_PATH, "dry_run", self._token, submission_body(submission)
        )
        return readers.read_dry_run(answer, submission.device)

    def cancel_job(self, pid: str) -> bool:
        if wire.CANCEL not in self.extensions:
            return False
        path = wire.cancel_path(readers.validate_pid(pid))
        self._call("POST", path, "cancel_job", self._token, pid)
        return True

    def delete_all_jobs(self) -> list[str]:
        answer = self._call("DELETE", wire.BULK_DELETE_PATH, "bulk_delete", self._token)
        return readers.read_deleted(answer)

    def disk_quota(self) -> DiskQuota:
        answer = self._call("GET", wire.DISK_QUOTA_PATH, "disk_quota", self._token)
        return readers.read_disk_quota(answer)

    def project_quotas(self) -> list[ProjectQuota]:
        answer = self._call("GET", wire.PROJECT_QUOTAS_PATH, "project_quotas", self._token)
        return readers.read_project_quotas(answer)

    def close(self) -> None:
        """Let go of the server; the last client to close stops its workers."""
        with self._lock:
            if self._closed:
                return
            self._closed = True
        registry.release(self._folder)
