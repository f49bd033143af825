"""The Rich renderer: a live status panel, coloured tables and errors for terminals and Jupyter.

Each display is a small view class with ``__rich_console__``; the renderer
prints them on one :class:`rich.console.Console`. Rich's console detects a
Jupyter kernel itself; there a live panel needs ipywidgets, and without it the
job's stage changes are printed as lines and the final panel once at the end.
A display problem is reported in one line and never raised to the caller.
"""

from __future__ import annotations

import contextlib
import functools
import importlib.util
import sys
from collections.abc import Callable, Sequence
from typing import Any, TypeVar

from rich.console import Console
from rich.live import Live
from rich.text import Text

from qibo_client.adapters.rich_views import (
    MESSAGE_STYLES,
    STAGE_STYLES,
    ElapsedTime,
    JobsView,
    QuotaView,
    StatusPanel,
    final_mark,
    stage_style,
)
from qibo_client.domain.records import DiskQuota, JobInfo, ProjectQuota
from qibo_client.ports.renderer import JobSnapshot, ProgressView, Renderer
from qibo_client.presentation import tables

#: Colour of each stage, by the stage's name.

_F = TypeVar("_F", bound=Callable[..., Any])


def _never_raise(method: _F) -> _F:
    """Turn a display failure into one line on stderr: showing must not break a job."""

    @functools.wraps(method)
    def guarded(*args: Any, **kwargs: Any) -> Any:
        try:
            return method(*args, **kwargs)
        except Exception as error:
            with contextlib.suppress(Exception):
                line = f"qibo-client: could not display ({tables.error_line(error)})"
                print(line, file=sys.stderr)
            return None

    return guarded  # type: ignore[return-value]


def _live_possible(console: Console) -> bool:
    """Live needs ipywidgets inside Jupyter; everywhere else Rich copes on its own."""
    return not console.is_jupyter or importlib.util.find_spec("ipywidgets") is not None


class RichProgressView(ProgressView):
    """A live status panel while the job runs, then a one-line banner."""

    def __init__(self, console: Console) -> None:
        self._console = console
        self._elapsed = ElapsedTime()
        self._panel: StatusPanel | None = None
        self._live: Live | None = None
        self._lines = tables.StatusLines()

    @_never_raise
    def begin(self, snapshot: JobSnapshot) -> None:
        self._elapsed.sync(snapshot.elapsed_seconds)
        self._panel = StatusPanel(snapshot, self._elapsed)
        if _live_possible(self._console):
            live = Live(self._panel, console=self._console, transient=False, refresh_per_second=4)
            try:
                live.start(refresh=True)
                self._live = live
            except Exception:
                self._live = None
        self._print_change(snapshot)

    def _print_change(self, snapshot: JobSnapshot) -> None:
        if self._live is None and (line := self._lines.next_line(snapshot)) is not None:
            self._console.print(Text(line, style=stage_style(tables.status_name(snapshot))))

    @_never_raise
    def update(self, snapshot: JobSnapshot) -> None:
        self._elapsed.sync(snapshot.elapsed_seconds)
        if self._panel is None:
            self._panel = StatusPanel(snapshot, self._elapsed)
        self._panel.snapshot = snapshot
        if self._live is not None:
            self._live.refresh()
        self._print_change(snapshot)

    @_never_raise
    def finish(self, snapshot: JobSnapshot, *, results_folder: str | None = None) -> None:
        self._elapsed.freeze(snapshot.elapsed_seconds)
        panel = self._panel or StatusPanel(snapshot, self._elapsed)
        panel.snapshot = snapshot
        if self._live is not None:
            live, self._live = self._live, None
            live.stop()
            if not (self._console.is_terminal or self._console.is_jupyter):
                self._console.line()  # Live leaves a file's last line open
        else:
            self._console.print(panel)
        name = tables.status_name(snapshot)
        style = f"bold {STAGE_STYLES[name]}" if name in ("SUCCESS", "ERROR") else "bold yellow"
        mark = final_mark(name, self._console.options.ascii_only)
        line = tables.finish_line(snapshot, results_folder)
        self._console.print(Text(f"{mark} {line}" if mark else line, style=style), soft_wrap=True)


class RichRenderer(Renderer):
    """Shows everything on a Rich console (a new ``Console()`` unless one is given)."""

    def __init__(self, console: Console | None = None) -> None:
        self.console = console if console is not None else Console()

    def start_progress(self, snapshot: JobSnapshot) -> ProgressView:
        view = RichProgressView(self.console)
        view.begin(snapshot)
        return view

    @_never_raise
    def show_quota(self, disk: DiskQuota, projects: Sequence[ProjectQuota]) -> None:
        self.console.print(QuotaView(disk, projects))

    @_never_raise
    def show_jobs(self, user: str, jobs: Sequence[JobInfo]) -> None:
        self.console.print(JobsView(user, jobs))

    @_never_raise
    def show_error(self, error: BaseException) -> None:
        self.console.print(Text(tables.error_line(error), style="bold red"), soft_wrap=True)

    @_never_raise
    def show_message(self, text: str, *, level: str = "info") -> None:
        style = MESSAGE_STYLES.get(str(level).lower(), "")
        self.console.print(Text(str(text), style=style), soft_wrap=True)
