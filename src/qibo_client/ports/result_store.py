"""The result-store port: where a job's result archive goes and how it is read back."""

from __future__ import annotations

from abc import ABC, abstractmethod
from typing import Any

from qibo_client.domain.records import StoredResult
from qibo_client.ports.transport import ResultStream


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
    itself with.
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
