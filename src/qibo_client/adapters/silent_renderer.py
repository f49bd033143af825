"""The silent renderer: shows nothing at all (``QIBO_CLIENT_UI=none`` or ``ui="none"``).

For scripts and services that report on their own: no progress, no tables, no
messages. Errors are still raised to the caller as usual; only their display
is left out.
"""

from __future__ import annotations

from collections.abc import Sequence

from qibo_client.domain.records import DiskQuota, JobInfo, ProjectQuota
from qibo_client.ports.renderer import JobSnapshot, ProgressView, Renderer


class SilentProgressView(ProgressView):
    """A progress display that shows nothing."""

    def update(self, snapshot: JobSnapshot) -> None:
        pass

    def finish(self, snapshot: JobSnapshot, *, results_folder: str | None = None) -> None:
        pass


class SilentRenderer(Renderer):
    """Shows nothing: every method returns at once (batches keep the port's silent default)."""

    def start_progress(self, snapshot: JobSnapshot) -> ProgressView:
        return SilentProgressView()

    def show_quota(self, disk: DiskQuota, projects: Sequence[ProjectQuota]) -> None:
        pass

    def show_jobs(self, user: str, jobs: Sequence[JobInfo]) -> None:
        pass

    def show_error(self, error: BaseException) -> None:
        pass

    def show_message(self, text: str, *, level: str = "info") -> None:
        pass
