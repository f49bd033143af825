"""Following one job on screen: its progress display while a wait runs.

:func:`following` opens the renderer's progress view for a ``with`` block,
feeds it every job answer, and closes it exactly once, whatever ends the
block; Ctrl-C leaves the job on the server and says how to pick it up again.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Iterator
from typing import TYPE_CHECKING

from qibo_client.domain.records import JobInfo
from qibo_client.ports import JobSnapshot, ProgressView, Renderer

if TYPE_CHECKING:
    from qibo_client.qibo_job import QiboJob


def snapshot(job: QiboJob, started: float) -> JobSnapshot:
    """The job's state now, for a progress display."""
    return JobSnapshot(
        pid=job.pid,
        status=job._status,
        status_text=(job.status_text or "loading").upper(),
        base_url=job.base_url,
        device=job.device,
        project=job.project,
        queue_position=job.queue_position,
        seconds_to_job_start=job.seconds_to_job_start,
        elapsed_seconds=time.monotonic() - started,
    )


class JobProgress:
    """A job's progress display while it is followed, closed exactly once."""

    def __init__(self, job: QiboJob, renderer: Renderer | None) -> None:
        self.job = job
        self.started = time.monotonic()
        self.results_folder: str | None = None
        self.view: ProgressView | None = (
            renderer.start_progress(snapshot(job, self.started)) if renderer else None
        )

    def update(self, info: JobInfo) -> None:
        self.job.update(info)
        if self.view is not None:
            self.view.update(snapshot(self.job, self.started))

    def close(self) -> None:
        view, self.view = self.view, None
        if view is not None:
            view.finish(snapshot(self.job, self.started), results_folder=self.results_folder)


@contextlib.contextmanager
def following(job: QiboJob, verbose: bool) -> Iterator[JobProgress]:
    """Show the job's progress for the ``with`` block; the display always closes."""
    progress = JobProgress(job, job.renderer if verbose else None)
    try:
        yield progress
    except KeyboardInterrupt:
        progress.close()
        job.renderer.show_message(
            f"Stopped waiting; job {job.pid} is still on the server. Pick it up with "
            f"client.get_job({job.pid!r}).result()",
            level="warning",
        )
        raise
    finally:
        progress.close()
