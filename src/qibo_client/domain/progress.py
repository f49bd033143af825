"""Counting a batch of jobs as they move on: what a progress bar for many jobs shows.

Pure bookkeeping, no I/O: the drivers feed it every job answer they see, and
a renderer draws its :class:`BatchSnapshot`.
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

from qibo_client.domain.records import JobInfo


@dataclass(frozen=True)
class BatchSnapshot:
    """A batch at one moment: how many of ``total`` are done, and where the rest are.

    ``counts`` maps a status (lower case, as the server spells it; ``"submitted"``
    before the first answer) to the number of jobs in it.
    ``seconds_left`` is a plain estimate from the pace so far (``None`` until
    a job has finished).
    """

    total: int
    done: int
    counts: dict[str, int]
    elapsed_seconds: float
    seconds_left: float | None = None


@dataclass
class BatchTally:
    """The latest status of each job of a batch, and the time since it started."""

    pids: Iterable[str]
    clock: Callable[[], float] = time.monotonic
    _status: dict[str, str] = field(init=False)
    _final: set[str] = field(init=False, default_factory=set)
    _started: float = field(init=False)

    def __post_init__(self) -> None:
        self._status = dict.fromkeys(self.pids, "submitted")
        self._started = self.clock()

    def update(self, info: JobInfo) -> bool:
        """Take in one job answer; True if it changed what a display shows."""
        if info.pid not in self._status:
            return False
        status = info.status.strip().lower()
        changed = self._status[info.pid] != status
        self._status[info.pid] = status
        if info.is_final:
            self._final.add(info.pid)
        return changed

    def snapshot(self) -> BatchSnapshot:
        elapsed = self.clock() - self._started
        done = len(self._final)
        total = len(self._status)
        left = None
        if 0 < done < total:
            left = elapsed / done * (total - done)
        elif done == total:
            left = 0.0
        return BatchSnapshot(
            total=total,
            done=done,
            counts=dict(Counter(self._status.values())),
            elapsed_seconds=elapsed,
            seconds_left=left,
        )
