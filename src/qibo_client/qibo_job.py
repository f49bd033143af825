"""Core QiboJob class and related helpers.

A :class:`QiboJob` follows one job on a Qibo server: its status, its queue
position, and finally its result. It talks to the server through a
:class:`~qibo_client.ports.Transport`, keeps results in a
:class:`~qibo_client.ports.ResultStore` and shows progress through a
:class:`~qibo_client.ports.Renderer`; when none is handed in, the composition
root (:mod:`qibo_client.bootstrap`) picks them from the URL and environment.
"""

from __future__ import annotations

import contextlib
import html
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from qibo_client.domain.polling import TRANSIENT_STATUSES, JobPoller, PollPolicy
from qibo_client.domain.records import JobInfo, validate_pid
from qibo_client.domain.status import QiboJobStatus, convert_str_to_job_status
from qibo_client.exceptions import (
    IncompleteDownloadError,
    QiboApiError,
    UnsafeResultError,
)
from qibo_client.ports import (
    JobSnapshot,
    ProgressView,
    Renderer,
    ResultStore,
    ServerResponse,
    Transport,
)

__all__ = ["QiboJob", "QiboJobStatus", "convert_str_to_job_status"]

#: How many times a result download is tried when the transfer breaks off.
DOWNLOAD_ATTEMPTS = 4


def _quietly(action: Callable[[], object]) -> None:
    """Run a best-effort background step; its failure shows up later, where it matters."""
    with contextlib.suppress(Exception):
        action()


class _Progress:
    """A job's progress display while it is followed, closed exactly once."""

    def __init__(self, job: QiboJob, renderer: Renderer | None) -> None:
        self.job = job
        self.started = time.monotonic()
        self.results_folder: str | None = None
        self.view: ProgressView | None = (
            renderer.start_progress(job._snapshot(self.started)) if renderer else None
        )

    def update(self, info: JobInfo) -> None:
        self.job._apply(info)
        if self.view is not None:
            self.view.update(self.job._snapshot(self.started))

    def close(self) -> None:
        view, self.view = self.view, None
        if view is not None:
            view.finish(self.job._snapshot(self.started), results_folder=self.results_folder)


class QiboJob:
    """Job object representing a Qibo quantum computing job.

    Built by :meth:`Client.run_circuit` and :meth:`Client.get_job`, or
    directly from a pid, a base URL and the headers carrying the token.
    """

    def __init__(
        self,
        pid: str,
        base_url: str,
        headers: dict[str, str] | None = None,
        circuit: dict | None = None,
        nshots: int | None = None,
        device: str | None = None,
        project: str | None = None,
        *,
        transport: Transport | None = None,
        result_store: ResultStore | None = None,
        renderer: Renderer | None = None,
    ) -> None:
        self.base_url = base_url
        self.headers = headers
        self.pid = pid
        self.circuit = circuit
        self.nshots = nshots
        self.device = device
        self.project = project

        self._status: QiboJobStatus | None = None
        self._status_text: str | None = None
        self.queue_position: int | None = None
        self.seconds_to_job_start: int | float | None = None
        self.queue_last_update: str | None = None
        self.info: JobInfo | None = None

        self.results_folder: Path | None = None
        self.results_path: Path | None = None

        self._transport = transport
        self._result_store = result_store
        self._renderer = renderer

    # -- adapters, resolved on first use ------------------------------------------

    @property
    def transport(self) -> Transport:
        if self._transport is None:
            from qibo_client.bootstrap import build_transport

            token = (self.headers or {}).get("x-api-token", "")
            self._transport = build_transport(self.base_url, token)
        return self._transport

    @property
    def result_store(self) -> ResultStore:
        if self._result_store is None:
            from qibo_client.bootstrap import build_result_store

            self._result_store = build_result_store()
        return self._result_store

    @property
    def renderer(self) -> Renderer:
        if self._renderer is None:
            from qibo_client.bootstrap import build_renderer

            self._renderer = build_renderer()
        return self._renderer

    # -- status ---------------------------------------------------------------------

    def _apply(self, info: JobInfo) -> QiboJobStatus | None:
        self.info = info
        self.circuit = info.circuit if info.circuit is not None else self.circuit
        self.nshots = info.nshots if info.nshots is not None else self.nshots
        self.device = info.device or self.device
        self.project = self.project or info.project
        self._status = info.job_status
        self._status_text = info.status
        self.queue_position = info.queue_position
        self.seconds_to_job_start = info.seconds_to_job_start
        self.queue_last_update = info.queue_last_update
        return self._status

    def refresh(self) -> QiboJobStatus:
        """Refresh job information from the server and return the current status.

        A status the client does not know gives ``None``.
        """
        return self._apply(self.transport.get_job(validate_pid(self.pid)))  # type: ignore[return-value]

    def status(self) -> QiboJobStatus:
        """Get the current job status (asks the server, like :meth:`refresh`)."""
        return self.refresh()

    def running(self) -> bool:
        """True if the job status is ``RUNNING``."""
        return self.status() is QiboJobStatus.RUNNING

    def success(self) -> bool:
        """True if the job completed successfully."""
        return self.status() is QiboJobStatus.SUCCESS

    # -- result ---------------------------------------------------------------------

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
    def _progress(self, verbose: bool) -> Iterator[_Progress]:
        """Show the job's progress for the ``with`` block; the display always closes.

        Ctrl-C inside it leaves the job on the server and says how to pick it up.
        """
        progress = _Progress(self, self.renderer if verbose else None)
        try:
            yield progress
        except KeyboardInterrupt:
            progress.close()
            self.renderer.show_message(
                f"Stopped waiting; job {self.pid} is still on the server. Pick it up with "
                f"client.get_job({self.pid!r}).result()",
                level="warning",
            )
            raise
        finally:
            progress.close()

    def _poll_until_final(
        self, wait: float, timeout: float | None, progress: _Progress
    ) -> QiboJobStatus | None:
        poller = JobPoller(self.transport, self.pid, PollPolicy(interval=max(float(wait), 0.0)))
        poller.until_final(poller.fetch_tolerant(), timeout=timeout, on_update=progress.update)
        return self._status

    def wait(
        self, wait: float = 0.5, verbose: bool = True, *, timeout: float | None = None
    ) -> QiboJobStatus | None:
        """Wait until the job is final (success or error) and return that status.

        ``wait`` is the number of seconds between status checks on servers
        without the long-poll extension. ``timeout`` bounds the wait and raises
        :class:`~qibo_client.exceptions.JobTimeoutError`; the job stays on the
        server either way, including after Ctrl-C.
        """
        validate_pid(self.pid)
        with self._progress(verbose) as progress:
            return self._poll_until_final(wait, timeout, progress)

    def result(
        self, wait: float = 0.5, verbose: bool = True, *, timeout: float | None = None
    ) -> Any:
        """Wait for the job to finish, then download, extract and return its result.

        Returns qibo's result object (what ``qibo.result.load_result`` gives),
        or ``None`` when the job ended in error (its logs are then in
        :attr:`results_folder`) or its archive could not be read. A result
        already stored completely is returned without asking the server again.
        """
        pid = validate_pid(self.pid)
        store = self.result_store
        if store.has_result(pid):
            self.results_folder = store.folder_for(pid)
            self.results_path = store.results_path(pid)
            self._status, self._status_text = QiboJobStatus.SUCCESS, "success"
            return store.load(pid)

        with self._progress(verbose) as progress:
            status = self._status
            if status is None or not status.is_final:  # a final status never changes again
                # Import and warm the loader while the job runs, not after it ends.
                threading.Thread(target=_quietly, args=(store.prepare,), daemon=True).start()
                status = self._poll_until_final(wait, timeout, progress)
            try:
                self.results_folder = self._download(pid, store)
            except IncompleteDownloadError:
                raise
            except UnsafeResultError as error:
                self.renderer.show_error(error)
                return None
            progress.results_folder = str(self.results_folder)

        if status is QiboJobStatus.ERROR:
            self.renderer.show_message(
                f"Job {pid} exited with error. Results folder: {self.results_folder}",
                level="error",
            )
            return None
        if not store.has_result(pid):
            self.renderer.show_message(
                f"Job {pid} succeeded but its archive holds no results file; "
                f"what it held is in {self.results_folder}",
                level="error",
            )
            return None
        self.results_path = store.results_path(pid)
        return store.load(pid)

    def _download(self, pid: str, store: ResultStore) -> Path:
        """Fetch and store the archive; a broken transfer is tried again a few times.

        The download is a plain GET, safe to repeat; the store keeps nothing of
        a failed attempt.
        """
        for attempt in range(1, DOWNLOAD_ATTEMPTS + 1):
            try:
                with self.transport.open_result(pid) as stream:
                    return store.save_archive(pid, stream)
            except (IncompleteDownloadError, QiboApiError) as error:
                transient = isinstance(error, IncompleteDownloadError) or (
                    error.status in TRANSIENT_STATUSES
                )
                if not transient or attempt == DOWNLOAD_ATTEMPTS:
                    raise
                time.sleep(min(2.0 ** (attempt - 1) * 0.25, 4.0))
        raise AssertionError("unreachable")  # pragma: no cover

    def delete(self) -> ServerResponse:
        """Delete the job from the server; returns the server's response."""
        return self.transport.delete_job(validate_pid(self.pid))

    def _fields(self) -> dict[str, Any]:
        status = self._status.name if self._status else (self._status_text or "unknown")
        fields: dict[str, Any] = {
            "pid": self.pid,
            "status": status,
            "device": self.device,
            "project": self.project,
            "base_url": self.base_url,
        }
        if self.queue_position is not None:
            fields["queue_position"] = self.queue_position
        if self.results_folder is not None:
            fields["results_folder"] = str(self.results_folder)
        return fields

    def __repr__(self) -> str:
        inner = ", ".join(
            f"{key}={value}" if key == "status" else f"{key}={value!r}"
            for key, value in self._fields().items()
        )
        return f"QiboJob({inner})"

    def __rich_repr__(self) -> Iterator[tuple[str, Any]]:
        """Fields for Rich's pretty printer (no import of rich needed)."""
        yield from self._fields().items()

    def _repr_html_(self) -> str:
        """A small table for Jupyter."""
        rows = "".join(
            f"<tr><th style='text-align:left'>{html.escape(key)}</th>"
            f"<td>{html.escape(str(value))}</td></tr>"
            for key, value in self._fields().items()
        )
        return f"<table><caption>QiboJob</caption>{rows}</table>"
