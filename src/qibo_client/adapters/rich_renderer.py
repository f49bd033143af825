"""The Rich renderer: live progress, coloured tables and errors for terminals and Jupyter.

Each display is a small view class with ``__rich_console__``; the renderer
prints them on one :class:`rich.console.Console`. A loop of short jobs stays
quiet: a job (or a batch) that is over within ``show_after`` seconds (1 s)
leaves one line and draws nothing live. A longer wait shows a live panel (one
bar for a batch), erased at the end and replaced by that one line. Rich's
console detects a Jupyter kernel itself; there a live panel needs ipywidgets,
and without it a long wait's stage changes are printed as lines. A display
problem is reported in one line and never raised to the caller.
"""

from __future__ import annotations

import contextlib
import functools
import sys
import threading
import time
from collections.abc import Callable, Sequence
from typing import Any, TypeVar

from rich.console import Console
from rich.live import Live
from rich.text import Text

from qibo_client.adapters.display_timing import SHOW_AFTER_SECONDS, call_later
from qibo_client.adapters.rich_views import (
    MESSAGE_STYLES,
    STAGE_STYLES,
    BatchBar,
    Clock,
    ElapsedTime,
    JobsView,
    QuotaView,
    StatusPanel,
    final_mark,
    stage_style,
)
from qibo_client.domain.records import DiskQuota, JobInfo, ProjectQuota
from qibo_client.ports.renderer import (
    BatchSnapshot,
    BatchView,
    JobSnapshot,
    ProgressView,
    Renderer,
)
from qibo_client.presentation import tables

_F = TypeVar("_F", bound=Callable[..., Any])


def never_raise(method: _F) -> _F:
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
    """A terminal redraws in place; Jupyter does with ipywidgets; a file or a dumb terminal cannot."""
    if console.is_jupyter:
        try:
            import ipywidgets  # noqa: F401
        except ImportError:
            return False
        return True
    return console.is_terminal and not console.is_dumb_terminal


class _LiveDisplay:
    """A Rich ``Live`` of one view, started late (after ``show_after`` seconds), erased at the end.

    Until it is shown nothing is drawn, so a short wait leaves no trace. Where
    nothing can be redrawn in place, ``on_show`` is told instead and the
    caller prints lines. Every method may be called from any thread.
    """

    def __init__(
        self, console: Console, view: Any, show_after: float, on_show: Callable[[], None]
    ) -> None:
        self._console, self._view, self._on_show = console, view, on_show
        self._lock = threading.RLock()
        self.shown = self.closed = False
        self.live: Live | None = None
        self._timer = call_later(show_after, self.show)

    @never_raise
    def show(self) -> None:
        with self._lock:
            if self.shown or self.closed:
                return
            self.shown = True
            if _live_possible(self._console):
                live = Live(self._view, console=self._console, transient=True, refresh_per_second=4)
                try:
                    live.start(refresh=True)
                    self.live = live
                except Exception:
                    self.live = None
            if self.live is None:
                self._on_show()

    def refresh(self) -> None:
        with self._lock:
            if self.live is not None:
                self.live.refresh()

    def close(self) -> None:
        """Cancel a display not shown yet; erase a live one."""
        with self._lock:
            self.closed = True
            if self._timer is not None:
                self._timer.cancel()
            live, self.live = self.live, None
            if live is not None:
                live.stop()


class RichProgressView(ProgressView):
    """Nothing for a short wait; a live status panel once it lasts; one line at the end.

    Where no live panel can be drawn (a file, Jupyter without ipywidgets) the
    stage changes of a long wait are printed as lines instead.
    """

    def __init__(
        self,
        console: Console,
        *,
        show_after: float = SHOW_AFTER_SECONDS,
        clock: Clock = time.monotonic,
    ) -> None:
        self._console = console
        self._show_after = show_after
        self._clock = clock
        self._elapsed = ElapsedTime(clock=clock)
        self._panel: StatusPanel | None = None
        self._display: _LiveDisplay | None = None
        self._lines = tables.StatusLines()
        self._lines_lock = threading.Lock()  # the timer and the waiting thread both print

    @never_raise
    def begin(self, snapshot: JobSnapshot) -> None:
        self._elapsed.sync(snapshot.elapsed_seconds)
        self._panel = StatusPanel(snapshot, self._elapsed, self._clock)
        self._display = _LiveDisplay(
            self._console,
            self._panel,
            self._show_after - snapshot.elapsed_seconds,
            lambda: self._print_change(self._panel.snapshot if self._panel else snapshot),
        )

    def _print_change(self, snapshot: JobSnapshot) -> None:
        with self._lines_lock:
            line = self._lines.next_line(snapshot)
        if line is not None:
            self._console.print(Text(line, style=stage_style(tables.status_name(snapshot))))

    @never_raise
    def update(self, snapshot: JobSnapshot) -> None:
        self._elapsed.sync(snapshot.elapsed_seconds)
        if self._panel is None:
            self._panel = StatusPanel(snapshot, self._elapsed, self._clock)
        self._panel.snapshot = snapshot
        display = self._display
        if display is None:
            return
        if not display.shown and snapshot.elapsed_seconds >= self._show_after:
            display.show()  # the timer is late (or cannot run): the wait is long already
        elif display.live is not None:
            display.refresh()
        elif display.shown:
            self._print_change(snapshot)

    @never_raise
    def finish(self, snapshot: JobSnapshot, *, results_folder: str | None = None) -> None:
        self._elapsed.freeze(snapshot.elapsed_seconds)
        if self._panel is not None:
            self._panel.snapshot = snapshot
        if self._display is not None:
            self._display.close()
        name = tables.status_name(snapshot)
        style = f"bold {STAGE_STYLES[name]}" if name in ("SUCCESS", "ERROR") else "bold yellow"
        mark = final_mark(name, self._console.options.ascii_only)
        line = tables.finish_line(snapshot)  # one compact line; the folder is job.results_folder
        self._console.print(Text(f"{mark} {line}" if mark else line, style=style), soft_wrap=True)


class RichBatchView(BatchView):
    """One bar for a batch: live once the wait lasts, and one line (the bar at its end) after."""

    def __init__(
        self,
        console: Console,
        snapshot: BatchSnapshot,
        *,
        show_after: float = SHOW_AFTER_SECONDS,
        clock: Clock = time.monotonic,
    ) -> None:
        self._console = console
        self.bar = BatchBar(snapshot, clock)
        self._display = _LiveDisplay(console, self.bar, show_after, lambda: None)

    @never_raise
    def update(self, snapshot: BatchSnapshot) -> None:
        self.bar.snapshot = snapshot
        self._display.refresh()

    @never_raise
    def finish(self, snapshot: BatchSnapshot) -> None:
        self.bar.finish(snapshot)
        self._display.close()
        self._console.print(self.bar)


class RichRenderer(Renderer):
    """Shows everything on a Rich console (a new ``Console()`` unless one is given).

    Live displays appear only once a wait lasts ``show_after`` seconds; ``clock``
    is what they read the time from (a test hands in a fake one).
    """

    def __init__(
        self,
        console: Console | None = None,
        *,
        show_after: float = SHOW_AFTER_SECONDS,
        clock: Clock = time.monotonic,
    ) -> None:
        self.console = console if console is not None else Console()
        self.show_after = show_after
        self.clock = clock

    def start_progress(self, snapshot: JobSnapshot) -> ProgressView:
        view = RichProgressView(self.console, show_after=self.show_after, clock=self.clock)
        view.begin(snapshot)
        return view

    def start_batch(self, snapshot: BatchSnapshot) -> BatchView:
        return RichBatchView(self.console, snapshot, show_after=self.show_after, clock=self.clock)

    @never_raise
    def show_quota(self, disk: DiskQuota, projects: Sequence[ProjectQuota]) -> None:
        self.console.print(QuotaView(disk, projects))

    @never_raise
    def show_jobs(self, user: str, jobs: Sequence[JobInfo]) -> None:
        self.console.print(JobsView(user, jobs))

    @never_raise
    def show_error(self, error: BaseException) -> None:
        self.console.print(Text(tables.error_line(error), style="bold red"), soft_wrap=True)

    @never_raise
    def show_message(self, text: str, *, level: str = "info") -> None:
        style = MESSAGE_STYLES.get(str(level).lower(), "")
        self.console.print(Text(str(text), style=style), soft_wrap=True)
