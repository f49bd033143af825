"""The Rich renderer, printed to a plain StringIO console and read back as text."""

from __future__ import annotations

import io
import sys
import threading
import time
import warnings

import pytest
from rich.console import Console
from tests.support.renderers import (
    DISK,
    JOBS,
    PROJECTS,
    output,
    plain_console,
    queued,
    snapshot,
)
from tests.support.terminal import screen_lines

from qibo_client.adapters.rich_renderer import RichRenderer
from qibo_client.adapters.rich_views import ElapsedTime, StatusPanel
from qibo_client.bootstrap import build_renderer
from qibo_client.domain.records import DiskQuota, JobInfo, Partition, ProjectQuota
from qibo_client.domain.status import QiboJobStatus
from qibo_client.exceptions import QiboApiError


def _cells_clean(text: str, first: str) -> list[str]:
    """The cells of the first row whose first cell is ``first`` (cells part at 2+ spaces)."""
    for line in text.splitlines():
        cells = [cell.strip() for cell in line.strip("│ ").split("  ") if cell.strip()]
        if cells and cells[0] == first:
            return cells
    raise AssertionError(f"no row starts with {first!r} in:\n{text}")


def test_quota_panel_shows_the_disk_line_and_every_project():
    console = plain_console(width=160)  # at 120 Rich rightly wraps the long description
    RichRenderer(console).show_quota(DISK, PROJECTS)
    text = output(console)
    assert "User: ada@lab.org    Disk used: 500.00 KB of 2000.00 KB (1500.00 KB left)" in text
    assert _cells_clean(text, "Project") == [
        "Project",
        "Device",
        "Qubits",
        "Type",
        "Description",
        "Status",
        "Time Left [s]",
        "Shots Left",
        "Jobs Left",
    ]
    assert _cells_clean(text, "personal") == [
        "personal",
        "numpy",
        "30",
        "simulator",
        "CPU simulator",
        "available",
        "7200",
        "1000000",
        "42",
    ]
    # Server text is shown as sent, never read as markup; missing values are '-'.
    assert _cells_clean(text, "lab-qpu") == [
        "lab-qpu",
        "qpu1",
        "-",
        "-",
        "[bold]five qubits[/]",
        "-",
        "-",
        "-",
        "-",
    ]


def test_jobs_table_formats_dates_and_tolerates_bad_ones():
    console = plain_console()
    RichRenderer(console).show_jobs("ada@lab.org", JOBS)
    text = output(console)
    assert "Jobs of ada@lab.org" in text
    assert _cells_clean(text, "PID") == ["PID", "Created At", "Updated At", "Status", "Results"]
    assert _cells_clean(text, "job-a") == [
        "job-a",
        "2026-11-23 10:00:00",
        "2026-11-23 10:05:07",
        "success",
        "/results/job-a.tar.gz",
    ]
    assert _cells_clean(text, "job-b") == ["job-b", "yesterday-ish", "-", "error", "-"]
    assert _cells_clean(text, "job-c") == ["job-c", "-", "2026-11-23 11:00:00", "running", "-"]


def test_api_error_is_one_line_with_its_summary():
    console = plain_console(width=40)
    error = QiboApiError(503, "POST", "https://cloud.qibo.science/api/jobs/", "Server busy")
    RichRenderer(console).show_error(error)
    assert output(console) == (
        "[503 Error] Server busy (POST https://cloud.qibo.science/api/jobs/)\n"
    )


def test_other_errors_and_messages_are_single_lines():
    console = plain_console()
    renderer = RichRenderer(console)
    renderer.show_error(KeyError("device"))
    renderer.show_message("Deleted job [x]", level="warning")
    renderer.show_message("plain :smile:")
    assert output(console).splitlines() == [
        "KeyError: 'device'",
        "Deleted job [x]",
        "plain :smile:",
    ]


def _run_job(renderer: RichRenderer) -> None:
    view = renderer.start_progress(queued(elapsed_seconds=0.0))
    view.update(queued(elapsed_seconds=1.0))
    view.update(snapshot(QiboJobStatus.RUNNING, elapsed_seconds=2.0))
    view.update(snapshot(QiboJobStatus.SUCCESS, elapsed_seconds=3.0))
    view.finish(snapshot(QiboJobStatus.SUCCESS, elapsed_seconds=3.04), results_folder="/res/pid-1")


def test_progress_on_a_file_prints_a_long_waits_stages_then_one_banner():
    console = plain_console()
    _run_job(RichRenderer(console))  # updates past 1 s: a long wait, told in lines
    assert output(console).splitlines() == [
        "Job pid-1 QUEUEING (device numpy, project personal): "
        "position 3 in queue, estimated start in 1:02:05",
        "Job pid-1 RUNNING (device numpy, project personal)",
        "✔ Job pid-1 finished: SUCCESS in 3.0 s",  # compact: the folder is job.results_folder
    ]


def test_final_status_panel_shows_every_field():
    console = plain_console()
    elapsed = ElapsedTime()
    elapsed.freeze(3.04)
    console.print(StatusPanel(snapshot(QiboJobStatus.SUCCESS), elapsed))
    panel = output(console)
    for label, value in [
        ("Status", "✔ SUCCESS"),
        ("Queue position", "-"),
        ("Estimated start", "-"),
        ("Elapsed", "0:00:03"),
        ("Device", "numpy"),
        ("Project", "personal"),
        ("Job", "pid-1"),
        ("Server", "https://cloud.qibo.science"),
    ]:
        assert _cells_clean(panel, label) == [label, value]


def test_status_panel_shows_queue_position_and_estimated_start_while_queued():
    console = plain_console()
    console.print(StatusPanel(queued(), ElapsedTime(65)))
    text = output(console)
    assert _cells_clean(text, "Queue position") == ["Queue position", "3"]
    assert _cells_clean(text, "Estimated start") == ["Estimated start", "1:02:05"]
    status = _cells_clean(text, "Status")
    assert status[0] == "Status" and status[-1].endswith("QUEUEING")
    assert "✔" not in status[-1]  # a spinner, not a final mark


def test_server_url_is_shown_without_credentials_or_query():
    console = plain_console()
    shown = snapshot(None, base_url="https://ada:secret@qibo.lab:8443/api?token=abc#x")
    console.print(StatusPanel(shown, ElapsedTime()))
    text = output(console)
    assert _cells_clean(text, "Server") == ["Server", "https://qibo.lab:8443/api"]
    assert "secret" not in text and "abc" not in text


def test_failed_and_interrupted_waits_have_their_own_banner():
    console = plain_console()
    renderer = RichRenderer(console)
    renderer.start_progress(snapshot(QiboJobStatus.RUNNING)).finish(
        snapshot(QiboJobStatus.ERROR, elapsed_seconds=3725)
    )
    renderer.start_progress(snapshot(QiboJobStatus.RUNNING)).finish(
        snapshot(QiboJobStatus.RUNNING, elapsed_seconds=1.0)
    )
    banners = [line for line in output(console).splitlines() if line[:1] not in "╭│╰"]
    assert banners == [
        "✘ Job pid-1 finished: ERROR in 1:02:05",
        "Stopped waiting for job pid-1 (last status RUNNING) after 1.0 s",
    ]


def test_missing_fields_never_raise():
    console = plain_console()
    renderer = RichRenderer(console)
    bare = snapshot(None, status_text="", base_url="", device=None, project=None, pid="p")
    view = renderer.start_progress(bare)
    view.update(bare)
    view.finish(bare)
    renderer.show_quota(DiskQuota("", float("nan"), 0.0), [ProjectQuota("p", Partition(""))])
    renderer.show_jobs("", [JobInfo("j", "")])

    class Unprintable(Exception):
        def __str__(self) -> str:
            raise RuntimeError("no text")

    renderer.show_error(Unprintable())
    text = output(console)
    assert "Stopped waiting for job p (last status UNKNOWN)" in text
    assert _cells_clean(text, "j") == ["j", "-", "-", "-", "-"]
    assert text.rstrip().endswith("Unprintable")


def test_a_broken_console_is_reported_on_stderr_not_raised(capsys):
    class Broken(io.StringIO):
        def write(self, text: str) -> int:
            raise OSError("disk full")

    renderer = RichRenderer(Console(file=Broken(), width=80))
    renderer.show_message("hello")
    renderer.show_jobs("u", JOBS)
    view = renderer.start_progress(queued())
    view.update(queued())
    view.finish(snapshot(QiboJobStatus.SUCCESS))
    err = capsys.readouterr().err
    assert "qibo-client: could not display (OSError: disk full)" in err


def _refresh_threads() -> int:
    """How many Rich ``Live`` refresh threads are running."""
    return sum(type(thread).__name__ == "_RefreshThread" for thread in threading.enumerate())


def _until(check, timeout: float = 5.0) -> bool:  # Rich signals its thread to stop, without joining
    deadline = time.monotonic() + timeout
    while not check() and time.monotonic() < deadline:
        time.sleep(0.02)
    return check()


def test_terminal_runs_a_live_panel_that_ticks_on_its_own():
    console = plain_console(terminal=True)
    assert _until(lambda: _refresh_threads() == 0)  # those of earlier tests are gone
    view = RichRenderer(console, show_after=0).start_progress(queued())  # a long wait, live now
    assert _refresh_threads() == 1
    time.sleep(0.8)  # no update: only the refresh thread redraws (about 4 times a second)
    drawn = output(console).count("Qibo job")
    assert drawn >= 2
    assert "1:02:05" in output(console)
    view.update(snapshot(QiboJobStatus.RUNNING, elapsed_seconds=1.0))
    view.finish(snapshot(QiboJobStatus.SUCCESS, elapsed_seconds=1.5))
    assert _until(lambda: _refresh_threads() == 0)
    # The panel is erased: the wait leaves one line on the screen.
    assert screen_lines(output(console), 120) == ["✔ Job pid-1 finished: SUCCESS in 1.5 s"]


def test_elapsed_time_counts_between_updates_and_freezes_at_the_end():
    elapsed = ElapsedTime(10.0)
    first = elapsed.seconds
    time.sleep(0.05)
    assert elapsed.seconds > first >= 10.0
    elapsed.freeze(12.0)
    assert elapsed.seconds == 12.0


def test_ascii_console_gets_ascii_marks():
    class AsciiFile(io.StringIO):
        encoding = "ascii"

    console = Console(file=AsciiFile(), width=80, color_system=None)
    RichRenderer(console).start_progress(snapshot(QiboJobStatus.RUNNING)).finish(
        snapshot(QiboJobStatus.SUCCESS, elapsed_seconds=1.0)
    )
    text = output(console)
    assert text.splitlines()[-1] == "+ Job pid-1 finished: SUCCESS in 1.0 s"
    assert text.isascii()


def test_jupyter_without_ipywidgets_prints_instead_of_going_live(capsys, monkeypatch):
    pytest.importorskip("IPython")
    monkeypatch.setitem(sys.modules, "ipywidgets", None)  # as if it were not installed
    console = Console(file=io.StringIO(), force_jupyter=True, width=100, color_system=None)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # Rich's 'install "ipywidgets"' warning would fail here
        _run_job(RichRenderer(console))
    shown = capsys.readouterr().out
    # Outside a kernel IPython shows each printed renderable as one repr line:
    # two stage lines of the long wait (queueing, running), then the banner.
    assert shown.count("JupyterRenderable") == 3


def test_the_rich_plugin_builds_this_renderer():
    assert type(build_renderer("rich")) is RichRenderer


NOTEBOOK_CELL = """
import sys
sys.modules["ipywidgets"] = None  # as if it were not installed

from qibo_client.bootstrap import build_renderer
from qibo_client.ports import JobSnapshot
from qibo_client.domain.status import QiboJobStatus as S

renderer = build_renderer()  # auto-detection must pick a Rich renderer inside a kernel
print(type(renderer).__name__, renderer.console.is_jupyter)
snap = lambda st, **k: JobSnapshot(pid="nb-1", status=st, status_text=st.name, base_url="x://", **k)
view = renderer.start_progress(snap(S.QUEUEING))
view.update(snap(S.QUEUEING, queue_position=2, seconds_to_job_start=5, elapsed_seconds=1.5))
view.update(snap(S.RUNNING, elapsed_seconds=2.0))
view.finish(snap(S.SUCCESS, elapsed_seconds=2.5))
"""


@pytest.mark.slow
def test_a_real_jupyter_kernel_shows_the_job_without_ipywidgets(monkeypatch):
    nbformat = pytest.importorskip("nbformat")
    nbclient = pytest.importorskip("nbclient")
    monkeypatch.delenv("QIBO_CLIENT_UI", raising=False)
    notebook = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(NOTEBOOK_CELL)])
    nbclient.NotebookClient(notebook, timeout=120, kernel_name="python3").execute()
    outputs = notebook.cells[0].outputs
    streams = {o.name: o.text for o in outputs if o.output_type == "stream"}
    shown = [o.data.get("text/plain", "") for o in outputs if o.output_type == "display_data"]
    assert streams["stdout"].strip() == "NotebookRenderer True"
    assert "ipywidgets" not in streams.get("stderr", "")
    # Each stage of the long wait is printed once, then the one closing line.
    assert len(shown) == 3, shown
    assert "Job nb-1 QUEUEING: position 2 in queue, estimated start in 0:00:05" in shown[0]
    assert "Job nb-1 RUNNING" in shown[1]
    assert "Job nb-1 finished: SUCCESS in 2.5 s" in shown[2]


def test_a_waiting_job_draws_its_panel_then_leaves_one_line():
    from tests.support.fakes import ScriptedTransport

    from qibo_client.qibo_job import QiboJob

    console = plain_console(terminal=True)
    transport = ScriptedTransport(["queueing", "running", "success"])
    renderer = RichRenderer(console, show_after=0)  # as a long wait: the panel is drawn
    job = QiboJob("job-9", "fake://server", transport=transport, renderer=renderer)
    assert job.wait(wait=0.0) is QiboJobStatus.SUCCESS
    drawn = output(console)
    last_frame_first = "\n".join(reversed(drawn.splitlines()))
    assert _cells_clean(last_frame_first, "Device") == ["Device", "numpy"]
    assert _cells_clean(last_frame_first, "Server") == ["Server", "fake://server"]
    (line,) = screen_lines(drawn, 120)
    assert line.startswith("✔ Job job-9 finished: SUCCESS in ")
