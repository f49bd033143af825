"""Waiting on many jobs at once: one request for the whole job list per round.

Following N jobs one by one costs N requests per poll; the job list answers
for all of them in one. :func:`iter_completed` yields jobs in the order they
finish, like :func:`concurrent.futures.as_completed`.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable, Iterable, Iterator
from typing import TYPE_CHECKING

from qibo_client.domain.polling import LONG_POLL_WINDOW, TRANSIENT_STATUSES, PollPolicy
from qibo_client.exceptions import JobTimeoutError, QiboApiError
from qibo_client.ports import Transport

if TYPE_CHECKING:
    from qibo_client.qibo_job import QiboJob


def iter_completed(
    transport: Transport,
    jobs: Iterable[QiboJob],
    policy: PollPolicy,
    *,
    timeout: float | None = None,
    clock: Callable[[], float] = time.monotonic,
    sleep: Callable[[float], None] = time.sleep,
) -> Iterator[QiboJob]:
    """Yield each job once its status is final (success or error), earliest first.

    Jobs missing from the job list (deleted meanwhile) are asked about one by
    one, so a vanished job ends in the server's own 404 error rather than a
    silent wait. Raises :class:`JobTimeoutError` for the first job still
    unfinished when ``timeout`` passes.
    """
    pending = {job.pid: job for job in jobs}
    deadline = None if timeout is None else clock() + timeout
    failures = 0
    while pending:
        try:
            listed = {info.pid: info for info in transport.list_jobs()}
        except QiboApiError as error:
            failures += 1
            if error.status not in TRANSIENT_STATUSES or failures > policy.max_transient_failures:
                raise
            sleep(policy.backoff(failures))
            continue
        failures = 0
        for pid, job in list(pending.items()):
            info = listed.get(pid) or transport.get_job(pid)
            job._apply(info)
            if info.is_final:
                del pending[pid]
                yield job
        if not pending:
            return
        if deadline is not None and clock() >= deadline:
            job = next(iter(pending.values()))
            raise JobTimeoutError(job.pid, float(timeout or 0), job._status_text)
        remaining = None if deadline is None else max(deadline - clock(), 0.0)
        if transport.supports_long_poll:
            # Hold one request on a pending job instead of sleeping: the round ends
            # as soon as that job moves on (finishing jobs move on in queue order).
            oldest = next(iter(pending.values()))
            window = LONG_POLL_WINDOW if remaining is None else min(LONG_POLL_WINDOW, remaining)
            with contextlib.suppress(QiboApiError):  # the next round's list decides
                oldest._apply(
                    transport.get_job(oldest.pid, wait=window, known_status=oldest._status_text)
                )
            continue
        sleep(policy.interval if remaining is None else min(policy.interval, remaining))
