"""How the domain waits on a job: long-poll when the server can, sleep when it cannot.

Transient failures while waiting (the server restarting, a proxy's 502, a
dropped connection) are tolerated up to a bound; the job is not given up on
at the first one.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

from qibo_client.domain.records import JobInfo
from qibo_client.exceptions import JobTimeoutError, QiboApiError
from qibo_client.ports import Transport

#: Statuses worth waiting through: network failure (0), timeouts, throttling, restarts.
TRANSIENT_STATUSES = frozenset({0, 408, 425, 429, 500, 502, 503, 504})

#: The longest a single long-poll request asks the server to hold the answer.
LONG_POLL_WINDOW = 25.0


@dataclass
class PollPolicy:
    """How often to ask, and how much trouble to tolerate while asking."""

    interval: float = 0.5
    max_transient_failures: int = 8
    max_backoff: float = 30.0

    def backoff(self, failures: int) -> float:
        """Seconds to wait after the ``failures``-th consecutive transient failure."""
        return min(self.max_backoff, max(self.interval, 0.25) * (2 ** (failures - 1)))


class JobPoller:
    """Asks a transport about one job until it is final, a deadline passes, or it fails.

    ``on_update`` is called with every answer, so a progress view can follow.
    ``clock`` and ``sleep`` are injectable for tests.
    """

    def __init__(
        self,
        transport: Transport,
        pid: str,
        policy: PollPolicy,
        *,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.transport = transport
        self.pid = pid
        self.policy = policy
        self.clock = clock
        self.sleep = sleep
        self.requests = 0

    def fetch(self, *, wait: float = 0.0, known_status: str | None = None) -> JobInfo:
        """One status request, counting it."""
        self.requests += 1
        return self.transport.get_job(self.pid, wait=wait, known_status=known_status)

    def fetch_tolerant(self) -> JobInfo:
        """The first status request, with the same tolerance of transient failures as the rest."""
        failures = 0
        while True:
            try:
                return self.fetch()
            except QiboApiError as error:
                failures += 1
                if (
                    error.status not in TRANSIENT_STATUSES
                    or failures > self.policy.max_transient_failures
                ):
                    raise
                self.sleep(self.policy.backoff(failures))

    def until_final(
        self,
        first: JobInfo,
        *,
        timeout: float | None = None,
        on_update: Callable[[JobInfo], None] = lambda info: None,
    ) -> JobInfo:
        """Poll from ``first`` until the job's status is final, and return that answer."""
        deadline = None if timeout is None else self.clock() + timeout
        info = first
        failures = 0
        on_update(info)
        while not info.is_final:
            remaining = None if deadline is None else deadline - self.clock()
            if remaining is not None and remaining <= 0:
                raise JobTimeoutError(self.pid, float(timeout or 0), info.status)
            if not self.transport.supports_long_poll:
                pause = self.policy.interval
                if remaining is not None:
                    pause = min(pause, remaining)
                self.sleep(max(pause, 0.0))
            window = LONG_POLL_WINDOW if remaining is None else min(LONG_POLL_WINDOW, remaining)
            try:
                info = self.fetch(wait=max(window, 0.0), known_status=info.status)
            except QiboApiError as error:
                if error.status not in TRANSIENT_STATUSES:
                    raise
                failures += 1
                if failures > self.policy.max_transient_failures:
                    raise
                self.sleep(self.policy.backoff(failures))
                continue
            failures = 0
            on_update(info)
        return info
