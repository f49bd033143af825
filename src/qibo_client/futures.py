"""Many jobs at once, the way :mod:`concurrent.futures` waits on futures.

:func:`as_completed` and :func:`wait` behave like their ``concurrent.futures``
namesakes over :class:`~qibo_client.QiboJob` objects, with one job-list request
per polling round for all the jobs of one server (jobs of several servers are
followed side by side). :class:`DoneWatcher` is what makes
``QiboJob.add_done_callback`` fire without anyone polling by hand.
"""

from __future__ import annotations

import functools
import queue
import threading
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import ALL_COMPLETED, FIRST_COMPLETED, FIRST_EXCEPTION
from typing import TYPE_CHECKING, Any, NamedTuple

from qibo_client.domain.deadline import Deadline
from qibo_client.domain.polling import PollPolicy, poll_interval
from qibo_client.domain.progress import BatchTally
from qibo_client.domain.records import JobInfo
from qibo_client.domain.status import QiboJobStatus
from qibo_client.drivers.sync import iter_completed
from qibo_client.exceptions import JobTimeoutError
from qibo_client.ports import Renderer, Transport

if TYPE_CHECKING:
    from qibo_client.qibo_job import QiboJob

__all__ = [
    "ALL_COMPLETED",
    "FIRST_COMPLETED",
    "FIRST_EXCEPTION",
    "DoneAndNotDone",
    "as_completed",
    "wait",
]


class DoneAndNotDone(NamedTuple):
    """What :func:`wait` returns: the jobs that are final, and the rest."""

    done: set[QiboJob]
    not_done: set[QiboJob]


def _by_transport(jobs: Iterable[QiboJob]) -> list[tuple[Transport, dict[str, QiboJob]]]:
    groups: dict[int, tuple[Transport, dict[str, QiboJob]]] = {}
    for job in jobs:
        transport = job.transport
        groups.setdefault(id(transport), (transport, {}))[1][job.pid] = job
    return list(groups.values())


def _follow(
    transport: Transport,
    jobs: dict[str, QiboJob],
    policy: PollPolicy,
    deadline: Deadline,
    timeout: float | None,
    seen: Callable[[JobInfo], None],
) -> Iterator[QiboJob]:
    def update(info: JobInfo) -> None:
        job = jobs.get(info.pid)
        if job is not None:
            job.update(info)
        seen(info)

    for info in iter_completed(
        transport, list(jobs), policy, deadline, timeout=timeout, on_update=update
    ):
        yield jobs[info.pid]


def _merged(streams: list[Callable[[], Iterator[QiboJob]]]) -> Iterator[QiboJob]:
    """Run several job streams in threads and yield from all of them as jobs finish."""
    if len(streams) == 1:
        yield from streams[0]()
        return
    finished: queue.Queue[tuple[str, Any]] = queue.Queue()

    def pump(stream: Callable[[], Iterator[QiboJob]]) -> None:
        try:
            for job in stream():
                finished.put(("job", job))
        except BaseException as error:  # handed to the caller's thread below
            finished.put(("error", error))
        finally:
            finished.put(("end", None))

    threads = [threading.Thread(target=pump, args=(s,), daemon=True) for s in streams]
    for thread in threads:
        thread.start()
    running = len(threads)
    while running:
        kind, value = finished.get()
        if kind == "job":
            yield value
        elif kind == "error":
            raise value
        else:
            running -= 1


def as_completed(
    jobs: Iterable[QiboJob],
    timeout: float | None = None,
    *,
    wait: float | None = 0.5,
    verbose: bool = False,
    renderer: Renderer | None = None,
) -> Iterator[QiboJob]:
    """Yield the jobs as they become final (success, error or cancelled), earliest first.

    Raises :class:`~qibo_client.exceptions.JobTimeoutError` (a ``TimeoutError``)
    when ``timeout`` passes with jobs left; those stay on the server. With
    ``verbose``, one progress display follows the batch (``renderer``, else
    the first job's).
    """
    ordered = list(dict.fromkeys(jobs))
    policy = PollPolicy(interval=poll_interval(wait))
    deadline = Deadline.after(timeout)
    tally = BatchTally([job.pid for job in ordered])
    shows = renderer or (ordered[0].renderer if verbose and ordered else None)
    view = shows.start_batch(tally.snapshot()) if verbose and shows and ordered else None
    lock = threading.Lock()

    def seen(info: JobInfo) -> None:
        with lock:
            if tally.update(info) and view is not None:
                view.update(tally.snapshot())

    already = [job for job in ordered if job.info is not None and job.info.is_final]
    for job in already:
        seen(job.info)  # type: ignore[arg-type]
    pending = [job for job in ordered if job not in already]
    streams: list[Callable[[], Iterator[QiboJob]]] = [
        functools.partial(_follow, transport, group, policy, deadline, timeout, seen)
        for transport, group in _by_transport(pending)
    ]
    try:
        yield from already
        if streams:
            yield from _merged(streams)
    finally:
        if view is not None:
            view.finish(tally.snapshot())


def _failed(job: QiboJob) -> bool:
    return job.cancelled() or job._status is QiboJobStatus.ERROR


def wait(
    jobs: Iterable[QiboJob],
    timeout: float | None = None,
    return_when: str = ALL_COMPLETED,
    *,
    poll: float | None = 0.5,
) -> DoneAndNotDone:
    """Wait for the jobs like :func:`concurrent.futures.wait`; ``(done, not_done)`` sets.

    ``return_when`` is ``FIRST_COMPLETED``, ``FIRST_EXCEPTION`` (the first job
    ending in error or cancelled; else all) or ``ALL_COMPLETED``. A timeout
    returns what is done by then, without raising; no job is touched.
    """
    if return_when not in (FIRST_COMPLETED, FIRST_EXCEPTION, ALL_COMPLETED):
        raise ValueError(
            f"return_when must be FIRST_COMPLETED, FIRST_EXCEPTION or ALL_COMPLETED, "
            f"got {return_when!r}"
        )
    pending = set(dict.fromkeys(jobs))
    done: set[QiboJob] = set()
    try:
        for job in as_completed(pending, timeout, wait=poll):
            done.add(job)
            if return_when == FIRST_COMPLETED or (return_when == FIRST_EXCEPTION and _failed(job)):
                break
    except JobTimeoutError:
        pass
    return DoneAndNotDone(done, pending - done)
