"""ThreadedAsyncTransport: any blocking transport, awaited from an event loop.

Each call of the wrapped :class:`~qibo_client.ports.Transport` runs in a
bounded pool of threads, so the loop never blocks. ``local://`` uses it
around :class:`~qibo_client.adapters.local_transport.LocalServerTransport`,
whose in-process server blocks while it holds a long-poll; a transport
plugin that offers no asynchronous adapter gets it too.
"""

from __future__ import annotations

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
from qibo_client.drivers.aio import BlockingPool
from qibo_client.ports import ResultStream, Transport
from qibo_client.ports.async_transport import AsyncTransport

T = TypeVar("T")

#: Threads at most per transport: enough for many jobs held at once, still bounded.
DEFAULT_MAX_WORKERS = 32
#: The longest a single held ``get_job`` keeps a thread (the caller asks again after it),
#: so that closing never waits long on a hold nobody awaits any more.
DEFAULT_HOLD_SLICE = 1.0


class ThreadedAsyncTransport(AsyncTransport):
    """Runs a blocking :class:`~qibo_client.ports.Transport` in a pool of threads.

    The wrapped transport's errors pass through unchanged. A held ``get_job``
    holds at most ``hold_slice`` seconds. :meth:`aclose` closes the wrapped
    transport (in the pool) and returns once every thread has ended.
    """

    def __init__(
        self,
        transport: Transport,
        *,
        max_workers: int = DEFAULT_MAX_WORKERS,
        hold_slice: float = DEFAULT_HOLD_SLICE,
    ) -> None:
        if not hold_slice > 0:
            raise ValueError(f"hold_slice must be a number of seconds > 0, got {hold_slice!r}")
        self.transport = transport
        self.base_url = transport.base_url
        self.hold_slice = float(hold_slice)
        self._pool = BlockingPool("transport", max_workers)
        self._closed = False

    def __repr__(self) -> str:
        return f"ThreadedAsyncTransport({self.transport!r})"

    @property
    def extensions(self) -> frozenset[str]:
        return self.transport.extensions

    @property
    def supports_long_poll(self) -> bool:
        return self.transport.supports_long_poll

    @property
    def lists_by_pid(self) -> bool:
        return self.transport.lists_by_pid

    async def server_version(self, *, deadline: float | None = None) -> ServerVersion:
        return await self._pool.run(self.transport.server_version, deadline=deadline)

    async def submit_job(
        self, submission: JobSubmission, *, idempotency_key: str | None = None
    ) -> str:
        return await self._pool.run(
            self.transport.submit_job, submission, idempotency_key=idempotency_key
        )

    async def get_job(
        self,
        pid: str,
        *,
        hold: float = 0.0,
        known_status: str | None = None,
        deadline: float | None = None,
    ) -> JobInfo:
        return await self._pool.run(
            self.transport.get_job,
            pid,
            hold=min(hold, self.hold_slice),
            known_status=known_status,
            deadline=deadline,
        )

    async def submit_jobs(
        self, submissions: Sequence[JobSubmission], *, idempotency_key: str | None = None
    ) -> list[str] | None:
        return await self._pool.run(
            self.transport.submit_jobs, submissions, idempotency_key=idempotency_key
        )

    async def list_jobs(
        self, *, deadline: float | None = None, pids: Sequence[str] | None = None
    ) -> list[JobInfo]:
        if pids is None:  # a wrapped transport of before job-list-pids takes no pids
            return await self._pool.run(self.transport.list_jobs, deadline=deadline)
        return await self._pool.run(self.transport.list_jobs, deadline=deadline, pids=pids)

    async def fetch_result(
        self, pid: str, receive: Callable[[ResultStream], T], *, deadline: float | None = None
    ) -> T:
        return await self._pool.run(self.transport.fetch_result, pid, receive, deadline=deadline)

    async def delete_job(self, pid: str) -> JobDeletion:
        return await self._pool.run(self.transport.delete_job, pid)

    async def dry_run(self, submission: JobSubmission) -> DryRunReport | None:
        return await self._pool.run(self.transport.dry_run, submission)

    async def cancel_job(self, pid: str) -> bool:
        return await self._pool.run(self.transport.cancel_job, pid)

    async def delete_all_jobs(self) -> list[str]:
        return await self._pool.run(self.transport.delete_all_jobs)

    async def disk_quota(self) -> DiskQuota:
        return await self._pool.run(self.transport.disk_quota)

    async def project_quotas(self) -> list[ProjectQuota]:
        return await self._pool.run(self.transport.project_quotas)

    async def aclose(self) -> None:
        if self._closed:
            return
        self._closed = True
        try:
            await self._pool.run(self.transport.close)
        finally:
            await self._pool.aclose()
