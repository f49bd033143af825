"""The Rich views the Rich renderer shows: a job's status panel, a batch's bar, quota and job tables.

Each view is a small class with ``__rich_console__``; the renderer decides when
to show them. Live views read the time when drawn (from a clock they are
given), so a live display ticks between updates: the elapsed time counts up,
an estimate counts down.
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Callable, Iterator, Sequence
from typing import Any

from rich import box
from rich.console import Console, ConsoleOptions, Group, RenderResult
from rich.measure import Measurement
from rich.panel import Panel
from rich.progress_bar import ProgressBar
from rich.spinner import Spinner
from rich.table import Table
from rich.text import Text

from qibo_client.domain.records import DiskQuota, JobInfo, ProjectQuota
from qibo_client.ports.renderer import BatchSnapshot, JobSnapshot
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


Clock = Callable[[], float]


def _seconds(value: object) -> float | None:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    return float(value)


class ElapsedTime:
    """Elapsed seconds that keep counting between updates, so a live display ticks alone."""

    def __init__(self, seconds: float = 0.0, clock: Clock = time.monotonic) -> None:
        self._clock = clock
        self._frozen: float | None = None
        self.sync(seconds)

    def sync(self, seconds: float) -> None:
        self._base = self._clock() - (_seconds(seconds) or 0.0)

    def freeze(self, seconds: float) -> None:
        self._frozen = seconds

    @property
    def seconds(self) -> float:
        return self._frozen if self._frozen is not None else self._clock() - self._base

    def __rich_console__(self, console: Console, options: ConsoleOptions) -> RenderResult:
        yield Text(tables.hms(self.seconds), style="bold")

    def __rich_measure__(self, console: Console, options: ConsoleOptions) -> Measurement:
        return Measurement(7, 12)  # h:mm:ss, room for long waits


class Countdown:
    """Seconds left to an estimated moment, counting down from the last estimate given."""

    def __init__(self, seconds: float | None = None, clock: Clock = time.monotonic) -> None:
        self._clock = clock
        self.sync(seconds)

    def sync(self, seconds: float | None) -> None:
        """Start again from ``seconds`` (``None``: unknown)."""
        self._value, self._at = _seconds(seconds), self._clock()

    @property
    def seconds(self) -> float | None:
        if self._value is None:
            return None
        return max(0.0, self._value - (self._clock() - self._at))


class StatusPanel:
    """A job's status panel: stage (with a spinner until final), queue, times, where it runs.

    The estimated start counts down from the latest estimate the server sent;
    a snapshot repeating the same position and estimate does not reset it.
    """

    def __init__(
        self, snapshot: JobSnapshot, elapsed: ElapsedTime, clock: Clock = time.monotonic
    ) -> None:
        self.elapsed = elapsed
        self.start_in = Countdown(clock=clock)
        self._queue: tuple[object, object] | None = None
        self._spinner: Spinner | None = None
        self.snapshot = snapshot

    @property
    def snapshot(self) -> JobSnapshot:
        return self._snapshot

    @snapshot.setter
    def snapshot(self, snapshot: JobSnapshot) -> None:
        self._snapshot = snapshot
        queue = (snapshot.queue_position, snapshot.seconds_to_job_start)
        if queue != self._queue:
            self._queue = queue
            self.start_in.sync(snapshot.seconds_to_job_start)

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
            ("Estimated start", tables.hms(self.start_in.seconds if queued else None)),
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


class BatchBar:
    """A batch on one line: a bar, ``n/N done``, the count in each status, elapsed and estimate.

    Once :meth:`finish` is called it shows the closing line instead (the time
    taken, or that the wait stopped early).
    """

    def __init__(self, snapshot: BatchSnapshot, clock: Clock = time.monotonic) -> None:
        self.elapsed = ElapsedTime(snapshot.elapsed_seconds, clock)
        self.left = Countdown(snapshot.seconds_left, clock)
        self.final = False
        self._snapshot = snapshot

    @property
    def snapshot(self) -> BatchSnapshot:
        return self._snapshot

    @snapshot.setter
    def snapshot(self, snapshot: BatchSnapshot) -> None:
        self._snapshot = snapshot
        self.elapsed.sync(snapshot.elapsed_seconds)
        self.left.sync(snapshot.seconds_left)

    def finish(self, snapshot: BatchSnapshot) -> None:
        self.snapshot = snapshot
        self.elapsed.freeze(snapshot.elapsed_seconds)
        self.final = True

    def current(self) -> BatchSnapshot:
        """The snapshot with the elapsed time and the estimate as of now."""
        return dataclasses.replace(
            self._snapshot, elapsed_seconds=self.elapsed.seconds, seconds_left=self.left.seconds
        )

    def __rich_console__(self, console: Console, options: ConsoleOptions) -> RenderResult:
        snap = self.current()
        line = tables.batch_finish_line(snap) if self.final else tables.batch_line(snap)
        width = 20 if options.max_width >= 80 else max(5, options.max_width // 5)
        failed = bool(snap.counts.get("error"))
        bar = ProgressBar(
            total=max(snap.total, 1),
            completed=snap.done,
            width=width,
            complete_style="yellow" if failed else "blue",
            finished_style="yellow" if failed else "green",
        )
        grid = Table.grid(padding=(0, 1))
        grid.add_column(width=width, no_wrap=True)
        grid.add_column(no_wrap=True, overflow="ellipsis")
        grid.add_row(bar, Text(line))
        yield grid


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
