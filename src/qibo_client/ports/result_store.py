"""The result-store port: where a job's result archive goes and how it is read back."""

from __future__ import annotations

from abc import ABC, abstractmethod
from pathlib import Path
from typing import Any

from qibo_client.ports.transport import ResultStream

#: The file a successful job's archive holds, as the protocol names it.
RESULTS_FILE = "results.npy"


class ResultStore(ABC):
    """Keeps result archives on the user's side.

    Adapter authors: a job's files live in :meth:`folder_for` ``(pid)``;
    :meth:`save_archive` must be all-or-nothing (a broken or hostile archive
    leaves nothing behind and raises
    :class:`~qibo_client.exceptions.UnsafeResultError`, or
    :class:`~qibo_client.exceptions.QiboApiError` if the transfer broke);
    :meth:`load` must not run anything the file names. Pids reaching a store
    have been validated (:func:`qibo_client.domain.records.validate_pid`).
    """

    @abstractmethod
    def folder_for(self, pid: str) -> Path:
        """The folder that holds (or will hold) the job's extracted files."""

    def results_path(self, pid: str) -> Path:
        """Where the job's ``results.npy`` is (or will be)."""
        return self.folder_for(pid) / RESULTS_FILE

    @abstractmethod
    def has_result(self, pid: str) -> bool:
        """True if a complete result of a successful job is already stored."""

    @abstractmethod
    def save_archive(self, pid: str, stream: ResultStream) -> Path:
        """Receive the archive, extract it into the job's folder, return that folder."""

    def prepare(self) -> None:  # noqa: B027 - optional hook
        """Get ready to load a result soon (import libraries, build caches).

        Called in the background while a job is still running; a store with
        nothing to prepare keeps this no-op.
        """

    @abstractmethod
    def load(self, pid: str) -> Any:
        """The stored result as qibo's result object (what ``qibo.result.load_result`` gives)."""
