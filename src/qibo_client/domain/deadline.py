"""One deadline for a whole wait: every request, retry, pause and download fits inside it."""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass


@dataclass(frozen=True)
class Deadline:
    """An instant on a monotonic clock, or none at all (wait forever).

    ``at`` is what crosses a port (a :func:`time.monotonic` value, or ``None``).
    """

    at: float | None
    clock: Callable[[], float] = time.monotonic

    @classmethod
    def after(cls, seconds: float | None, clock: Callable[[], float] = time.monotonic) -> Deadline:
        """The deadline ``seconds`` from now; ``None`` for no deadline.

        Raises ``ValueError`` for a negative or non-finite number of seconds.
        """
        if seconds is None:
            return cls(None, clock)
        if isinstance(seconds, bool) or not isinstance(seconds, (int, float)):
            raise TypeError(f"timeout must be a number of seconds or None, got {seconds!r}")
        if not math.isfinite(seconds) or seconds < 0:
            raise ValueError(f"timeout must be a finite number of seconds >= 0, got {seconds!r}")
        return cls(clock() + float(seconds), clock)

    def remaining(self) -> float | None:
        """Seconds left (never negative), or ``None`` without a deadline."""
        if self.at is None:
            return None
        return max(self.at - self.clock(), 0.0)

    @property
    def expired(self) -> bool:
        return self.at is not None and self.clock() >= self.at

    def cap(self, seconds: float) -> float:
        """``seconds``, or less if the deadline comes first."""
        left = self.remaining()
        return seconds if left is None else min(seconds, left)
