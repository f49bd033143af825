"""The asynchronous transport port: how :class:`~qibo_client.aio.AsyncClient` reaches a server.

The same operations as :class:`~qibo_client.ports.Transport`, as coroutines,
in the same records and with the same errors: one client model, two drivers
(as httpx pairs ``BaseTransport`` with ``AsyncBaseTransport``). What to ask and
when is decided once, in :mod:`qibo_client.domain.polling`.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable, Sequence
from typing import TypeVar

from qibo_client.domain.records import (
    DiskQuota,
    DryRunReport,
    JobDeletion,
    JobInfo,
    JobSubmission,
    ProjectQuota,
    ServerVersion,
)
from qibo_client.ports.transport import ResultStream

T = TypeVar("T")


class AsyncTransport(ABC):
    """Everything the asynchronous client asks of a Qibo server, without blocking the loop.

    Adapter authors: the rules of :class:`~qibo_client.ports.Transport` hold
    word for word (raise only our errors, retry only what is safe to repeat
    and never past ``deadline``, never show the token), and in addition:

    - never block the event loop: a blocking library runs in a bounded pool
      of threads that :meth:`aclose` shuts down, leaving no thread behind;
    - ``receive`` of :meth:`fetch_result` is blocking code (a
      :meth:`ResultStore.save <qibo_client.ports.ResultStore.save>`): call it
      in such a thread, never on the loop;
    - a task cancelled while it awaits a call must leave the transport usable.

    :class:`~qibo_client.adapters.threaded_transport.ThreadedAsyncTransport`
    turns any blocking :class:`~qibo_client.ports.Transport` into one.
    """

    #: The server's address as the user gave it (used in messages).
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
    def lists_by_pid(self) -> bool:
        """True when ``list_jobs(pids=...)`` asks the server for only those jobs (extension
        ``job-list-pids``), so that following a few jobs costs a few rows, not the whole list.

        False by default: callers then ask for the whole list and keep what they need. An
        adapter that accepts ``pids`` and knows the server filters says True.
        """
        return False

    @abstractmethod
    async def server_version(self, *, deadline: float | None = None) -> ServerVersion:
        """The server's qibo version and the oldest client it accepts."""

    @abstractmethod
    async def submit_job(
        self, submission: JobSubmission, *, idempotency_key: str | None = None
    ) -> str:
        """Queue a job and return its pid; never resubmit on your own (see ``Transport``)."""

    @abstractmethod
    async def get_job(
        self,
        pid: str,
        *,
        hold: float = 0.0,
        known_status: str | None = None,
        deadline: float | None = None,
    ) -> JobInfo:
        """The job as the server sees it now; ``hold`` as in ``Transport.get_job``.

        An adapter may answer before ``hold`` ends with the status unchanged:
        the caller then simply asks again.
        """

    @abstractmethod
    async def list_jobs(
        self, *, deadline: float | None = None, pids: Sequence[str] | None = None
    ) -> list[JobInfo]:
        """All of this user's jobs; ``pids`` as in ``Transport.list_jobs`` (passed only when
        :attr:`lists_by_pid` is True)."""

    async def submit_jobs(
        self, submissions: Sequence[JobSubmission], *, idempotency_key: str | None = None
    ) -> list[str] | None:
        """Queue every submission in one all-or-nothing request (extension ``batch``), or
        ``None`` having sent nothing, as ``Transport.submit_jobs``."""
        return None

    @abstractmethod
    async def fetch_result(
        self, pid: str, receive: Callable[[ResultStream], T], *, deadline: float | None = None
    ) -> T:
        """Hand the job's result archive to the blocking ``receive`` (in a thread); its answer.

        As in ``Transport.fetch_result``, a transfer that breaks off
        (:class:`~qibo_client.exceptions.IncompleteDownloadError`) may be
        opened again and ``receive`` called anew, within the retry bound and
        ``deadline``.
        """

    @abstractmethod
    async def delete_job(self, pid: str) -> JobDeletion:
        """Delete one job; say what the server answered."""

    async def dry_run(self, submission: JobSubmission) -> DryRunReport | None:
        """What the job would cost, checked by the server (extension ``dry-run``), or ``None``.

        As ``Transport.dry_run``: ``None`` when the server lacks the extension.
        """
        return None

    async def cancel_job(self, pid: str) -> bool:
        """Ask the server to stop the job (extension ``cancel``); True if it took the request.

        False when the server lacks the extension, as ``Transport.cancel_job``.
        """
        return False

    @abstractmethod
    async def delete_all_jobs(self) -> list[str]:
        """Delete every job of this user; return the deleted pids."""

    @abstractmethod
    async def disk_quota(self) -> DiskQuota:
        """The user's disk quota."""

    @abstractmethod
    async def project_quotas(self) -> list[ProjectQuota]:
        """The user's quota on each project and device."""

    async def aclose(self) -> None:  # noqa: B027 - optional hook
        """Release connections, threads or servers; return once every thread has ended."""
