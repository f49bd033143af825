"""The transport port: how the domain reaches a Qibo server.

A transport speaks for one user (one token) to one server. The domain asks it
for server operations in the domain's own words; only the adapter knows
whether that means HTTP paths and headers, an in-process call, or a script of
canned answers in a test.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable, Iterator, Sequence
from types import TracebackType
from typing import Any, TypeVar

from qibo_client.domain.records import (
    DiskQuota,
    DryRunReport,
    JobDeletion,
    JobInfo,
    JobSubmission,
    ProjectQuota,
    ServerVersion,
)

T = TypeVar("T")


class ResultStream(ABC):
    """A result archive (``.tar.gz``) being received, read once, front to back.

    Use it as a context manager, or call :meth:`close` when done.
    """

    #: The archive's size in bytes when the server said it, else ``None``.
    content_length: int | None = None

    @abstractmethod
    def iter_chunks(self, chunk_size: int = 1 << 20) -> Iterator[bytes]:
        """Yield the archive's bytes in chunks of about ``chunk_size``.

        Raise :class:`~qibo_client.exceptions.IncompleteDownloadError` if the
        transfer breaks off.
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

    Adapter authors:

    - implement every abstract method, and raise only our errors:
      :class:`~qibo_client.exceptions.QiboApiError` when the server says no
      (its message in ``message``), :class:`~qibo_client.exceptions.TransientError`
      when it could not answer now (no connection, overload, throttling) once
      your own retries are spent, :class:`~qibo_client.exceptions.DeadlineExceededError`
      when ``deadline`` passes first, and
      :class:`~qibo_client.exceptions.MalformedResponseError` when an answer
      does not fit the protocol (the readers in :mod:`qibo_client.protocol.readers`
      do this for you);
    - retries belong here and nowhere else: repeat only requests safe to
      repeat (never a submission), and never past ``deadline``;
    - ``deadline`` is a :func:`time.monotonic` instant, or ``None`` for no limit;
    - never put the token in an error, a log line or a ``repr``.

    :mod:`qibo_client.testing` holds a contract suite that an adapter proves
    itself with.
    """

    #: The server's address as the user gave it (used in messages and renderers).
    base_url: str = ""

    @property
    def extensions(self) -> frozenset[str]:
        """The protocol extensions this server is known to serve (``docs/protocol.md``)."""
        return frozenset()

    @property
    def supports_long_poll(self) -> bool:
        """True once the transport knows the server holds ``get_job`` answers."""
        return "long-poll" in self.extensions

    @property
    def outcome_can_be_lost(self) -> bool:
        """True when a submission can end with its outcome unknown (a network between
        client and server), so the client sends an ``Idempotency-Key`` the user can
        repeat it with. An in-process server answers or raises: it says False."""
        return True

    @property
    def lists_by_pid(self) -> bool:
        """True when ``list_jobs(pids=...)`` asks the server for only those jobs (extension
        ``job-list-pids``), so that following a few jobs costs a few rows, not the whole list.

        False by default: callers then ask for the whole list and keep what they need. An
        adapter that accepts ``pids`` and knows the server filters says True.
        """
        return False

    @abstractmethod
    def server_version(self, *, deadline: float | None = None) -> ServerVersion:
        """The server's qibo version and the oldest client it accepts."""

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
    def get_job(
        self,
        pid: str,
        *,
        hold: float = 0.0,
        known_status: str | None = None,
        deadline: float | None = None,
    ) -> JobInfo:
        """The job as the server sees it now.

        ``hold > 0`` asks the server to hold the answer for up to ``hold``
        seconds until the job's status differs from ``known_status``
        (extension ``long-poll``). A transport or server that cannot, answers
        at once and leaves :attr:`supports_long_poll` False; the domain then
        sleeps between polls itself.
        """

    @abstractmethod
    def list_jobs(
        self, *, deadline: float | None = None, pids: Sequence[str] | None = None
    ) -> list[JobInfo]:
        """All of this user's jobs, in one request.

        ``pids`` is passed only when :attr:`lists_by_pid` is True: then answer only
        those jobs (a pid of no job of this user's is simply absent), in as few
        requests as the server's limits allow (``wire.MAX_LIST_PIDS`` per request).
        """

    def submit_jobs(
        self, submissions: Sequence[JobSubmission], *, idempotency_key: str | None = None
    ) -> list[str] | None:
        """Queue every submission in one all-or-nothing request (extension ``batch``); the
        pids, in order.

        ``None`` when this transport cannot, having sent nothing: the server lacks the
        extension, or the batch is more than one request carries (over
        ``wire.MAX_BATCH_JOBS`` jobs or ``wire.MAX_BATCH_BYTES`` of body, or the server
        said 413); the caller then submits the jobs one by one. Raise
        :class:`~qibo_client.exceptions.JobPostServerError` when the server refuses the
        batch (then no job was queued), and
        :class:`~qibo_client.exceptions.SubmissionOutcomeUnknownError` as
        :meth:`submit_job` does; never resubmit on your own.
        """
        return None

    @abstractmethod
    def fetch_result(
        self, pid: str, receive: Callable[[ResultStream], T], *, deadline: float | None = None
    ) -> T:
        """Open the job's result archive, hand it to ``receive``, return what it returns.

        ``receive`` keeps nothing of a failed attempt, so when the transfer
        breaks off (:class:`~qibo_client.exceptions.IncompleteDownloadError`
        from the stream or from ``receive``) the transport may open the archive
        again and call ``receive`` anew, within its retry bound and ``deadline``.
        """

    def held_result(self, pid: str) -> Any | None:
        """The finished job's result object, when this transport holds it in memory.

        An in-process server hands over the result a job left in this process,
        with nothing written or downloaded; ``None`` (the default, and for any
        job it does not hold) means: download it with :meth:`fetch_result`.
        """
        return None

    @abstractmethod
    def delete_job(self, pid: str) -> JobDeletion:
        """Delete one job; say what the server answered."""

    def dry_run(self, submission: JobSubmission) -> DryRunReport | None:
        """Have the server check a submission and say what it would cost (extension ``dry-run``).

        ``None`` when the server lacks the extension (the client then checks
        what it can itself). Raise :class:`~qibo_client.exceptions.JobPostServerError`
        when the server says the job would be refused.
        """
        return None

    def cancel_job(self, pid: str) -> bool:
        """Ask the server to stop the job (extension ``cancel``); True if it took the request.

        False when the server lacks the extension: the job then runs on. A
        transport for such servers keeps this default.
        """
        return False

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
