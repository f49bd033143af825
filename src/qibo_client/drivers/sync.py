"""The blocking driver: carries out the poll policy's decisions against a transport.

:func:`wait_until_final` follows one job; :func:`iter_completed` many, with
one job-list request per round (of only the jobs it waits for, when the
server can filter), yielding them as they finish like
:func:`concurrent.futures.as_completed`. Both only do what
:class:`~qibo_client.domain.polling.PollPolicy` decides; neither repeats a
failed request (the transport does, inside the deadline).
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable, Iterable, Iterator

from qibo_client.domain.deadline import Deadline
from qibo_client.domain.polling import PollPolicy, timeout_error
from qibo_client.domain.records import JobInfo
from qibo_client.exceptions import DeadlineExceededError, TransientError
from qibo_client.ports import Transport
from qibo_client.protocol.wire import MAX_LIST_PIDS

#: The most pending jobs a round asks about at a time by pid, and the first window's size.
LIST_WINDOW = MAX_LIST_PIDS
FIRST_LIST_WINDOW = 8


def list_windows(pending: list[str], by_pid: bool) -> Iterator[list[str]]:
    """The pids a round asks about, a window at a time, oldest first.

    With a transport that lists by pid, a window of :data:`FIRST_LIST_WINDOW`
    jobs, then each twice the last, up to :data:`LIST_WINDOW`; the caller stops
    at the first window in which no job ended. Jobs end about in queue order,
    so a round costs about the jobs that ended plus a few, however many jobs
    are followed: following N jobs is linear in N. Otherwise, one window of
    every pending job (the transport lists them all anyway).
    """
    if not by_pid:
        yield pending
        return
    start, size = 0, FIRST_LIST_WINDOW
    while start < len(pending):
        yield pending[start : start + size]
        start += size
        size = min(size * 2, LIST_WINDOW)


def wait_until_final(
    transport: Transport,
    pid: str,
    policy: PollPolicy,
    deadline: Deadline,
    *,
    timeout: float | None = None,
    first: JobInfo | None = None,
    on_update: Callable[[JobInfo], None] = lambda info: None,
    sleep: Callable[[float], None] = time.sleep,
) -> JobInfo:
    """Ask about ``pid`` until its status is final, and return that answer (the sync driver).

    Starts from ``first`` when given, else asks once. Raises
    :class:`JobTimeoutError` when ``deadline`` passes (the job stays on the
    server) and lets every other error of the transport through.
    """
    info = first
    try:
        if info is None:
            info = transport.get_job(pid, deadline=deadline.at)
        on_update(info)
        while not info.is_final:
            ask = policy.next_ask(
                long_poll=transport.supports_long_poll, remaining=deadline.remaining()
            )
            if ask is None:
                raise timeout_error(pid, timeout, info)
            if ask.pause > 0:
                sleep(ask.pause)
            info = transport.get_job(
                pid, hold=ask.hold, known_status=info.status, deadline=deadline.at
            )
            on_update(info)
    except DeadlineExceededError:
        raise timeout_error(pid, timeout, info) from None
    return info


def iter_completed(
    transport: Transport,
    pids: Iterable[str],
    policy: PollPolicy,
    deadline: Deadline,
    *,
    timeout: float | None = None,
    on_update: Callable[[JobInfo], None] = lambda info: None,
    sleep: Callable[[float], None] = time.sleep,
) -> Iterator[JobInfo]:
    """Yield each job's answer once its status is final (success or error), earliest first.

    ``on_update`` sees every answer, final or not. Each round lists the pending
    jobs a window at a time (:func:`list_windows`): a job beyond the windows
    asked is seen in a later round. Jobs missing from the job list (deleted
    meanwhile) are asked about one by one, so a vanished job ends in the
    server's own error rather than a silent wait. Raises
    :class:`~qibo_client.exceptions.JobTimeoutError` for the first job still
    unfinished when ``deadline`` passes.
    """
    pending: dict[str, JobInfo | None] = dict.fromkeys(pids)
    try:
        while pending:
            by_pid = transport.lists_by_pid
            for window in list_windows(list(pending), by_pid):
                if by_pid:
                    answers = transport.list_jobs(deadline=deadline.at, pids=window)
                else:
                    answers = transport.list_jobs(deadline=deadline.at)
                listed = {info.pid: info for info in answers}
                ended = 0
                for pid in window:
                    answer = listed.get(pid) or transport.get_job(pid, deadline=deadline.at)
                    pending[pid] = answer
                    on_update(answer)
                    if answer.is_final:
                        del pending[pid]
                        ended += 1
                        yield answer
                if not ended:
                    break
            if not pending:
                return
            ask = policy.next_ask(
                long_poll=transport.supports_long_poll, remaining=deadline.remaining()
            )
            if ask is None:
                pid, last = next(iter(pending.items()))
                raise timeout_error(pid, timeout, last)
            if ask.hold > 0:
                # Hold one request on the oldest pending job instead of sleeping: the round
                # ends as soon as it moves on (finishing jobs move on in queue order). Its
                # failure is not repeated here: the next round's job list decides.
                pid, last = next(iter(pending.items()))
                with contextlib.suppress(TransientError):
                    on_update(
                        transport.get_job(
                            pid,
                            hold=ask.hold,
                            known_status=last.status if last else None,
                            deadline=deadline.at,
                        )
                    )
            elif ask.pause > 0:
                sleep(ask.pause)
    except DeadlineExceededError:
        pid, last = next(iter(pending.items()))
        raise timeout_error(pid, timeout, last) from None
