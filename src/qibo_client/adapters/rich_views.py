"""The Rich views the Rich renderer shows: a job's status panel, quota and job tables.

Each view is a small class with ``__rich_console__``; the renderer decides when
to show them.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator, Sequence
from typing import Any

from rich import box
from rich.console import Console, ConsoleOptions, Group, RenderResult
from rich.measure import Measurement
from rich.panel import Panel
from rich.spinner import Spinner
from rich.table import Table
from rich.text import Text

from qibo_client.domain.records import DiskQuota, JobInfo, ProjectQuota
from qibo_client.ports.renderer import JobSnapshot
from qibo_client.presentation import tables

#: Colour of each stage, by the stage's name.

STAGE_STYLES = {
    "QUEUEING": "yellow",
    "PENDING": "cyan",
    "RUNNING": "blue",
    "POSTPROCESSING": "magenta",
    "SUCCESS": "green",
    "ERROR": "red",
}
MESSAGE_STYLES = {"warning": "yellow", "error": "bold red"}

_MARKS = {"SUCCESS": ("✔", "+"), "ERROR": ("✘", "x")}


def final_mark(name: str, ascii_only: bool) -> str:
    """A tick for success, a cross for error (ASCII ones where Unicode cannot be written)."""
    marks = _MARKS.get(name)
    return "" if marks is None else marks[ascii_only]


def stage_style(status: object) -> str:
    """The colour for a stage name such as ``success`` or ``RUNNING``; dim when unknown."""
    return STAGE_STYLES.get(str(status).upper(), "dim")


class ElapsedTime:
    """Elapsed seconds that keep counting between updates, so a live display ticks alone."""

    def __init__(self, seconds: float = 0.0) -> None:
        self._frozen: float | None = None
        self.sync(seconds)

    def sync(self, seconds: float) -> None:
        self._base = time.monotonic() - (seconds if isinstance(seconds, (int, float)) else 0.0)

    def freeze(self, seconds: float) -> None:
        self._frozen = seconds

    @property
    def seconds(self) -> float:
        return self._frozen if self._frozen is not None else time.monotonic() - self._base

    def __rich_console__(self, console: Console, options: ConsoleOptions) -> RenderResult:
        yield Text(tables.hms(self.seconds), style="bold")

    def __rich_measure__(self, console: Console, options: ConsoleOptions) -> Measurement:
        return Measurement(7, 12)  # h:mm:ss, room for long waits


class StatusPanel:
    """A job's status panel: stage (with a spinner until final), queue, times, where it runs."""

    def __init__(self, snapshot: JobSnapshot, elapsed: ElapsedTime) -> None:
        self.snapshot = snapshot
        self.elapsed = elapsed
        self._spinner: Spinner | None = None

    def _stage(self, options: ConsoleOptions) -> Table:
        name = tables.status_name(self.snapshot)
        style = stage_style(name)
        final = self.snapshot.status is not None and self.snapshot.status.is_final
        if final:
            mark: Any = Text(final_mark(name, options.ascii_only))
        else:
            if self._spinner is None:
                self._spinner = Spinner("line" if options.ascii_only else "dots")
            self._spinner.style = style
            mark = self._spinner
        cell = Table.grid(padding=(0, 1))
        cell.add_row(mark, Text(name, style=f"bold {style}"))
        return cell

    def __rich_console__(self, console: Console, options: ConsoleOptions) -> RenderResult:
        snap = self.snapshot
        queued = tables.in_queue(snap)
        grid = Table.grid(padding=(0, 2))
        grid.add_column(style="dim", no_wrap=True)
        grid.add_column()
        grid.add_row("Status", self._stage(options))
        values = (
            ("Queue position", tables.text(snap.queue_position if queued else None)),
            ("Estimated start", tables.hms(snap.seconds_to_job_start if queued else None)),
            ("Elapsed", self.elapsed),
            ("Device", tables.text(snap.device)),
            ("Project", tables.text(snap.project)),
            ("Job", tables.text(snap.pid)),
            ("Server", tables.display_url(snap.base_url)),
        )
        for label, value in values:  # server text is never read as Rich markup
            grid.add_row(label, Text(value) if isinstance(value, str) else value)
        border = stage_style(tables.status_name(snap))
        yield Panel(grid, title="Qibo job", title_align="left", border_style=border, expand=False)


def _coloured(
    rows: list[tuple[str, ...]], column: int, style: Callable[[str], str]
) -> Iterator[list[Text]]:
    """Rows as Text cells (never read as markup), ``column`` styled by ``style(cell)``."""
    for row in rows:
        yield [
            Text(cell, style=style(cell) if index == column else "")
            for index, cell in enumerate(row)
        ]


def _table(title: str, headers: Sequence[str]) -> Table:
    table = Table(
        title=Text(title), header_style="bold magenta", box=box.SIMPLE_HEAVY, title_style="bold"
    )
    for header in headers:
        table.add_column(Text(header))
    return table


class QuotaView:
    """The user and disk line, then one table row per project quota."""

    def __init__(self, disk: DiskQuota, projects: Sequence[ProjectQuota]) -> None:
        self.disk, self.projects = disk, projects

    def __rich_console__(self, console: Console, options: ConsoleOptions) -> RenderResult:
        table = _table("Project quotas", tables.QUOTA_HEADERS)

        def available(status: str) -> str:
            return (
                "dim" if status == tables.MISSING else ("green" if status == "available" else "red")
            )

        for cells in _coloured(
            tables.quota_rows(self.projects), tables.QUOTA_STATUS_COLUMN, available
        ):
            table.add_row(*cells)
        body = Group(Text(tables.disk_summary(self.disk)), table)
        yield Panel(body, title="Quota information", expand=False)


class JobsView:
    """A user's jobs, one row each, the status coloured by stage."""

    def __init__(self, user: str, jobs: Sequence[JobInfo]) -> None:
        self.user, self.jobs = user, jobs

    def __rich_console__(self, console: Console, options: ConsoleOptions) -> RenderResult:
        table = _table(f"Jobs of {tables.text(self.user)}", tables.JOB_HEADERS)
        for cells in _coloured(tables.job_rows(self.jobs), tables.JOB_STATUS_COLUMN, stage_style):
            table.add_row(*cells)
        yield Panel(table, title="Job information", expand=False)
