"""The transport port: how the domain reaches a Qibo server.

A transport speaks for one user (one token) to one server. The domain asks it
for server operations in the domain's own words; only the adapter knows
whether that means HTTP paths and headers, an in-process call, or a script of
canned answers in a test.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Iterator
from types import TracebackType
from typing import Any, Protocol

from qibo_client.domain.records import (
    DiskQuota,
    JobInfo,
    JobSubmission,
    ProjectQuota,
    ServerVersion,
)


class ServerResponse(Protocol):
    """What :meth:`Transport.delete_job` returns: the shape of ``requests.Response``."""

    @property
    def status_code(self) -> int: ...

    @property
    def ok(self) -> bool: ...

    def json(self) -> Any: ...


class ResultStream(ABC):
    """A result archive (``.tar.gz``) being received, read once, front to back.

    Use it as a context manager, or call :meth:`close` when done.
    """

    #: The archive's size in bytes when the server said it, else ``None``.
    content_length: int | None = None

    @abstractmethod
    def iter_chunks(self, chunk_size: int = 1 << 20) -> Iterator[bytes]:
        """Yield the archive's bytes in chunks of about ``chunk_size``.

        Raise :class:`~qibo_client.exceptions.QiboApiError` if the transfer
        breaks off.
        """

    def close(self) -> None:  # noqa: B027 - optional hook, nothing to release by default
        """Release whatever the stream holds (a connection, a file)."""

    def __enter__(self) -> ResultStream:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()


class Transport(ABC):
    """Everything the client asks of a Qibo server.

    Adapter authors: implement every abstract method; raise
    :class:`~qibo_client.exceptions.QiboApiError` when the server says no
    (its message in ``message``; ``status`` 0 when the server could not be
    reached), :class:`~qibo_client.exceptions.MalformedResponseError` when
    its answer does not fit the protocol (the readers in
    :mod:`qibo_client.domain.records` do this for you), and nothing else.
    Never put the token in an error, a log line or a ``repr``.
    """

    #: The server's address as the user gave it (used in messages and renderers).
    base_url: str = ""

    @abstractmethod
    def server_version(self) -> ServerVersion:
        """The server's qibo version and the oldest client qibo it accepts."""

    @abstractmethod
    def submit_job(self, submission: JobSubmission, *, idempotency_key: str | None = None) -> str:
        """Queue a job and return its pid.

        Raise :class:`~qibo_client.exceptions.JobPostServerError` when the
        server refuses it. With ``idempotency_key`` (extension ``idempotency``),
        send the key so that a repeat returns the same pid. When the outcome
        cannot be known (the connection broke after sending), raise
        :class:`~qibo_client.exceptions.SubmissionOutcomeUnknownError`; never
        resubmit on your own.
        """

    @abstractmethod
    def get_job(self, pid: str, *, wait: float = 0.0, known_status: str | None = None) -> JobInfo:
        """The job as the server sees it now.

        ``wait > 0`` asks the server to hold the answer for up to ``wait``
        seconds until the job's status differs from ``known_status``
        (extension ``long-poll``). A transport or server that cannot, answers
        at once and leaves :attr:`supports_long_poll` False; the domain then
        sleeps between polls itself.
        """

    @property
    def supports_long_poll(self) -> bool:
        """True once the transport knows the server holds ``get_job`` answers."""
        return False

    @abstractmethod
    def list_jobs(self) -> list[JobInfo]:
        """All of this user's jobs, in one request."""

    @abstractmethod
    def open_result(self, pid: str) -> ResultStream:
        """Start receiving the job's result archive (success: ``results.npy``; error: logs)."""

    @abstractmethod
    def delete_job(self, pid: str) -> ServerResponse:
        """Delete one job; return the server's response as it came."""

    @abstractmethod
    def delete_all_jobs(self) -> list[str]:
        """Delete every job of this user; return the deleted pids."""

    @abstractmethod
    def disk_quota(self) -> DiskQuota:
        """The user's disk quota."""

    @abstractmethod
    def project_quotas(self) -> list[ProjectQuota]:
        """The user's quota on each project and device."""

    def close(self) -> None:  # noqa: B027 - optional hook
        """Release connections, threads or servers the transport holds."""
