"""AsyncClient: :class:`~qibo_client.Client`'s methods as coroutines, for code in an event loop.

One client model, two drivers: the same poll policy, records, errors and
result store as the blocking client, through an asynchronous transport
(httpx for ``http(s)://``; the in-process server run in a pool of threads for
``local://``). Nothing blocks the loop; closing leaves no thread behind.
"""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from collections.abc import AsyncIterator, Callable, Iterable
from typing import Any, TypeVar

from qibo_client.aio.job import AsyncJob
from qibo_client.bootstrap import AsyncAdapters, wire_async
from qibo_client.domain.deadline import Deadline
from qibo_client.domain.polling import PollPolicy, poll_interval
from qibo_client.domain.progress import BatchTally
from qibo_client.domain.records import JobInfo, JobSubmission
from qibo_client.domain.selection import select_jobs
from qibo_client.domain.status import QiboJobStatus
from qibo_client.drivers.aio import BlockingPool, iter_completed
from qibo_client.ports import Renderer, ResultStore, Transport
from qibo_client.ports.async_transport import AsyncTransport
from qibo_client.protocol.readers import validate_pid
from qibo_client.protocol.wire import CLIENT_VERSION_HEADER, MAX_BATCH_JOBS, TOKEN_HEADER
from qibo_client.submission import check_submission_arguments, circuit_to_raw, local_dry_run
from qibo_client.versions import client_version, local_qibo_version, versions_verdict

T = TypeVar("T")

#: Threads for a client's blocking work (reading and writing results, importing qibo).
DEFAULT_MAX_WORKERS = 4


class AsyncClient:
    """A client for a Qibo server, awaited: ``async with AsyncClient(token, url) as client``.

    ``transport=`` takes an :class:`~qibo_client.ports.async_transport.AsyncTransport`
    (wrap a blocking one in
    :class:`~qibo_client.adapters.threaded_transport.ThreadedAsyncTransport`);
    ``result_store=``, ``renderer=`` and ``ui=`` are as for ``Client``. Jobs
    are quiet unless asked (``verbose=True``). Close it (``aclose`` or
    ``async with``) inside the loop that used it.
    """

    def __init__(
        self,
        token: str,
        url: str,
        *,
        transport: AsyncTransport | Transport | None = None,
        result_store: ResultStore | None = None,
        renderer: Renderer | None = None,
        ui: str | None = None,
        max_workers: int = DEFAULT_MAX_WORKERS,
    ) -> None:
        if not isinstance(token, str):
            raise TypeError(f"token must be a string, got {type(token).__name__}")
        self.token = token
        self.base_url = url
        #: The pid of the most recent job submitted, as ``Client.pid``.
        self.pid: str | None = None
        self.adapters: AsyncAdapters = wire_async(
            url, token, transport=transport, result_store=result_store, renderer=renderer, ui=ui
        )
        self._pool = BlockingPool("client", max_workers)
        self._versions_checked = False
        self._preparing: asyncio.Task[None] | None = None
        self._closed = False

    # -- adapters and plumbing ------------------------------------------------------

    @property
    def transport(self) -> AsyncTransport:
        return self.adapters.transport

    @property
    def result_store(self) -> ResultStore:
        return self.adapters.result_store

    @property
    def renderer(self) -> Renderer:
        return self.adapters.renderer

    @property
    def headers(self) -> dict[str, str]:
        """The protocol headers every request carries (the token among them)."""
        return {TOKEN_HEADER: self.token, CLIENT_VERSION_HEADER: client_version()}

    async def blocking(self, function: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        """Run blocking ``function(*args, **kwargs)`` in the client's threads, and await it."""
        return await self._pool.run(function, *args, **kwargs)

    def prepare_results(self) -> None:
        """Warm the result store (imports, caches) in the background, once per client."""
        if self._preparing is None:

            async def prepare() -> None:
                with contextlib.suppress(Exception):  # its failure shows where results load
                    await self.blocking(self.result_store.prepare)

            self._preparing = asyncio.get_running_loop().create_task(prepare())

    def _job(self, pid: str, **known: Any) -> AsyncJob:
        return AsyncJob(pid, self, **known)

    # -- Client's API, awaited -------------------------------------------------------

    async def check_client_server_qibo_versions(self) -> None:
        """As ``Client.check_client_server_qibo_versions``: ``RuntimeError`` when too old."""
        versions = await self.transport.server_version()
        if versions.generation != "0.2":
            self.adapters.inline_results_only = True
        warning = versions_verdict(versions, await self.blocking(local_qibo_version))
        if warning:
            self.renderer.show_message(warning, level="warning")
        self._versions_checked = True

    async def run_circuit(
        self,
        circuit: Any,
        device: str,
        project: str = "personal",
        nshots: int | None = None,
        verbatim: bool = False,
        *,
        idempotency_key: str | None = None,
        dry_run: bool = False,
    ) -> Any:
        """Submit a circuit to run on ``device``; its :class:`AsyncJob` (as ``Client.run_circuit``).

        ``dry_run=True`` runs nothing and returns the
        :class:`~qibo_client.domain.records.DryRunReport` of what it would cost.
        """
        raw = circuit_to_raw(circuit)
        check_submission_arguments(device, project, nshots, verbatim)
        if not self._versions_checked:
            await self.check_client_server_qibo_versions()
        submission = JobSubmission(raw, device, project, nshots, verbatim)
        if dry_run:
            return await self.transport.dry_run(submission) or local_dry_run(submission)
        pid = await self.transport.submit_job(
            submission, idempotency_key=idempotency_key or uuid.uuid4().hex
        )
        self.pid = pid
        return self._job(pid, circuit=raw, nshots=nshots, device=device, project=project)

    async def run_circuits(
        self,
        circuits: Iterable[Any],
        device: str,
        project: str = "personal",
        nshots: int | None = None,
        verbatim: bool = False,
        *,
        concurrency: int = 4,
    ) -> list[AsyncJob]:
        """Submit several circuits; their jobs, in order (as ``Client.run_circuits``).

        One request per ``MAX_BATCH_JOBS`` circuits to a server with the ``batch``
        extension, else one per circuit, ``concurrency`` at a time. Every request is
        tried; the first error (in circuit order) is raised with the queued jobs in its
        ``submitted_jobs`` attribute.
        """
        raws = [circuit_to_raw(c) for c in circuits]
        check_submission_arguments(device, project, nshots, verbatim)
        if not self._versions_checked:
            await self.check_client_server_qibo_versions()
        done: dict[int, AsyncJob] = {}
        failed: dict[int, BaseException] = {}
        one_by_one: list[int] = []
        for start in range(0, len(raws), MAX_BATCH_JOBS):
            chunk = range(start, min(start + MAX_BATCH_JOBS, len(raws)))
            batch = [JobSubmission(raws[i], device, project, nshots, verbatim) for i in chunk]
            try:
                pids = await self.transport.submit_jobs(batch, idempotency_key=uuid.uuid4().hex)
            except Exception as error:  # kept for the caller, with the jobs queued meanwhile
                failed[start] = error
                continue
            if pids is None:  # no batch extension (or too big a batch): one request each
                one_by_one += chunk
                continue
            for i, pid in zip(chunk, pids, strict=True):
                done[i] = self._job(
                    pid, circuit=raws[i], nshots=nshots, device=device, project=project
                )
        gate = asyncio.Semaphore(max(1, concurrency))

        async def submit(index: int) -> AsyncJob:
            async with gate:
                return await self.run_circuit(raws[index], device, project, nshots, verbatim)

        outcomes = await asyncio.gather(*(submit(i) for i in one_by_one), return_exceptions=True)
        for index, outcome in zip(one_by_one, outcomes, strict=True):
            if isinstance(outcome, AsyncJob):
                done[index] = outcome
            else:
                failed[index] = outcome
        jobs = [done[i] for i in sorted(done)]
        if failed:
            first = failed[min(failed)]
            first.submitted_jobs = jobs  # type: ignore[attr-defined]
            raise first
        if jobs:
            self.pid = jobs[-1].pid
        return jobs

    async def get_job(self, pid: str) -> AsyncJob:
        """The job with this pid, refreshed from the server (re-attach after a restart)."""
        job = self._job(validate_pid(pid))
        await job.refresh()
        return job

    async def jobs(
        self,
        status: str | QiboJobStatus | None = None,
        device: str | None = None,
        limit: int | None = None,
    ) -> list[AsyncJob]:
        """This user's jobs, newest first, filtered (as ``Client.jobs``)."""
        selected = select_jobs(await self.transport.list_jobs(), status, device, limit)
        jobs = []
        for info in selected:
            job = self._job(info.pid)
            job.update(info)
            jobs.append(job)
        return jobs

    async def delete_job(self, pid: str, *, keep_local: bool = False) -> None:
        """Delete one job from the server, and its stored result unless ``keep_local``."""
        await self._job(validate_pid(pid)).delete(keep_local=keep_local)
        self.renderer.show_message(f"Deleted job {pid}")

    async def delete_all_jobs(self, *, keep_local: bool = False) -> list[str]:
        """Delete all of this user's jobs (and their stored results unless ``keep_local``)."""
        store = None if keep_local else self.result_store
        deleted = await self.transport.delete_all_jobs()
        if store is not None:
            for pid in deleted:
                await self.blocking(store.forget, self.base_url, pid)
        self.renderer.show_message(f"Deleted {len(deleted)} jobs")
        return deleted

    async def print_quota_info(self) -> None:
        """Show the disk quota and every project's quota."""
        disk, projects = await asyncio.gather(
            self.transport.disk_quota(), self.transport.project_quotas()
        )
        self.renderer.show_quota(disk, projects)

    async def print_job_info(self) -> None:
        """Show this user's jobs as a table (``ValueError`` if they belong to several accounts)."""
        jobs = await self.transport.list_jobs()
        if not jobs:
            self.renderer.show_message("No jobs found in database for user")
            return
        users = {job.user_email for job in jobs}
        if len(users) > 1:
            raise ValueError("Multiple accounts found in /api/jobs/.")
        self.renderer.show_jobs(next(iter(users)) or "unknown user", jobs)

    # -- many jobs ----------------------------------------------------------------------

    async def as_completed(
        self,
        jobs: Iterable[AsyncJob],
        *,
        wait: float | None = 0.5,
        timeout: float | None = None,
        verbose: bool = True,
    ) -> AsyncIterator[AsyncJob]:
        """``async for job in client.as_completed(jobs)``: each job once it is final.

        One job-list request per round; ``timeout`` raises
        :class:`~qibo_client.exceptions.JobTimeoutError` and leaves the jobs alone.
        With ``verbose``, one progress display follows the whole batch.
        """
        by_pid = {job.pid: job for job in jobs}
        policy = PollPolicy(interval=poll_interval(wait))
        tally = BatchTally(list(by_pid))
        view = self.renderer.start_batch(tally.snapshot()) if verbose and by_pid else None

        def follow(info: JobInfo) -> None:
            job = by_pid.get(info.pid)
            if job is not None:
                job.update(info)
            if tally.update(info) and view is not None:
                view.update(tally.snapshot())

        finished = iter_completed(
            self.transport,
            list(by_pid),
            policy,
            Deadline.after(timeout),
            timeout=timeout,
            on_update=follow,
        )
        try:
            async for info in finished:
                yield by_pid[info.pid]
        finally:
            if view is not None:
                view.finish(tally.snapshot())

    async def wait_all(
        self,
        jobs: Iterable[AsyncJob],
        *,
        wait: float | None = 0.5,
        timeout: float | None = None,
        verbose: bool = True,
    ) -> list[AsyncJob]:
        """Wait until every job is final; the jobs in the order given."""
        ordered = list(jobs)
        async for _ in self.as_completed(ordered, wait=wait, timeout=timeout, verbose=verbose):
            pass
        return ordered

    async def results(
        self,
        jobs: Iterable[AsyncJob],
        *,
        wait: float = 0.5,
        timeout: float | None = None,
        concurrency: int = 4,
        verbose: bool = True,
    ) -> list[Any]:
        """Every job's result in order (``None`` for failed ones), each fetched once it ends.

        At most ``concurrency`` downloads at once; ``timeout`` bounds the whole.
        """
        ordered = list(jobs)
        deadline = Deadline.after(timeout)
        gate = asyncio.Semaphore(max(1, concurrency))

        async def fetch(job: AsyncJob) -> Any:
            async with gate:
                return await job.result(wait, verbose=False, timeout=deadline.remaining())

        fetching: dict[str, asyncio.Task[Any]] = {}
        try:
            async for job in self.as_completed(
                ordered, wait=wait, timeout=timeout, verbose=verbose
            ):
                fetching[job.pid] = asyncio.ensure_future(fetch(job))
            await asyncio.gather(*fetching.values())
        except BaseException:
            for task in fetching.values():
                task.cancel()
            await asyncio.gather(*fetching.values(), return_exceptions=True)
            raise
        return [fetching[job.pid].result() for job in ordered]

    # -- life -------------------------------------------------------------------------

    async def aclose(self) -> None:
        """Close the transport and stop the client's threads; returns once none is left."""
        if self._closed:
            return
        self._closed = True
        if self._preparing is not None:
            self._preparing.cancel()
            await asyncio.gather(self._preparing, return_exceptions=True)
        try:
            await self.transport.aclose()
        finally:
            await self._pool.aclose()

    async def __aenter__(self) -> AsyncClient:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.aclose()

    def __repr__(self) -> str:
        return f"AsyncClient(url={self.base_url!r}, token='***')"
