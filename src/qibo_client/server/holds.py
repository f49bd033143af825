"""Held long-polls (extension ``long-poll``): in threads of their own, a few per user at once.

Each held request waits in a thread for its job to change. One user's many
long-polls must not keep another user's waiting for a thread, so each user
holds at most ``per_user`` at once; the rest of that user's wait their turn
without a thread (an asyncio wait), and answer with the job as it is when
their time is up. Everything is let go at once when the server stops.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import TypeVar

import anyio
import anyio.to_thread
from starlette.concurrency import run_in_threadpool

T = TypeVar("T")

#: Threads reserved for held long-poll requests, apart from the pool every other call uses.
LONG_POLL_THREADS = 256
#: Long-polls one user may hold in threads at once.
LONG_POLLS_PER_USER = 32


class HeldRequests:
    """The long-polls being held: run in their own thread pool, and let go at once on shutdown.

    Once :meth:`release` is called (by ``serve`` when asked to stop), every held
    request answers the job as it is now, and new ones do not wait.
    """

    def __init__(
        self, threads: int = LONG_POLL_THREADS, per_user: int = LONG_POLLS_PER_USER
    ) -> None:
        self.threads = threads
        self.per_user = per_user
        self.released = False
        self._loop: asyncio.AbstractEventLoop | None = None
        self._event: asyncio.Event | None = None
        self._limiter: anyio.CapacityLimiter | None = None
        self._users: dict[str, anyio.CapacityLimiter] = {}

    async def run(
        self, hold: Callable[[float], T], now: Callable[[], T], user: str, wait: float
    ) -> T:
        """``hold(seconds)`` in a worker thread, within ``wait`` seconds in all; ``now()``
        instead if the server is released, or if ``user``'s turn does not come in time."""
        loop = asyncio.get_running_loop()
        if self._loop is not loop or self._event is None or self._limiter is None:
            self._loop, self._event = loop, asyncio.Event()
            self._limiter = anyio.CapacityLimiter(self.threads)
            self._users = {}
            if self.released:
                self._event.set()
        if self.released:
            return await run_in_threadpool(now)
        deadline = loop.time() + wait
        turn = self._users.setdefault(user, anyio.CapacityLimiter(self.per_user))
        got_turn = False
        try:
            with anyio.move_on_after(wait):
                await turn.acquire()
                got_turn = True
            left = deadline - loop.time()
            if got_turn and left > 0 and not self.released:
                return await self._held(hold, left, now)
        finally:
            if got_turn:
                turn.release()
            if turn.borrowed_tokens == 0 and not turn.statistics().tasks_waiting:
                self._users.pop(user, None)
        return await run_in_threadpool(now)

    async def _held(self, hold: Callable[[float], T], seconds: float, now: Callable[[], T]) -> T:
        assert self._event is not None and self._limiter is not None
        held = asyncio.ensure_future(
            anyio.to_thread.run_sync(hold, seconds, limiter=self._limiter, abandon_on_cancel=True)
        )
        released = asyncio.ensure_future(self._event.wait())
        try:
            await asyncio.wait({held, released}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            released.cancel()
        if held.done():
            return held.result()
        held.cancel()  # the thread is left to end on its own (the core is closing)
        return await run_in_threadpool(now)

    def release(self) -> None:
        """Answer every held request now; safe from a signal handler or another thread."""
        self.released = True
        if self._loop is not None and self._event is not None:
            self._loop.call_soon_threadsafe(self._event.set)
