"""When a progress display appears: only once a wait has lasted a moment.

A job that finishes within about a second should leave at most one line, so
the renderers reveal their live displays (and stage lines) late, from a timer.
One shared timer thread serves every display: starting a thread per job would
cost a loop of short jobs more than the jobs themselves. Shared by the Rich,
logging and notebook renderers.
"""

from __future__ import annotations

import contextlib
import contextvars
import heapq
import itertools
import threading
import time
from collections.abc import Callable

#: Seconds a wait lasts before its live display (or its stage lines) appear.
SHOW_AFTER_SECONDS = 1.0
#: Seconds between two progress lines of a batch in a log.
LOG_EVERY_SECONDS = 5.0
#: Seconds the timer thread waits for new work before it ends.
IDLE_SECONDS = 2.0


class Scheduled:
    """An action due at a moment; :meth:`cancel` keeps it from running if it has not begun."""

    def __init__(self, action: Callable[[], object]) -> None:
        self._action = action
        self._context = contextvars.copy_context()
        self.cancelled = False

    def cancel(self) -> None:
        self.cancelled = True

    def run(self) -> None:
        if not self.cancelled:
            with contextlib.suppress(Exception):  # a display problem never ends the timer
                self._context.run(self._action)


class _Timer:
    """One daemon thread running due actions in order; it ends when idle, and starts again."""

    def __init__(self) -> None:
        self._ready = threading.Condition()
        self._queue: list[tuple[float, int, Scheduled]] = []
        self._order = itertools.count()
        self._thread: threading.Thread | None = None

    def schedule(self, delay: float, action: Callable[[], object]) -> Scheduled:
        entry = Scheduled(action)
        with self._ready:
            heapq.heappush(self._queue, (time.monotonic() + delay, next(self._order), entry))
            if self._thread is None:
                self._thread = threading.Thread(
                    target=self._serve, name="qibo-client-display", daemon=True
                )
                self._thread.start()
            self._ready.notify()
        return entry

    def _next_due(self) -> Scheduled | None:
        """The next action once it is due; ``None`` after an idle spell (the thread then ends)."""
        with self._ready:
            while True:
                while self._queue and self._queue[0][2].cancelled:
                    heapq.heappop(self._queue)
                if not self._queue:
                    if not self._ready.wait(IDLE_SECONDS) and not self._queue:
                        self._thread = None
                        return None
                    continue
                wait = self._queue[0][0] - time.monotonic()
                if wait <= 0:
                    return heapq.heappop(self._queue)[2]
                self._ready.wait(wait)

    def _serve(self) -> None:
        while (entry := self._next_due()) is not None:
            entry.run()


_TIMER = _Timer()


def call_later(delay: float, action: Callable[[], object]) -> Scheduled | None:
    """Run ``action`` once, ``delay`` seconds from now, on the shared timer thread.

    With ``delay <= 0`` it runs at once, here, and ``None`` is returned. The
    action runs in a copy of the caller's context, so output made from the
    timer lands where the caller's would (in Jupyter: the running cell).
    ``action`` must itself check whether it is still wanted: cancelling
    cannot stop an action that has already begun.
    """
    if delay <= 0:
        action()
        return None
    return _TIMER.schedule(delay, action)
