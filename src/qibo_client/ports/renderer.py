"""The renderer port: how the client shows progress, tables and errors to a person."""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Sequence
from dataclasses import dataclass

from qibo_client.domain.progress import BatchSnapshot
from qibo_client.domain.records import DiskQuota, JobInfo, ProjectQuota
from qibo_client.domain.status import QiboJobStatus

__all__ = ["BatchSnapshot", "BatchView", "JobSnapshot", "ProgressView", "Renderer"]


@dataclass(frozen=True)
class JobSnapshot:
    """A job's state at one moment, for a progress display."""

    pid: str
    status: QiboJobStatus | None
    status_text: str
    base_url: str
    device: str | None = None
    project: str | None = None
    queue_position: int | None = None
    seconds_to_job_start: float | None = None
    elapsed_seconds: float = 0.0


class ProgressView(ABC):
    """One job's progress display, alive while ``QiboJob.result()`` waits."""

    @abstractmethod
    def update(self, snapshot: JobSnapshot) -> None:
        """Show the job's latest state (called after every poll)."""

    @abstractmethod
    def finish(self, snapshot: JobSnapshot, *, results_folder: str | None = None) -> None:
        """The wait is over (final status, timeout or interruption): close the display."""


class BatchView(ABC):
    """The progress display of many jobs at once (one bar, not one panel per job)."""

    @abstractmethod
    def update(self, snapshot: BatchSnapshot) -> None:
        """Show how far the batch is (called when a job's status changes)."""

    @abstractmethod
    def finish(self, snapshot: BatchSnapshot) -> None:
        """The wait is over (all done, timeout or interruption): close the display."""


class _NoBatchView(BatchView):
    def update(self, snapshot: BatchSnapshot) -> None:
        pass

    def finish(self, snapshot: BatchSnapshot) -> None:
        pass


class Renderer(ABC):
    """Presents the client's output.

    Adapter authors: implement every method; write only to your own output
    (a console, a logger, a file), never raise for a display problem, and
    never show the user's token.
    """

    @abstractmethod
    def start_progress(self, snapshot: JobSnapshot) -> ProgressView:
        """Begin showing a job's progress."""

    def start_batch(self, snapshot: BatchSnapshot) -> BatchView:
        """Begin showing the progress of a batch of jobs.

        Optional: a renderer that does not draw batches keeps this default,
        which shows nothing.
        """
        return _NoBatchView()

    @abstractmethod
    def show_quota(self, disk: DiskQuota, projects: Sequence[ProjectQuota]) -> None:
        """Show the disk quota and each project's quota (``print_quota_info``)."""

    @abstractmethod
    def show_jobs(self, user: str, jobs: Sequence[JobInfo]) -> None:
        """Show a user's jobs as a table (``print_job_info``)."""

    @abstractmethod
    def show_error(self, error: BaseException) -> None:
        """Show an error as one clean message."""

    @abstractmethod
    def show_message(self, text: str, *, level: str = "info") -> None:
        """Show a line of text; ``level`` is ``info``, ``warning`` or ``error``."""
