"""The notebook renderer: Rich for jobs and tables, a Jupyter progress bar for batches.

Chosen inside a Jupyter kernel. A batch shows an ipywidgets progress bar with
its counts, elapsed time and estimate beside it (``pip install
'qibo-client[notebook]'``). Without ipywidgets, or with ``widgets=False`` (a
notebook converted to HTML keeps no widget), the same line is displayed once
and updated in place through IPython's display ids: readable anywhere a
notebook's outputs are. Single jobs, tables and messages are drawn as the
Rich renderer draws them.
"""

from __future__ import annotations

import html
import time
from collections.abc import Callable
from typing import Any

from rich.console import Console

from qibo_client.adapters.rich_renderer import RichRenderer, never_raise
from qibo_client.ports.renderer import BatchSnapshot, BatchView
from qibo_client.presentation import tables

Display = Callable[..., Any]
#: Seconds between two in-place updates of a batch's text line (the last is always shown).
TEXT_UPDATE_EVERY = 0.25


def widgets_available() -> bool:
    """True when ipywidgets can be imported (the ``notebook`` extra)."""
    try:
        import ipywidgets  # noqa: F401
    except ImportError:
        return False
    return True


def _ipython_display() -> Display:
    from IPython.display import display

    return display


def _line(snapshot: BatchSnapshot, final: bool) -> str:
    return tables.batch_finish_line(snapshot) if final else tables.batch_line(snapshot)


class BatchText:
    """A batch's state as a notebook output: an HTML ``<progress>`` and a line, or plain text."""

    WIDTH = 20

    def __init__(self, snapshot: BatchSnapshot, final: bool = False) -> None:
        self.snapshot, self.final = snapshot, final

    def __repr__(self) -> str:
        snap = self.snapshot
        filled = self.WIDTH * snap.done // max(snap.total, 1)
        bar = "#" * filled + "-" * (self.WIDTH - filled)
        return f"[{bar}] {_line(snap, self.final)}"

    def _repr_html_(self) -> str:
        snap = self.snapshot
        return (
            f'<progress value="{snap.done}" max="{max(snap.total, 1)}"></progress> '
            f"<span>{html.escape(_line(snap, self.final))}</span>"
        )


class DisplayBatchView(BatchView):
    """One output for the batch, updated in place (no widgets needed)."""

    def __init__(
        self,
        snapshot: BatchSnapshot,
        *,
        display: Display | None = None,
        every: float = TEXT_UPDATE_EVERY,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._every, self._clock = every, clock
        self._last = clock()
        show = display if display is not None else _ipython_display()
        self._handle = show(BatchText(snapshot), display_id=True)

    @never_raise
    def update(self, snapshot: BatchSnapshot) -> None:
        now = self._clock()
        if self._handle is not None and now - self._last >= self._every:
            self._last = now
            self._handle.update(BatchText(snapshot))

    @never_raise
    def finish(self, snapshot: BatchSnapshot) -> None:
        if self._handle is not None:
            self._handle.update(BatchText(snapshot, final=True))


class WidgetBatchView(BatchView):
    """An ipywidgets ``IntProgress`` bar (``n`` of ``N``) with the batch's line beside it."""

    def __init__(self, snapshot: BatchSnapshot, *, display: Display | None = None) -> None:
        import ipywidgets

        self.bar = ipywidgets.IntProgress(
            value=snapshot.done, min=0, max=max(snapshot.total, 1), description="Jobs"
        )
        self.label = ipywidgets.HTML(value=html.escape(_line(snapshot, False)))
        self.box = ipywidgets.HBox([self.bar, self.label])
        (display if display is not None else _ipython_display())(self.box)

    @never_raise
    def update(self, snapshot: BatchSnapshot) -> None:
        self.bar.value = snapshot.done
        self.label.value = html.escape(_line(snapshot, False))

    @never_raise
    def finish(self, snapshot: BatchSnapshot) -> None:
        self.bar.value = snapshot.done
        if snapshot.counts.get("error"):
            self.bar.bar_style = "danger"
        elif snapshot.done < snapshot.total:
            self.bar.bar_style = "warning"
        else:
            self.bar.bar_style = "success"
        self.label.value = html.escape(_line(snapshot, True))


class NotebookRenderer(RichRenderer):
    """The Rich renderer, with a batch's progress drawn as a notebook bar.

    ``widgets``: ``True`` or ``False`` to choose; ``None`` (default) uses
    ipywidgets when it is installed. ``display`` replaces IPython's
    ``display`` (tests hand in a recorder).
    """

    def __init__(
        self,
        console: Console | None = None,
        *,
        widgets: bool | None = None,
        display: Display | None = None,
        **options: Any,
    ) -> None:
        super().__init__(console, **options)
        self.widgets = widgets
        self._display = display

    def start_batch(self, snapshot: BatchSnapshot) -> BatchView:
        use_widgets = widgets_available() if self.widgets is None else self.widgets
        try:
            if use_widgets:
                return WidgetBatchView(snapshot, display=self._display)
            return DisplayBatchView(snapshot, display=self._display, clock=self.clock)
        except Exception:  # no IPython, say: still show the batch, as Rich would
            return super().start_batch(snapshot)
