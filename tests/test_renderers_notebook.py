"""The notebook renderer: a batch's bar as an ipywidgets widget, or a text line updated in place."""

from __future__ import annotations

import io
from collections.abc import Callable
from typing import Any

import pytest
from rich.console import Console

from qibo_client.adapters.notebook_renderer import (
    BatchText,
    DisplayBatchView,
    NotebookRenderer,
    WidgetBatchView,
)
from qibo_client.adapters.rich_renderer import RichBatchView
from qibo_client.bootstrap import build_renderer
from qibo_client.ports import BatchSnapshot
from qibo_client.testing.contract import RendererContract


def _batch(
    total: int, elapsed: float = 0.0, left: float | None = None, **counts: int
) -> BatchSnapshot:
    done = counts.get("success", 0) + counts.get("error", 0)
    return BatchSnapshot(total, done, dict(counts), elapsed, left)


class Handle:
    """What IPython's ``display(..., display_id=True)`` returns: a way to replace that output."""

    def __init__(self, shown: Any) -> None:
        self.shown = [shown]

    def update(self, obj: Any) -> None:
        self.shown.append(obj)


class Display:
    """A stand-in for IPython's ``display``: records what is shown, hands out handles."""

    def __init__(self) -> None:
        self.calls: list[tuple[Any, dict[str, Any]]] = []
        self.handles: list[Handle] = []

    def __call__(self, obj: Any, **options: Any) -> Handle | None:
        self.calls.append((obj, options))
        if options.get("display_id"):
            self.handles.append(Handle(obj))
            return self.handles[-1]
        return None


class FakeClock:
    def __init__(self) -> None:
        self.now = 50.0

    def __call__(self) -> float:
        return self.now


def test_the_widget_bar_counts_jobs_and_ends_in_a_colour():
    pytest.importorskip("ipywidgets")
    display = Display()
    view = WidgetBatchView(_batch(3, queueing=3), display=display)
    assert [obj for obj, _ in display.calls] == [view.box]
    assert (view.bar.value, view.bar.max, view.bar.description) == (0, 3, "Jobs")
    assert view.label.value == "0/3 done (3 queueing), 0:00:00 elapsed"
    view.update(_batch(3, 2.0, 1.0, success=2, running=1))
    assert view.bar.value == 2
    assert (
        view.label.value == "2/3 done (2 success, 1 running), 0:00:02 elapsed, about 0:00:01 left"
    )
    view.finish(_batch(3, 3.0, 0.0, success=3))
    assert (view.bar.value, view.bar.bar_style) == (3, "success")
    assert view.label.value == "3/3 done (3 success) in 3.0 s"


@pytest.mark.parametrize(
    ("last", "style"),
    [
        (_batch(2, 1.0, 0.0, success=1, error=1), "danger"),
        (_batch(2, 9.0, 9.0, running=2), "warning"),
    ],
    ids=["a-job-failed", "stopped-early"],
)
def test_the_widget_bar_tells_failures_and_early_stops_apart(last, style):
    pytest.importorskip("ipywidgets")
    view = WidgetBatchView(_batch(2, queueing=2), display=Display())
    view.finish(last)
    assert view.bar.bar_style == style


def test_server_text_in_the_widget_label_is_escaped():
    pytest.importorskip("ipywidgets")
    view = WidgetBatchView(_batch(1, **{"<b>odd</b>": 1}), display=Display())
    assert "<b>" not in view.label.value and "&lt;b&gt;odd&lt;/b&gt;" in view.label.value


def test_without_widgets_one_output_is_updated_in_place_and_throttled():
    display, clock = Display(), FakeClock()
    view = DisplayBatchView(_batch(10, queueing=10), display=display, every=0.25, clock=clock)
    (handle,) = display.handles
    clock.now += 0.1
    view.update(_batch(10, 0.1, None, running=10))  # too soon after the last: skipped
    clock.now += 0.5
    view.update(_batch(10, 0.6, 0.6, success=5, running=5))
    view.finish(_batch(10, 1.2, 0.0, success=10))
    assert [repr(shown) for shown in handle.shown] == [
        "[--------------------] 0/10 done (10 queueing), 0:00:00 elapsed",
        "[##########----------] 5/10 done (5 success, 5 running), 0:00:01 elapsed, about 0:00:01 left",
        "[####################] 10/10 done (10 success) in 1.2 s",
    ]
    last = handle.shown[-1]
    assert isinstance(last, BatchText)
    assert last._repr_html_() == (
        '<progress value="10" max="10"></progress> <span>10/10 done (10 success) in 1.2 s</span>'
    )


def test_the_notebook_renderer_picks_widgets_or_the_text_line():
    pytest.importorskip("ipywidgets")
    console = Console(file=io.StringIO(), width=100)
    widgets = NotebookRenderer(console, display=Display()).start_batch(_batch(2))
    assert isinstance(widgets, WidgetBatchView)  # ipywidgets is installed: the widget
    text = NotebookRenderer(console, widgets=False, display=Display()).start_batch(_batch(2))
    assert isinstance(text, DisplayBatchView)


def test_without_ipython_the_batch_is_drawn_as_rich_draws_it():
    def broken(*_: Any, **__: Any) -> None:
        raise ImportError("No module named 'IPython'")

    console = Console(file=io.StringIO(), width=100)
    renderer = NotebookRenderer(console, widgets=False, display=broken)
    assert isinstance(renderer.start_batch(_batch(2)), RichBatchView)


def test_the_notebook_plugin_builds_this_renderer():
    assert type(build_renderer("notebook")) is NotebookRenderer


class TestNotebookRendererContract(RendererContract):
    @pytest.fixture
    def screen(self) -> io.StringIO:
        return io.StringIO()

    @pytest.fixture
    def renderer(self, screen: io.StringIO) -> NotebookRenderer:
        return NotebookRenderer(Console(file=screen, width=100), display=Display())

    @pytest.fixture
    def renderer_output(self, screen: io.StringIO) -> Callable[[], str]:
        return screen.getvalue


BATCH_CELL = """
from qibo import Circuit, gates
from qibo_client.bootstrap import build_renderer
from qibo_client.testing import mock_client

renderer = build_renderer()  # auto-detection inside a kernel
print(type(renderer).__name__)
circuit = Circuit(1)
circuit.add(gates.M(0))
client = mock_client(renderer=renderer)
client.wait_all([client.run_circuit(circuit, device="numpy", nshots=10) for _ in range(3)])
"""

TEXT_CELL = """
from qibo_client.adapters.notebook_renderer import NotebookRenderer

client = mock_client(renderer=NotebookRenderer(widgets=False))
client.wait_all([client.run_circuit(circuit, device="numpy", nshots=10) for _ in range(3)])
"""


LONG_JOB_CELL = """
from qibo_client.testing import ScriptedTransport
from qibo_client.qibo_job import QiboJob

statuses = ["queueing"] * 8 + ["success"]  # about 2.4 s of waiting: the live panel appears
job = QiboJob("nb-2", "fake://server", transport=ScriptedTransport(statuses), renderer=renderer)
print(job.wait(wait=0.3).name)
"""


@pytest.mark.slow
def test_a_real_kernel_shows_a_batch_as_a_widget_or_a_text_line(monkeypatch):
    pytest.importorskip("ipywidgets")
    nbformat = pytest.importorskip("nbformat")
    nbclient = pytest.importorskip("nbclient")
    monkeypatch.delenv("QIBO_CLIENT_UI", raising=False)
    notebook = nbformat.v4.new_notebook(
        cells=[nbformat.v4.new_code_cell(code) for code in (BATCH_CELL, TEXT_CELL, LONG_JOB_CELL)]
    )
    nbclient.NotebookClient(
        notebook, timeout=180, kernel_name="python3", store_widget_state=True
    ).execute()

    widget_cell, text_cell, job_cell = (cell.outputs for cell in notebook.cells)
    assert [o.text.strip() for o in widget_cell if o.output_type == "stream"] == [
        "NotebookRenderer"
    ]
    (view,) = [o for o in widget_cell if o.output_type == "display_data"]
    assert "application/vnd.jupyter.widget-view+json" in view.data
    states = notebook.metadata.widgets["application/vnd.jupyter.widget-state+json"]["state"]
    (bar,) = [s["state"] for s in states.values() if s["model_name"] == "IntProgressModel"]
    assert (bar["value"], bar["max"], bar["bar_style"]) == (3, 3, "success")
    labels = [s["state"]["value"] for s in states.values() if s["model_name"] == "HTMLModel"]
    assert any(label.startswith("3/3 done (3 success) in ") for label in labels), labels

    # The text line was displayed once and replaced in place: one output, at its end.
    (line,) = [o for o in text_cell if o.output_type == "display_data"]
    assert line.data["text/plain"].startswith("[####################] 3/3 done (3 success) in ")
    assert '<progress value="3" max="3">' in line.data["text/html"]

    # A long single job: Rich's live panel (an Output widget, shown from a timer thread)
    # lands in the cell that waits, and one closing line follows it.
    shown = [o.data for o in job_cell if o.output_type == "display_data"]
    assert "application/vnd.jupyter.widget-view+json" in shown[0]
    assert "Job nb-2 finished: SUCCESS in " in shown[-1]["text/plain"]
    assert [o.text.strip() for o in job_cell if o.output_type == "stream"] == ["SUCCESS"]
