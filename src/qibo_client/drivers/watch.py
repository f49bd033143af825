"""Following jobs in the background until they end, for their done-callbacks.

``QiboJob.add_done_callback`` hands a job to its client's :class:`DoneWatcher`;
one thread follows every such job of the client with one job-list request per
round, and ends when none is left.
"""

from __future__ import annotations

import threading
from typing import Any, Protocol

from qibo_client.domain.deadline import Deadline
from qibo_client.domain.polling import PollPolicy
from qibo_client.domain.records import JobInfo
from qibo_client.drivers.sync import iter_completed
from qibo_client.exceptions import JobTimeoutError
from qibo_client.ports import Transport


class Followed(Protocol):
    """What the watcher needs of a job (a :class:`~qibo_client.QiboJob`)."""

    pid: str

    @property
    def transport(self) -> Transport: ...

    def update(self, info: JobInfo) -> Any: ...

    def _watch_failed(self, error: BaseException) -> None: ...


#: How long the watcher follows one set of jobs before taking in jobs added meanwhile.
ROUND_SECONDS = 5.0


def _update(jobs: dict[str, Followed]) -> Any:
    def update(info: JobInfo) -> None:
        job = jobs.get(info.pid)
        if job is not None:
            job.update(info)

    return update


class DoneWatcher:
    """Follows jobs that have done-callbacks until each is final, in one background thread.

    One watcher serves every job of a client (one job-list request per round);
    the thread ends when no job is left to follow.
    """

    def __init__(self, interval: float = 0.5) -> None:
        self._policy = PollPolicy(interval=interval)
        self._jobs: dict[str, Followed] = {}
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None

    def watch(self, job: Followed) -> None:
        with self._lock:
            self._jobs[job.pid] = job
            if self._thread is None or not self._thread.is_alive():
                self._thread = threading.Thread(
                    target=self._run, name="qibo-client-done-watcher", daemon=True
                )
                self._thread.start()

    def _run(self) -> None:
        while True:
            with self._lock:
                jobs = dict(self._jobs)
                if not jobs:
                    self._thread = None
                    return
            transport = next(iter(jobs.values())).transport
            try:
                # A round at a time: jobs added meanwhile join the next round.
                for info in iter_completed(
                    transport,
                    list(jobs),
                    self._policy,
                    Deadline.after(ROUND_SECONDS),
                    on_update=_update(jobs),
                ):
                    with self._lock:
                        self._jobs.pop(info.pid, None)
            except JobTimeoutError:
                continue
            except Exception as error:  # the server is gone: tell each job's waiters
                with self._lock:
                    failed, self._jobs = self._jobs, {}
                    self._thread = None
                for job in failed.values():
                    job._watch_failed(error)
                return
