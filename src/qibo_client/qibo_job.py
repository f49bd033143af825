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
import logging
import threading
import weakref
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

from qibo_client import job_display, job_results
from qibo_client.domain.deadline import Deadline
from qibo_client.domain.polling import PollPolicy, poll_interval, timeout_error
from qibo_client.domain.records import JobDeletion, JobInfo, StoredResult
from qibo_client.domain.status import QiboJobStatus, convert_str_to_job_status
from qibo_client.drivers.sync import wait_until_final
from qibo_client.exceptions import (
    DeadlineExceededError,
    IncompleteDownloadError,
    JobCancelledError,
    JobFailedError,
    QiboApiError,
    TransientError,
    UnsafeResultError,
)
from qibo_client.job_progress import JobProgress, following
from qibo_client.ports import Renderer, ResultStore, Transport
from qibo_client.protocol.readers import validate_pid
from qibo_client.protocol.wire import TOKEN_HEADER

if TYPE_CHECKING:
    from qibo_client.bootstrap import Adapters

__all__ = ["QiboJob", "QiboJobStatus", "convert_str_to_job_status"]


def _quietly(action: Callable[[], object]) -> None:
    """Run a best-effort background step; its failure shows up later, where it matters."""
    with contextlib.suppress(Exception):
        action()


#: The result stores whose loader is warmed already (or being warmed).
_warmed: weakref.WeakSet[ResultStore] = weakref.WeakSet()


def _warm_once(store: ResultStore) -> None:
    """Import and warm ``store``'s loader in the background, once per store."""
    try:
        if store in _warmed:
            return
        _warmed.add(store)
    except TypeError:  # a store that cannot be weakly referenced: warm it every time
        pass
    threading.Thread(target=_quietly, args=(store.prepare,), daemon=True).start()


def _call_back(fn: Callable[[QiboJob], object], job: QiboJob) -> None:
    try:
        fn(job)
    except Exception:
        logging.getLogger("qibo_client").exception("a done-callback of job %s raised", job.pid)


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
        adapters: Adapters | None = None,
    ) -> None:
        self.base_url = base_url
        self.headers = headers
        self.pid = pid
        self.circuit = circuit
        self.nshots = nshots
        self.device = device
        self.project = project
        #: What this client sent, which bounds the result's size whatever the server says.
        self._sent = (circuit, nshots)

        self._status: QiboJobStatus | None = None
        self._status_text: str | None = None
        #: The server's latest answer about this job (``None`` before the first).
        self.info: JobInfo | None = None

        self._results_folder: Path | None = None
        self._results_path: Path | None = None
        #: The result was handed over in memory (an in-process server) and not yet stored.
        self._unsaved = False

        self._given = (transport, result_store, renderer)
        self._adapters: Adapters | None = adapters
        self._callbacks: list[Callable[[QiboJob], object]] = []
        self._callbacks_lock = threading.Lock()
        self._callbacks_fired = False

    @property
    def _token(self) -> str | None:
        """The user's token, from :attr:`headers`: masked wherever a server echoes it."""
        return (self.headers or {}).get(TOKEN_HEADER)

    # -- adapters: the client's, or wired once from the URL and headers -----------

    def _wired(self) -> Adapters:
        if self._adapters is None:
            from qibo_client.bootstrap import wire

            transport, result_store, renderer = self._given
            token = (self.headers or {}).get(TOKEN_HEADER, "")
            self._adapters = wire(
                self.base_url,
                token,
                transport=transport,
                result_store=result_store,
                renderer=renderer,
            )
        return self._adapters

    @property
    def transport(self) -> Transport:
        return self._wired().transport

    @property
    def result_store(self) -> ResultStore:
        return self._wired().result_store

    @property
    def renderer(self) -> Renderer:
        return self._wired().renderer

    # -- status ---------------------------------------------------------------------

    def update(self, info: JobInfo) -> QiboJobStatus | None:
        """Take in an answer about this job the caller already has (from a job list, say).

        No request is made; returns the status it gives (``None`` if unknown).
        """
        self.info = info
        self.circuit = info.circuit if info.circuit is not None else self.circuit
        self.nshots = info.nshots if info.nshots is not None else self.nshots
        self.device = info.device or self.device
        self.project = self.project or info.project
        self._status = info.job_status
        self._status_text = info.status
        if info.is_final:
            self._fire_callbacks()
        return self._status

    @property
    def queue_position(self) -> int | None:
        """The job's place in the server's queue, when it is queued and the server says."""
        return self.info.queue_position if self.info else None

    @property
    def seconds_to_job_start(self) -> float | int | None:
        """The server's estimate of seconds until the job starts, when it says."""
        return self.info.seconds_to_job_start if self.info else None

    @property
    def transpiled_circuit(self) -> str | None:
        """The circuit as the server ran it, transpiled for its device, when it says."""
        return self.info.transpiled_circuit if self.info else None

    @property
    def queue_last_update(self) -> str | None:
        """When the server last updated the queue information (ISO 8601)."""
        return self.info.queue_last_update if self.info else None

    def refresh(self) -> QiboJobStatus:
        """Refresh job information from the server and return the current status.

        A status the client does not know gives ``None``.
        """
        return self.update(self.transport.get_job(validate_pid(self.pid)))  # type: ignore[return-value]

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

    @property
    def status_text(self) -> str | None:
        """The status as the server last spelled it (also one the client does not know)."""
        return self._status_text

    def _wait_final(
        self, wait: float | None, deadline: Deadline, timeout: float | None, progress: JobProgress
    ) -> QiboJobStatus | None:
        policy = PollPolicy(interval=poll_interval(wait))
        wait_until_final(
            self.transport, self.pid, policy, deadline, timeout=timeout, on_update=progress.update
        )
        return self._status

    def wait(
        self, wait: float | None = 0.5, verbose: bool = True, *, timeout: float | None = None
    ) -> QiboJobStatus | None:
        """Wait until the job is final (success or error) and return that status.

        ``wait`` is the number of seconds between status checks on servers
        without the long-poll extension. ``timeout`` bounds the whole wait and
        raises :class:`~qibo_client.exceptions.JobTimeoutError`; the job stays
        on the server either way, including after Ctrl-C.
        """
        validate_pid(self.pid)
        deadline = Deadline.after(timeout)
        with following(self, verbose) as progress:
            return self._wait_final(wait, deadline, timeout, progress)

    def result(
        self, wait: float | None = 0.5, verbose: bool = True, *, timeout: float | None = None
    ) -> Any:
        """Wait for the job to finish, then download, extract and return its result.

        Returns qibo's result object (what ``qibo.result.load_result`` gives),
        or ``None`` when the job ended in error (its logs are then in
        :attr:`results_folder`) or its archive could not be read. A result
        already stored completely is returned without asking the server again.
        ``wait=None`` pauses ``$SECONDS_BETWEEN_CHECKS`` seconds (default 2)
        between checks, as the published client does. ``timeout`` bounds
        everything: the status requests, their retries, and the download.
        """
        pid = validate_pid(self.pid)
        deadline = Deadline.after(timeout)
        if not verbose and (self._status is None or self._status is QiboJobStatus.SUCCESS):
            held = self.transport.held_result(pid)  # an in-process server's own object
            if held is not None:
                self._status, self._status_text = QiboJobStatus.SUCCESS, "success"
                self._unsaved = self._results_folder is None
                return held
        store = self.result_store
        stored = store.lookup(self.base_url, pid)
        if stored is not None and stored.result_file is not None:
            self._keep(stored)
            self._status, self._status_text = QiboJobStatus.SUCCESS, "success"
            return store.load(stored)

        with following(self, verbose) as progress:
            status = self._status
            if status is None or not status.is_final:  # a final status never changes again
                _warm_once(store)  # import and warm the loader while the job runs
                status = self._wait_final(wait, deadline, timeout, progress)
            if status is QiboJobStatus.SUCCESS:
                held = self.transport.held_result(pid)  # an in-process server's own object
                if held is not None:
                    self._unsaved = self._results_folder is None
                    return held
            if self._wired().inline_results_only:
                return job_results.inline_result(self, status)
            try:
                stored = job_results.download(self, store, deadline)
            except DeadlineExceededError:
                raise timeout_error(pid, timeout, self.info) from None
            except IncompleteDownloadError:
                raise
            except UnsafeResultError as error:
                self.renderer.show_error(error)
                return None
            except QiboApiError as error:
                if error.status not in job_results.NO_DOWNLOAD_STATUSES or isinstance(
                    error, TransientError
                ):
                    raise
                # A server of the 0.3 generation: the result is in the job object.
                self._wired().inline_results_only = True
                return job_results.inline_result(self, status)
            self._keep(stored)
            progress.results_folder = str(stored.folder)

        if not job_results.usable(pid, status, stored, self.info, self.renderer, self._token):
            return None
        return store.load(stored)

    def frequencies(
        self, wait: float | None = 0.5, verbose: bool = True, *, timeout: float | None = None
    ) -> dict[str, int] | None:
        """The job's measured counts (``{bitstring: count}``), waiting for it to finish.

        Taken from the job object when the server sends them inline, so a
        sampling job whose counts are all that is needed downloads nothing
        more; otherwise from the downloaded result. ``None`` when the job failed.
        """
        validate_pid(self.pid)
        deadline = Deadline.after(timeout)
        if self._status is None or not self._status.is_final:
            with following(self, verbose) as progress:
                self._wait_final(wait, deadline, timeout, progress)
        if self._status is QiboJobStatus.ERROR:
            return None
        if self.info is not None and self.info.frequencies is not None:
            from qibo_client.results.frequencies import checked_counts

            return checked_counts(self.info.frequencies)
        result = self.result(wait, verbose=False, timeout=deadline.remaining())
        if result is None:
            return None
        return {str(key): int(value) for key, value in result.frequencies().items()}

    def _keep(self, stored: StoredResult) -> None:
        self._results_folder = stored.folder
        self._results_path = stored.result_file
        self._unsaved = False

    @property
    def results_folder(self) -> Path | None:
        """The folder holding the job's downloaded result (``None`` before :meth:`result`).

        A result an in-process server handed over in memory is stored there
        the first time this (or :attr:`results_path`) is read.
        """
        self._store_handed_over()
        return self._results_folder

    @results_folder.setter
    def results_folder(self, folder: Path | None) -> None:
        self._results_folder = folder

    @property
    def results_path(self) -> Path | None:
        """The result file in :attr:`results_folder` (``None`` when there is none)."""
        self._store_handed_over()
        return self._results_path

    @results_path.setter
    def results_path(self, path: Path | None) -> None:
        self._results_path = path

    def _store_handed_over(self) -> None:
        if not self._unsaved:
            return
        self._unsaved = False
        try:
            self._keep(job_results.download(self, self.result_store, Deadline.after(None)))
        except (QiboApiError, OSError, UnsafeResultError) as error:
            self.renderer.show_message(
                f"The result of job {self.pid} could not be stored: {error}", level="warning"
            )

    # -- like concurrent.futures.Future ------------------------------------------------

    def done(self) -> bool:
        """True once the job is final (success, error or cancelled); asks the server if not known."""
        if not (self.info is not None and self.info.is_final):
            self.refresh()
        return self.info is not None and self.info.is_final

    def cancelled(self) -> bool:
        """True if the job was cancelled (by :meth:`cancel` or on the server)."""
        return self.info is not None and self.info.cancelled

    def cancel(self) -> bool:
        """Stop the job on the server: taken off the queue, or its run stopped.

        Returns True when the server took the request (extension ``cancel``);
        the job then ends cancelled, as ``ERROR`` for clients that know no
        better. False when the job is already final or the server lacks the
        extension (then it says so, and the job runs on: :meth:`delete` removes it).
        """
        pid = validate_pid(self.pid)
        if self.done():
            return False
        if not self.transport.cancel_job(pid):
            self.renderer.show_message(
                f"The server at {self.base_url} cannot cancel jobs; job {pid} keeps running "
                "(job.delete() removes it)",
                level="warning",
            )
            return False
        self.refresh()
        return True

    def exception(self, timeout: float | None = None) -> BaseException | None:
        """Wait for the job; ``None`` if it succeeded, a :class:`JobFailedError` if it failed.

        Raises :class:`JobCancelledError` for a cancelled job and
        :class:`~qibo_client.exceptions.JobTimeoutError` when ``timeout``
        passes (the job stays on the server).
        """
        if not (self.info is not None and self.info.is_final):
            self.wait(verbose=False, timeout=timeout)
        if self.cancelled():
            raise JobCancelledError(self.pid)
        if self._status is QiboJobStatus.ERROR:
            info = self.info
            return JobFailedError(
                self.pid, info.stdout if info else None, info.stderr if info else None
            )
        return None

    def add_done_callback(self, fn: Callable[[QiboJob], object]) -> None:
        """Call ``fn(job)`` once the job is final: at once if it is, else when it becomes so.

        Callbacks run once each, in the order added, in whichever thread sees
        the job end (a background watcher follows it meanwhile); an exception
        in one is logged and does not stop the others.
        """
        with self._callbacks_lock:
            if not self._callbacks_fired:
                self._callbacks.append(fn)
                pending = True
            else:
                pending = False
        if not pending:
            _call_back(fn, self)
        elif self.info is not None and self.info.is_final:
            self._fire_callbacks()
        else:
            self._wired().done_watcher().watch(self)

    def _fire_callbacks(self) -> None:
        with self._callbacks_lock:
            if self._callbacks_fired:
                return
            self._callbacks_fired = True
            callbacks, self._callbacks = self._callbacks, []
        for fn in callbacks:
            _call_back(fn, self)

    def _watch_failed(self, error: BaseException) -> None:
        """The background watcher could not follow this job: say so once."""
        self.renderer.show_message(
            f"Stopped following job {self.pid} for its done-callbacks: {error}", level="warning"
        )

    def to_record(self) -> dict[str, Any]:
        """A small JSON-able record of this job (no token): keep it to come back later.

        ``client.job_from_record(record)`` (or ``client.get_job(record["pid"])``)
        re-attaches to the job from a new process, e.g. after a kernel restart.
        """
        return {
            "pid": self.pid,
            "url": self.base_url,
            "device": self.device,
            "project": self.project,
            "nshots": self.nshots,
        }

    def delete(self, *, keep_local: bool = False) -> Any:
        """Delete the job from the server, and its stored result unless ``keep_local``.

        Returns the server's response: over HTTP the ``requests.Response``, as
        in 0.2.x; other transports return a
        :class:`~qibo_client.domain.records.JobDeletion`.
        """
        pid = validate_pid(self.pid)
        store = None if keep_local else self.result_store  # built before anything is deleted
        deletion: JobDeletion = self.transport.delete_job(pid)
        if store is not None:
            store.forget(self.base_url, pid)
        return deletion.response if deletion.response is not None else deletion

    # -- how a job shows itself --------------------------------------------------------

    def __repr__(self) -> str:
        return job_display.text(self)

    def __rich_repr__(self) -> Iterator[tuple[str, Any]]:
        """Fields for Rich's pretty printer (no import of rich needed)."""
        yield from job_display.fields(self).items()

    def _repr_html_(self) -> str:
        """A small table for Jupyter."""
        return job_display.html_table(self)
