"""The renderer the commands use: the chosen one, quiet while Ctrl-C unwinds.

On Ctrl-C the library tells a Python user how to pick the job up again
(``client.get_job(...).result()``). On the command line that advice is the
wrong one, and the command says what to do itself, in one line
(:func:`qibo_client.cli.main.run_command`). Displays still close as usual.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Sequence

from qibo_client.domain.records import DiskQuota, JobInfo, ProjectQuota
from qibo_client.ports import BatchSnapshot, BatchView, JobSnapshot, ProgressView, Renderer


def _interrupting() -> bool:
    """True while a Ctrl-C (``KeyboardInterrupt``) is being handled somewhere up the stack."""
    return isinstance(sys.exc_info()[1], KeyboardInterrupt)


class CommandLineRenderer(Renderer):
    """Hands everything to the renderer ``build`` makes (on first use), except messages
    shown while Ctrl-C unwinds."""

    def __init__(self, build: Callable[[], Renderer]) -> None:
        self._build = build
        self._inner: Renderer | None = None

    @property
    def inner(self) -> Renderer:
        """The chosen renderer (built the first time something is shown)."""
        if self._inner is None:
            self._inner = self._build()
        return self._inner

    def start_progress(self, snapshot: JobSnapshot) -> ProgressView:
        return self.inner.start_progress(snapshot)

    def start_batch(self, snapshot: BatchSnapshot) -> BatchView:
        return self.inner.start_batch(snapshot)

    def show_quota(self, disk: DiskQuota, projects: Sequence[ProjectQuota]) -> None:
        self.inner.show_quota(disk, projects)

    def show_jobs(self, user: str, jobs: Sequence[JobInfo]) -> None:
        self.inner.show_jobs(user, jobs)

    def show_error(self, error: BaseException) -> None:
        if not _interrupting():
            self.inner.show_error(error)

    def show_message(self, text: str, *, level: str = "info") -> None:
        if not _interrupting():
            self.inner.show_message(text, level=level)
