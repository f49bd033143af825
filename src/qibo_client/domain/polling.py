"""When to ask about a job again: a sans-I/O policy shared by every driver.

The policy decides and never performs I/O: given the job's last known state,
whether the server can hold answers (long-poll) and the time left, it answers
with the next :class:`Ask` (pause this long, then ask, letting the server hold
the answer this long) or ``None`` (the deadline has passed). The synchronous
driver below and an asynchronous one run the very same decisions.

The domain never repeats a failed request: retries of requests safe to
repeat live in the transport, inside the caller's deadline.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

from qibo_client.domain.records import JobInfo
from qibo_client.exceptions import JobTimeoutError

#: Environment variable for the pause between status checks when ``result(wait=None)``.
SECONDS_BETWEEN_CHECKS_ENV = "SECONDS_BETWEEN_CHECKS"
DEFAULT_SECONDS_BETWEEN_CHECKS = 2.0

#: The longest a single long-poll request asks the server to hold the answer.
LONG_POLL_WINDOW = 25.0


@dataclass(frozen=True)
class Ask:
    """Pause ``pause`` seconds, then ask, letting the server hold the answer ``hold`` seconds."""

    pause: float
    hold: float


@dataclass(frozen=True)
class PollPolicy:
    """How often to ask about a job that is not final yet.

    ``interval`` is the pause between status requests to a server that cannot
    hold answers (the published ``result(wait=...)``); ``window`` the longest
    hold asked of one that can.
    """

    interval: float = 0.5
    window: float = LONG_POLL_WINDOW

    def next_ask(self, *, long_poll: bool, remaining: float | None) -> Ask | None:
        """The next request to make, or ``None`` when no time is left."""
        if remaining is not None and remaining <= 0:
            return None
        if long_poll:
            hold = self.window if remaining is None else min(self.window, remaining)
            return Ask(pause=0.0, hold=hold)
        pause = self.interval if remaining is None else min(self.interval, remaining)
        return Ask(pause=max(pause, 0.0), hold=0.0)


def timeout_error(pid: str, timeout: float | None, info: JobInfo | None) -> JobTimeoutError:
    """The error for a wait on ``pid`` that ran out of time; the job is untouched."""
    return JobTimeoutError(pid, float(timeout or 0.0), info.status if info else None)


def poll_interval(wait: float | None) -> float:
    """Seconds between status checks: ``wait``, or ``$SECONDS_BETWEEN_CHECKS`` for ``None``."""
    if wait is None:
        text = os.environ.get(SECONDS_BETWEEN_CHECKS_ENV, "")
        try:
            wait = float(text) if text.strip() else DEFAULT_SECONDS_BETWEEN_CHECKS
        except ValueError:
            raise ValueError(
                f"${SECONDS_BETWEEN_CHECKS_ENV}={text!r} is not a number of seconds"
            ) from None
    if isinstance(wait, bool) or not isinstance(wait, (int, float)) or not wait >= 0:
        raise ValueError(f"wait must be a number of seconds >= 0 or None, got {wait!r}")
    return float(wait)
