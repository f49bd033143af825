"""MockTransport: a transport that asks a function of yours what the server says.

Like httpx's ``MockTransport``, it sends nothing anywhere: every operation
becomes a :class:`MockRequest` handed to your handler, and the handler's answer
is read the way a real transport reads a server's, through
:mod:`qibo_client.protocol.readers`, so the same leniency and strictness apply.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, TypeVar

from qibo_client.domain.records import (
    DiskQuota,
    JobDeletion,
    JobInfo,
    JobSubmission,
    ProjectQuota,
    ServerVersion,
)
from qibo_client.exceptions import (
    DeadlineExceededError,
    JobPostServerError,
    QiboApiError,
    TransientError,
)
from qibo_client.ports.transport import ResultStream, Transport
from qibo_client.protocol import readers, wire
from qibo_client.protocol.writers import batch_body, submission_body
from qibo_client.testing.streams import BytesStream

T = TypeVar("T")

#: Operation name -> (HTTP method, path) of the request it stands for (used in error messages).
OPERATIONS: dict[str, tuple[str, Callable[[str], str]]] = {
    "server_version": ("GET", lambda pid: wire.VERSION_PATH),
    "submit_job": ("POST", lambda pid: wire.JOBS_PATH),
    "submit_jobs": ("POST", lambda pid: wire.BATCH_PATH),
    "get_job": ("GET", wire.job_path),
    "list_jobs": ("GET", lambda pid: wire.JOBS_PATH),
    "download": ("GET", wire.download_path),
    "delete_job": ("DELETE", wire.job_path),
    "delete_all_jobs": ("DELETE", lambda pid: wire.BULK_DELETE_PATH),
    "disk_quota": ("GET", lambda pid: wire.DISK_QUOTA_PATH),
    "project_quotas": ("GET", lambda pid: wire.PROJECT_QUOTAS_PATH),
}


@dataclass(frozen=True)
class MockRequest:
    """One operation the client asked of the server.

    ``operation`` is one of :data:`OPERATIONS` (``"get_job"``, ``"download"``,
    ...); ``pid`` names the job for job operations; ``body`` is the protocol
    JSON sent (a submission, or a batch's ``{"jobs": [...]}``); ``params`` holds the
    options (``hold``, ``known_status``, ``idempotency_key``, and ``pids`` of a
    filtered job list).
    """

    operation: str
    pid: str | None = None
    body: Mapping[str, Any] | None = None
    params: Mapping[str, Any] = field(default_factory=dict)
    base_url: str = "mock://server"

    @property
    def method(self) -> str:
        """The HTTP method this operation would use."""
        return OPERATIONS[self.operation][0]

    @property
    def url(self) -> str:
        """The URL this operation would reach on a real server."""
        path = OPERATIONS[self.operation][1](self.pid or "")
        return f"{self.base_url.rstrip('/')}/api/{path}"

    def error(self, status: int, message: str) -> QiboApiError:
        """The error a transport raises when the server answers ``status`` (return or raise it)."""
        return QiboApiError(status=status, method=self.method, url=self.url, message=message)

    def transient(self, message: str = "the server is busy", status: int = 503) -> TransientError:
        """The error a transport raises once its retries of a failing request are spent."""
        return TransientError(status=status, method=self.method, url=self.url, message=message)


#: What a handler may answer: protocol JSON, an archive's bytes (or a stream) for a
#: download, or an exception to raise.
Answer = Mapping[str, Any] | list[Any] | bytes | ResultStream | BaseException
Handler = Callable[[MockRequest], Answer]


class MockTransport(Transport):
    """A :class:`~qibo_client.ports.Transport` whose server is ``handler``.

    Use it as ``Client(token, url, transport=MockTransport(handler))``. Every
    request is kept in :attr:`requests`. ``extensions`` are the protocol
    extensions the pretend server announces (``{"long-poll"}`` makes the client
    ask ``get_job`` to hold, so it does not sleep between polls); by default
    the handler's own ``extensions`` attribute if it has one (a
    :class:`MockServer` does), else none. No request is retried: the handler
    sees each one.
    """

    def __init__(
        self,
        handler: Handler,
        *,
        base_url: str = "mock://server",
        extensions: Iterable[str] | None = None,
    ) -> None:
        self.handler = handler
        self.base_url = base_url
        if extensions is None:
            extensions = getattr(handler, "extensions", ())
        self._extensions = frozenset(extensions)
        self.requests: list[MockRequest] = []
        self.closed = False
        self._lock = threading.Lock()

    def __repr__(self) -> str:
        return f"MockTransport({self.handler!r}, base_url={self.base_url!r})"

    @property
    def extensions(self) -> frozenset[str]:
        return self._extensions

    @property
    def lists_by_pid(self) -> bool:
        return wire.JOB_LIST_PIDS in self._extensions

    def operations(self, name: str | None = None) -> list[MockRequest]:
        """The requests made so far, or only those of operation ``name``."""
        with self._lock:
            return [r for r in self.requests if name is None or r.operation == name]

    def _ask(
        self,
        operation: str,
        pid: str | None = None,
        *,
        body: Mapping[str, Any] | None = None,
        params: Mapping[str, Any] | None = None,
        deadline: float | None = None,
    ) -> Any:
        request = MockRequest(operation, pid, body, dict(params or {}), self.base_url)
        if self.closed:
            raise request.error(0, "this transport was closed")
        if deadline is not None and time.monotonic() >= deadline:
            raise DeadlineExceededError(
                status=0, method=request.method, url=request.url, message="the deadline passed"
            )
        with self._lock:
            self.requests.append(request)
        answer = self.handler(request)
        if isinstance(answer, BaseException):
            raise answer
        if operation == "download":
            return answer
        # Through JSON and back, as a real answer would travel: a copy, and JSON only.
        return json.loads(json.dumps(answer))

    def server_version(self, *, deadline: float | None = None) -> ServerVersion:
        return readers.read_server_version(self._ask("server_version", deadline=deadline))

    def submit_job(self, submission: JobSubmission, *, idempotency_key: str | None = None) -> str:
        params = {"idempotency_key": idempotency_key} if idempotency_key is not None else {}
        answer = self._ask("submit_job", body=submission_body(submission), params=params)
        return readers.read_submission_answer(answer)

    def get_job(
        self,
        pid: str,
        *,
        hold: float = 0.0,
        known_status: str | None = None,
        deadline: float | None = None,
    ) -> JobInfo:
        params = {"hold": hold, "known_status": known_status}
        return readers.read_job(self._ask("get_job", pid, params=params, deadline=deadline))

    def submit_jobs(
        self, submissions: Sequence[JobSubmission], *, idempotency_key: str | None = None
    ) -> list[str] | None:
        """One ``submit_jobs`` request when the server announces ``batch``, else ``None``.

        A handler's 422 is the batch refused (:class:`JobPostServerError`), its 413 too
        large a batch (``None``), as :class:`~qibo_client.adapters.http_transport.HttpTransport`
        reads them.
        """
        if wire.BATCH not in self._extensions or not 0 < len(submissions) <= wire.MAX_BATCH_JOBS:
            return None
        params = {"idempotency_key": idempotency_key} if idempotency_key is not None else {}
        try:
            answer = self._ask("submit_jobs", body=batch_body(submissions), params=params)
        except QiboApiError as error:  # read as HttpTransport reads these statuses
            if error.status == 413:
                return None
            if error.status == 422:
                raise JobPostServerError(error.message) from None
            raise
        return readers.read_batch_answer(answer, len(submissions))

    def list_jobs(
        self, *, deadline: float | None = None, pids: Sequence[str] | None = None
    ) -> list[JobInfo]:
        """The handler's job list; with ``pids``, asked for in ``params`` and kept here too
        (a handler that ignores them answers every job, as a server without the filter)."""
        params = {"pids": list(pids)} if pids is not None else None
        listed = readers.read_job_list(self._ask("list_jobs", params=params, deadline=deadline))
        return listed if pids is None else [info for info in listed if info.pid in set(pids)]

    def fetch_result(
        self, pid: str, receive: Callable[[ResultStream], T], *, deadline: float | None = None
    ) -> T:
        answer = self._ask("download", pid, deadline=deadline)
        if isinstance(answer, ResultStream):
            stream = answer
        elif isinstance(answer, bytes | bytearray):
            stream = BytesStream(bytes(answer))
        else:  # JSON where an archive belongs: hand it over as a server would send it
            stream = BytesStream(json.dumps(answer).encode())
        with stream:
            return receive(stream)

    def delete_job(self, pid: str) -> JobDeletion:
        return readers.read_deletion(pid, self._ask("delete_job", pid))

    def delete_all_jobs(self) -> list[str]:
        return readers.read_deleted(self._ask("delete_all_jobs"))

    def disk_quota(self) -> DiskQuota:
        return readers.read_disk_quota(self._ask("disk_quota"))

    def project_quotas(self) -> list[ProjectQuota]:
        return readers.read_project_quotas(self._ask("project_quotas"))

    def close(self) -> None:
        self.closed = True
