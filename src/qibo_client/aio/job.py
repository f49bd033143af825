"""AsyncJob: one job followed from an event loop, :class:`~qibo_client.QiboJob`'s methods awaited.

It waits through the asyncio driver (:mod:`qibo_client.drivers.aio`) on the
same poll policy as ``QiboJob``, downloads through an asynchronous transport,
and does a result store's blocking work in its client's pool of threads.
"""

from __future__ import annotations

import contextlib
import functools
import time
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

from qibo_client.domain.deadline import Deadline
from qibo_client.domain.polling import PollPolicy, poll_interval, timeout_error
from qibo_client.domain.records import JobDeletion, JobInfo, StoredResult
from qibo_client.domain.status import QiboJobStatus
from qibo_client.drivers.aio import wait_until_final
from qibo_client.exceptions import (
    DeadlineExceededError,
    IncompleteDownloadError,
    QiboApiError,
    TransientError,
    UnsafeResultError,
)
from qibo_client.job_results import NO_DOWNLOAD_STATUSES, logs_text, usable
from qibo_client.ports import JobSnapshot, ProgressView
from qibo_client.protocol.readers import validate_pid
from qibo_client.results.sizes import result_size_bound

if TYPE_CHECKING:
    from qibo_client.aio.client import AsyncClient


class AsyncJob:
    """A job on a Qibo server, awaited: ``await job.result(timeout=...)``.

    Made by :class:`~qibo_client.aio.AsyncClient` (``run_circuit``,
    ``get_job``, ``jobs``); it shares its client's adapters, so use it while
    the client is open. A timeout raises
    :class:`~qibo_client.exceptions.JobTimeoutError` and leaves the job on the
    server, as does cancelling the awaiting task.
    """

    def __init__(
        self,
        pid: str,
        client: AsyncClient,
        *,
        circuit: Any = None,
        nshots: int | None = None,
        device: str | None = None,
        project: str | None = None,
    ) -> None:
        self.pid = pid
        self.base_url = client.base_url
        self.circuit = circuit
        self.nshots = nshots
        self.device = device
        self.project = project
        #: The server's latest answer about this job (``None`` before the first).
        self.info: JobInfo | None = None
        self.results_folder: Path | None = None
        self.results_path: Path | None = None
        self._client = client
        self._status: QiboJobStatus | None = None
        self._status_text: str | None = None
        self._view: ProgressView | None = None  # the progress shown while verbose waits
        self._started = time.monotonic()

    # -- status ---------------------------------------------------------------------

    def update(self, info: JobInfo) -> QiboJobStatus | None:
        """Take in an answer about this job the caller already has; no request is made."""
        self.info = info
        self.circuit = info.circuit if info.circuit is not None else self.circuit
        self.nshots = info.nshots if info.nshots is not None else self.nshots
        self.device = info.device or self.device
        self.project = self.project or info.project
        self._status = info.job_status
        self._status_text = info.status
        return self._status

    @property
    def status_text(self) -> str | None:
        """The status as the server last spelled it (also one the client does not know)."""
        return self._status_text

    @property
    def queue_position(self) -> int | None:
        return self.info.queue_position if self.info else None

    @property
    def seconds_to_job_start(self) -> float | int | None:
        return self.info.seconds_to_job_start if self.info else None

    async def refresh(self) -> QiboJobStatus | None:
        """Ask the server about the job; its status (``None`` if the client does not know it)."""
        return self.update(await self._client.transport.get_job(validate_pid(self.pid)))

    async def status(self) -> QiboJobStatus | None:
        """The current status (asks the server, like :meth:`refresh`)."""
        return await self.refresh()

    async def running(self) -> bool:
        return await self.status() is QiboJobStatus.RUNNING

    async def success(self) -> bool:
        return await self.status() is QiboJobStatus.SUCCESS

    # -- waiting ----------------------------------------------------------------------

    def _snapshot(self, started: float) -> JobSnapshot:
        return JobSnapshot(
            pid=self.pid,
            status=self._status,
            status_text=(self._status_text or "loading").upper(),
            base_url=self.base_url,
            device=self.device,
            project=self.project,
            queue_position=self.queue_position,
            seconds_to_job_start=self.seconds_to_job_start,
            elapsed_seconds=time.monotonic() - started,
        )

    @contextlib.contextmanager
    def _following(self, verbose: bool) -> Iterator[list[str | None]]:
        """Show progress for the block when ``verbose``; yields a slot for the results folder."""
        self._started = started = time.monotonic()
        view = self._client.renderer.start_progress(self._snapshot(started)) if verbose else None
        folder: list[str | None] = [None]
        self._view = view
        try:
            yield folder
        finally:
            self._view = None
            if view is not None:
                view.finish(self._snapshot(started), results_folder=folder[0])

    def _seen(self, info: JobInfo) -> None:
        self.update(info)
        if self._view is not None:
            self._view.update(self._snapshot(self._started))

    async def _wait_final(
        self, wait: float | None, deadline: Deadline, timeout: float | None
    ) -> QiboJobStatus | None:
        policy = PollPolicy(interval=poll_interval(wait))
        await wait_until_final(
            self._client.transport,
            self.pid,
            policy,
            deadline,
            timeout=timeout,
            on_update=self._seen,
        )
        return self._status

    async def wait(
        self, wait: float | None = 0.5, verbose: bool = False, *, timeout: float | None = None
    ) -> QiboJobStatus | None:
        """Wait until the job is final (success or error) and return that status.

        ``wait`` is the pause between checks on servers without long-poll;
        ``timeout`` raises :class:`~qibo_client.exceptions.JobTimeoutError`.
        """
        validate_pid(self.pid)
        deadline = Deadline.after(timeout)
        with self._following(verbose):
            return await self._wait_final(wait, deadline, timeout)

    async def result(
        self, wait: float | None = 0.5, verbose: bool = False, *, timeout: float | None = None
    ) -> Any:
        """Wait for the job, then download and return its result, as ``QiboJob.result``.

        ``None`` when the job ended in error (its logs in :attr:`results_folder`)
        or its archive could not be read. ``timeout`` bounds every request,
        retry, pause and the download.
        """
        pid = validate_pid(self.pid)
        deadline = Deadline.after(timeout)
        client = self._client
        store = client.result_store
        stored = await client.blocking(store.lookup, self.base_url, pid)
        if stored is not None and stored.result_file is not None:
            self._keep(stored)
            self._status, self._status_text = QiboJobStatus.SUCCESS, "success"
            return await client.blocking(store.load, stored)

        with self._following(verbose) as folder:
            status = self._status
            if status is None or not status.is_final:
                client.prepare_results()
                status = await self._wait_final(wait, deadline, timeout)
            if client.adapters.inline_results_only:
                return await self._inline_result(pid, status)
            try:
                bound = result_size_bound(self.circuit, self.nshots)
                receive = functools.partial(store.save, self.base_url, pid, max_bytes=bound)
                stored = await client.transport.fetch_result(pid, receive, deadline=deadline.at)
            except DeadlineExceededError:
                raise timeout_error(pid, timeout, self.info) from None
            except IncompleteDownloadError:
                raise
            except UnsafeResultError as error:
                client.renderer.show_error(error)
                return None
            except QiboApiError as error:
                if error.status not in NO_DOWNLOAD_STATUSES or isinstance(error, TransientError):
                    raise
                client.adapters.inline_results_only = True  # a server of the 0.3 generation
                return await self._inline_result(pid, status)
            self._keep(stored)
            folder[0] = str(stored.folder)

        if not usable(pid, status, stored, self.info, client.renderer, client.token):
            return None
        return await client.blocking(store.load, stored)

    async def frequencies(
        self, wait: float | None = 0.5, *, timeout: float | None = None
    ) -> dict[str, int] | None:
        """The job's measured counts (``{bitstring: count}``); ``None`` when it failed."""
        validate_pid(self.pid)
        deadline = Deadline.after(timeout)
        if self._status is None or not self._status.is_final:
            await self._wait_final(wait, deadline, timeout)
        if self._status is QiboJobStatus.ERROR:
            return None
        if self.info is not None and self.info.frequencies is not None:
            from qibo_client.results.frequencies import checked_counts

            return checked_counts(self.info.frequencies)
        result = await self.result(wait, timeout=deadline.remaining())
        if result is None:
            return None
        return {str(key): int(value) for key, value in result.frequencies().items()}

    async def _inline_result(self, pid: str, status: QiboJobStatus | None) -> Any:
        """The result rebuilt from the job object's ``frequencies`` (no download offered)."""
        renderer = self._client.renderer
        if status is QiboJobStatus.ERROR:
            text = logs_text(self.info, self._client.token) or " The server sent no logs."
            renderer.show_message(f"Job {pid} exited with error.{text}", level="error")
            return None
        counts = self.info.frequencies if self.info else None
        if counts is None:
            renderer.show_message(
                f"Job {pid} succeeded, but the server offers no result download and its "
                "job object carries no 'frequencies'; nothing to rebuild the result from",
                level="error",
            )
            return None
        from qibo_client.results.frequencies import outcomes_from_frequencies

        try:
            return await self._client.blocking(outcomes_from_frequencies, counts)  # imports qibo
        except UnsafeResultError as error:
            renderer.show_error(error)
            return None

    def _keep(self, stored: StoredResult) -> None:
        self.results_folder = stored.folder
        self.results_path = stored.result_file

    async def cancel(self) -> bool:
        """Stop the job on the server (extension ``cancel``), as ``QiboJob.cancel``.

        True when the server took the request; False when the job is already
        final or the server cannot cancel (then it says so; the job runs on).
        """
        pid = validate_pid(self.pid)
        if self.info is not None and self.info.is_final:
            return False
        if not await self._client.transport.cancel_job(pid):
            self._client.renderer.show_message(
                f"The server at {self.base_url} cannot cancel jobs; job {pid} keeps running "
                "(await job.delete() removes it)",
                level="warning",
            )
            return False
        await self.refresh()
        return True

    def cancelled(self) -> bool:
        """True once the server said the job was cancelled (no request is made)."""
        return self.info is not None and self.info.cancelled

    async def delete(self, *, keep_local: bool = False) -> JobDeletion:
        """Delete the job from the server, and its stored result unless ``keep_local``."""
        pid = validate_pid(self.pid)
        store = None if keep_local else self._client.result_store  # built before deleting
        deletion = await self._client.transport.delete_job(pid)
        if store is not None:
            await self._client.blocking(store.forget, self.base_url, pid)
        return deletion

    def __repr__(self) -> str:
        status = self._status.name if self._status else (self._status_text or "unknown")
        return (
            f"AsyncJob(pid={self.pid!r}, status={status}, device={self.device!r}, "
            f"base_url={self.base_url!r})"
        )
