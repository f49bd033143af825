"""The asyncio driver: the blocking driver's twin, awaiting instead of blocking.

:func:`wait_until_final` and :func:`iter_completed` carry out exactly the
decisions of :class:`~qibo_client.domain.polling.PollPolicy` that
:mod:`qibo_client.drivers.sync` carries out, against an
:class:`~qibo_client.ports.async_transport.AsyncTransport`; neither repeats a
failed request. :class:`BlockingPool` runs the blocking work an event loop
must not do (a result store, an in-process server) in a bounded set of threads.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import itertools
import threading
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from typing import Any, TypeVar

from qibo_client.domain.deadline import Deadline
from qibo_client.domain.polling import PollPolicy, timeout_error
from qibo_client.domain.records import JobInfo
from qibo_client.drivers.sync import list_windows
from qibo_client.exceptions import DeadlineExceededError, TransientError
from qibo_client.ports.async_transport import AsyncTransport

T = TypeVar("T")

#: Every thread a pool of ours starts is named ``qibo-client-<name>-<n>_<k>``.
THREAD_PREFIX = "qibo-client-"
_numbers = itertools.count(1)


async def wait_until_final(
    transport: AsyncTransport,
    pid: str,
    policy: PollPolicy,
    deadline: Deadline,
    *,
    timeout: float | None = None,
    first: JobInfo | None = None,
    on_update: Callable[[JobInfo], None] = lambda info: None,
    sleep: Callable[[float], Awaitable[object]] = asyncio.sleep,
) -> JobInfo:
    """Ask about ``pid`` until its status is final, and return that answer (the async driver).

    As :func:`qibo_client.drivers.sync.wait_until_final`: raises
    :class:`JobTimeoutError` when ``deadline`` passes (the job stays on the
    server) and lets every other error of the transport through.
    """
    info = first
    try:
        if info is None:
            info = await transport.get_job(pid, deadline=deadline.at)
        on_update(info)
        while not info.is_final:
            ask = policy.next_ask(
                long_poll=transport.supports_long_poll, remaining=deadline.remaining()
            )
            if ask is None:
                raise timeout_error(pid, timeout, info)
            if ask.pause > 0:
                await sleep(ask.pause)
            info = await transport.get_job(
                pid, hold=ask.hold, known_status=info.status, deadline=deadline.at
            )
            on_update(info)
    except DeadlineExceededError:
        raise timeout_error(pid, timeout, info) from None
    return info


async def iter_completed(
    transport: AsyncTransport,
    pids: Iterable[str],
    policy: PollPolicy,
    deadline: Deadline,
    *,
    timeout: float | None = None,
    on_update: Callable[[JobInfo], None] = lambda info: None,
    sleep: Callable[[float], Awaitable[object]] = asyncio.sleep,
) -> AsyncIterator[JobInfo]:
    """Yield each job's answer once its status is final, earliest first (job lists by window).

    As :func:`qibo_client.drivers.sync.iter_completed`, round for round.
    """
    pending: dict[str, JobInfo | None] = dict.fromkeys(pids)
    try:
        while pending:
            by_pid = transport.lists_by_pid
            for window in list_windows(list(pending), by_pid):
                if by_pid:
                    answers = await transport.list_jobs(deadline=deadline.at, pids=window)
                else:
                    answers = await transport.list_jobs(deadline=deadline.at)
                listed = {info.pid: info for info in answers}
                ended = 0
                for pid in window:
                    answer = listed.get(pid) or await transport.get_job(pid, deadline=deadline.at)
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
                # As the sync driver: hold one request on the oldest pending job instead of
                # sleeping; its failure is not repeated here, the next round's list decides.
                pid, last = next(iter(pending.items()))
                with contextlib.suppress(TransientError):
                    on_update(
                        await transport.get_job(
                            pid,
                            hold=ask.hold,
                            known_status=last.status if last else None,
                            deadline=deadline.at,
                        )
                    )
            elif ask.pause > 0:
                await sleep(ask.pause)
    except DeadlineExceededError:
        pid, last = next(iter(pending.items()))
        raise timeout_error(pid, timeout, last) from None


class BlockingPool:
    """A bounded pool of threads for blocking calls, awaited from the event loop.

    Threads start only when work arrives. :meth:`aclose` lets running calls
    finish, drops queued ones, and returns once every thread of the pool has
    ended, without blocking the loop while it waits.
    """

    def __init__(self, name: str, max_workers: int) -> None:
        if isinstance(max_workers, bool) or not isinstance(max_workers, int) or max_workers < 1:
            raise ValueError(f"max_workers must be a whole number >= 1, got {max_workers!r}")
        self.max_workers = max_workers
        self._prefix = f"{THREAD_PREFIX}{name}-{next(_numbers)}"
        self._executor: ThreadPoolExecutor | None = None
        self._closed = False
        self._lock = threading.Lock()

    def _pool(self) -> ThreadPoolExecutor:
        with self._lock:
            if self._closed:
                raise RuntimeError("this client was closed; open a new one")
            if self._executor is None:
                self._executor = ThreadPoolExecutor(self.max_workers, self._prefix)
            return self._executor

    async def run(self, function: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        """``function(*args, **kwargs)`` in one of the pool's threads."""
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(
            self._pool(), functools.partial(function, *args, **kwargs)
        )

    def threads(self) -> list[threading.Thread]:
        """The pool's threads still alive."""
        return [t for t in threading.enumerate() if t.name.startswith(self._prefix + "_")]

    async def aclose(self, poll: float = 0.01) -> None:
        """Stop taking work and wait, without blocking the loop, until every thread has ended."""
        with self._lock:
            executor, self._executor, self._closed = self._executor, None, True
        if executor is None:
            return
        executor.shutdown(wait=False, cancel_futures=True)
        while self.threads():
            await asyncio.sleep(poll)
        executor.shutdown(wait=True)  # nothing left to wait for: only tidies up
