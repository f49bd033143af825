"""The result-store port: where a job's result archive goes and how it is read back."""

from __future__ import annotations

import time
from abc import ABC, abstractmethod
from collections.abc import Collection, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from qibo_client.domain.records import StoredResult
from qibo_client.ports.transport import ResultStream

#: A result saved or loaded this recently (seconds) is never pruned: a process may be
#: about to read it.
RECENT_USE_SECONDS = 60.0


@dataclass(frozen=True)
class CachedResult:
    """One job's stored result as listed for ``qibo-client cache``.

    ``server`` names the server it came from: its URL, or the name the store
    files it under (the filesystem store's ``<server key>`` folder). ``size``
    is in bytes; ``last_used`` (seconds since the epoch) is when it was last
    saved or loaded.
    """

    server: str
    pid: str
    size: int
    last_used: float
    folder: Path | None = None


def choose_evictions(
    entries: Iterable[CachedResult],
    *,
    now: float,
    older_than: float | None = None,
    max_bytes: int | None = None,
    keep: Collection[tuple[str, str]] = (),
    recent: float = RECENT_USE_SECONDS,
) -> list[CachedResult]:
    """Which results to remove, least recently used first; no I/O.

    Every result unused for ``older_than`` seconds, then the next least
    recently used until the rest total at most ``max_bytes``. Results named in
    ``keep`` (as ``(server, pid)``) and those used in the last ``recent``
    seconds always stay, so the total may stay above ``max_bytes`` for a while.
    """
    listed = list(entries)
    total = sum(entry.size for entry in listed)
    chosen: list[CachedResult] = []
    for entry in sorted(listed, key=lambda e: (e.last_used, e.server, e.pid)):
        if (entry.server, entry.pid) in keep or now - entry.last_used < recent:
            continue
        stale = older_than is not None and now - entry.last_used >= older_than
        if stale or (max_bytes is not None and total > max_bytes):
            chosen.append(entry)
            total -= entry.size
    return chosen


class ResultStore(ABC):
    """Keeps the results of finished jobs on the user's side.

    A result is known by the server it came from and its pid. Adapter authors:
    :meth:`save` must be all-or-nothing (a broken or hostile archive leaves
    nothing behind and raises
    :class:`~qibo_client.exceptions.UnsafeResultError`, or
    :class:`~qibo_client.exceptions.IncompleteDownloadError` if the transfer
    broke off, so that the transport may try again); :meth:`load` must not run
    anything the file names. Results of different servers are kept apart, even
    under the same pid. Pids reaching a store have been validated.
    :mod:`qibo_client.testing` holds a contract suite that a store proves
    itself with. A store that can list what it keeps (:meth:`cached`) gets
    ``qibo-client cache`` (:meth:`prune`, :meth:`clear`) for free.
    """

    @abstractmethod
    def lookup(self, server: str, pid: str) -> StoredResult | None:
        """The stored result of this job, if one is complete; else ``None``."""

    @abstractmethod
    def save(
        self, server: str, pid: str, stream: ResultStream, *, max_bytes: int | None = None
    ) -> StoredResult:
        """Receive the job's archive and keep what it holds.

        ``max_bytes``, when given, is what the caller knows this job's result
        can need (from its qubits and shots): the archive may unpack to no more
        than it, nor more than the store's own bound. Refuse with
        :class:`~qibo_client.exceptions.UnsafeResultError` as soon as the
        running total passes the bound, keeping nothing.
        """

    @abstractmethod
    def load(self, stored: StoredResult) -> Any:
        """The stored result as qibo's result object (what ``qibo.result.load_result`` gives)."""

    def forget(self, server: str, pid: str) -> bool:
        """Remove what is stored for this job; True if something was removed."""
        return False

    def prepare(self) -> None:  # noqa: B027 - optional hook
        """Get ready to load a result soon (import libraries, build caches).

        Called in the background while a job is still running; a store with
        nothing to prepare keeps this no-op.
        """

    def cached(self) -> list[CachedResult] | None:
        """Every job this store keeps something for, with its size and last use.

        ``None`` (the default) means this store cannot list what it keeps.
        """
        return None

    def discard(self, entries: Iterable[CachedResult]) -> list[CachedResult]:
        """Remove these results, as :meth:`cached` listed them; returns those removed.

        The default forgets each by its server and pid; a store whose
        ``server`` names are not URLs overrides this.
        """
        return [entry for entry in entries if self.forget(entry.server, entry.pid)]

    def prune(
        self, *, older_than: float | None = None, max_bytes: int | None = None
    ) -> list[CachedResult]:
        """Remove results unused for ``older_than`` seconds, then the least recently used
        until at most ``max_bytes`` are kept (see :func:`choose_evictions`); returns
        those removed. A result used in the last minute is never removed."""
        entries = self.cached() or []
        chosen = choose_evictions(
            entries, now=time.time(), older_than=older_than, max_bytes=max_bytes
        )
        return self.discard(chosen)

    def clear(self) -> list[CachedResult]:
        """Remove every result :meth:`cached` lists; returns those removed."""
        return self.discard(self.cached() or [])
