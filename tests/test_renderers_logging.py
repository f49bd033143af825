"""The logging renderer: one line per stage change, aligned tables, a polite default handler."""

from __future__ import annotations

import logging
import subprocess
import sys
import time

import pytest
from tests.support.renderers import (
    DISK,
    JOBS,
    PROJECTS,
    bare_logging,
    listening_logger,
    queued,
    snapshot,
)

from qibo_client.adapters.logging_renderer import LoggingRenderer, attach_default_handler
from qibo_client.bootstrap import build_renderer
from qibo_client.domain.status import QiboJobStatus
from qibo_client.exceptions import QiboApiError
from qibo_client.presentation import tables


@pytest.fixture
def captured(request: pytest.FixtureRequest):
    """A renderer whose waits count as long from the start (``show_after=0``): stage lines at once."""
    logger, handler = listening_logger(f"qibo_client.tests.{request.node.name}")
    return LoggingRenderer(logger, show_after=0), handler


def test_a_short_job_logs_only_its_final_line():
    logger, handler = listening_logger("qibo_client.tests.short_job")
    view = LoggingRenderer(logger).start_progress(queued())
    view.update(snapshot(QiboJobStatus.RUNNING, elapsed_seconds=0.3))
    view.finish(snapshot(QiboJobStatus.SUCCESS, elapsed_seconds=0.4), results_folder="/r/pid-1")
    assert handler.messages == ["Job pid-1 finished: SUCCESS in 0.4 s; results in /r/pid-1"]


def test_a_long_wait_logs_its_stage_once_it_has_lasted():
    logger, handler = listening_logger("qibo_client.tests.long_wait")
    view = LoggingRenderer(logger, show_after=0.1).start_progress(queued())
    assert handler.messages == []
    deadline = time.monotonic() + 5
    while not handler.messages and time.monotonic() < deadline:
        time.sleep(0.02)  # no update comes (a held long-poll): the timer tells the stage
    view.update(queued(elapsed_seconds=2.0))
    view.finish(snapshot(QiboJobStatus.SUCCESS, elapsed_seconds=3.0))
    assert handler.messages == [
        "Job pid-1 QUEUEING (device numpy, project personal): "
        "position 3 in queue, estimated start in 1:02:05",
        "Job pid-1 finished: SUCCESS in 3.0 s",
    ]


def test_progress_logs_one_line_per_status_change(captured):
    renderer, handler = captured
    view = renderer.start_progress(queued())
    for elapsed in (0.5, 1.0, 1.5):
        view.update(queued(elapsed_seconds=elapsed))
    for elapsed in (2.0, 2.5, 3.0):
        view.update(snapshot(QiboJobStatus.RUNNING, elapsed_seconds=elapsed))
    view.update(snapshot(QiboJobStatus.SUCCESS, elapsed_seconds=3.25))
    view.finish(snapshot(QiboJobStatus.SUCCESS, elapsed_seconds=3.25), results_folder="/r/pid-1")

    assert handler.messages == [
        "Job pid-1 QUEUEING (device numpy, project personal): "
        "position 3 in queue, estimated start in 1:02:05",
        "Job pid-1 RUNNING (device numpy, project personal)",
        "Job pid-1 finished: SUCCESS in 3.2 s; results in /r/pid-1",
    ]
    assert [r.levelno for r in handler.records] == [logging.INFO] * 3


def test_queue_details_arriving_late_are_told_once(captured):
    renderer, handler = captured
    view = renderer.start_progress(snapshot(QiboJobStatus.PENDING))
    view.update(snapshot(QiboJobStatus.PENDING, queue_position=2))
    view.update(snapshot(QiboJobStatus.PENDING, queue_position=1, seconds_to_job_start=4))
    assert handler.messages == [
        "Job pid-1 PENDING (device numpy, project personal)",
        "Job pid-1 PENDING: position 2 in queue",
    ]


def test_failed_job_and_stopped_wait_are_reported(captured):
    renderer, handler = captured
    renderer.start_progress(snapshot(QiboJobStatus.RUNNING)).finish(
        snapshot(QiboJobStatus.ERROR, elapsed_seconds=75)
    )
    view = renderer.start_progress(snapshot(None, status_text="LOADING"))  # no line yet
    view.update(snapshot(None, status_text="CANCELLED"))  # a stage we do not know is told
    view.finish(snapshot(QiboJobStatus.RUNNING, elapsed_seconds=0.04))
    assert handler.messages[1] == "Job pid-1 finished: ERROR in 0:01:15"
    assert handler.records[1].levelno == logging.ERROR
    assert handler.messages[2:] == [
        "Job pid-1 CANCELLED (device numpy, project personal)",
        "Stopped waiting for job pid-1 (last status RUNNING) after 0.0 s",
    ]


def _columns(table: str) -> list[list[str]]:
    """Split an aligned table at the header's column starts; fails if a cell straddles."""
    lines = table.splitlines()
    header = lines[0]
    starts = [0] + [
        i for i in range(2, len(header)) if header[i - 2 : i] == "  " and header[i] != " "
    ]
    cells = []
    for line in lines:
        row = []
        for n, start in enumerate(starts):
            end = starts[n + 1] if n + 1 < len(starts) else None
            chunk = line[start:end]
            assert start == 0 or line[start - 1 : start] in ("", " "), (line, start)
            row.append(chunk.strip())
        cells.append(row)
    return cells


def test_quota_is_one_record_with_an_aligned_table(captured):
    renderer, handler = captured
    renderer.show_quota(DISK, PROJECTS)
    (message,) = handler.messages
    summary, table = message.split("\n", 1)
    assert summary == "User: ada@lab.org    Disk used: 500.00 KB of 2000.00 KB (1500.00 KB left)"
    columns = _columns(table)
    assert all(cell and set(cell) == {"-"} for cell in columns[1])
    assert [columns[0], *columns[2:]] == [
        list(tables.QUOTA_HEADERS),
        [
            "personal",
            "numpy",
            "30",
            "simulator",
            "CPU simulator",
            "available",
            "7200",
            "1000000",
            "42",
        ],
        ["lab-qpu", "qpu1", "-", "-", "[bold]five qubits[/]", "-", "-", "-", "-"],
    ]


def test_jobs_are_one_record_with_an_aligned_table(captured):
    renderer, handler = captured
    renderer.show_jobs("ada@lab.org", JOBS)
    (message,) = handler.messages
    title, table = message.split("\n", 1)
    assert title == "Jobs of ada@lab.org"
    assert _columns(table)[2:] == [
        ["job-a", "2026-11-23 10:00:00", "2026-11-23 10:05:07", "success", "/results/job-a.tar.gz"],
        ["job-b", "yesterday-ish", "-", "error", "-"],
        ["job-c", "-", "2026-11-23 11:00:00", "running", "-"],
    ]


def test_text_table_pads_every_column_to_its_widest_cell():
    table = tables.text_table(("A", "Long header"), [("wide cell", "x"), ("y", "")])
    assert table.splitlines() == [
        "A          Long header",
        "---------  -----------",
        "wide cell  x",
        "y",
    ]


def test_errors_and_messages_keep_their_level(captured):
    renderer, handler = captured
    renderer.show_error(QiboApiError(404, "GET", "https://s/api/jobs/x/", "Not found"))
    renderer.show_error(ValueError("nshots must be positive"))
    renderer.show_message("careful", level="warning")
    renderer.show_message("plain")
    renderer.show_message("odd level", level="shout")
    assert handler.messages == [
        "[404 Error] Not found (GET https://s/api/jobs/x/)",
        "ValueError: nshots must be positive",
        "careful",
        "plain",
        "odd level",
    ]
    assert [r.levelno for r in handler.records] == [40, 40, 30, 20, 20]


def test_a_handler_is_attached_once_when_logging_is_unconfigured(monkeypatch, capsys):
    monkeypatch.delenv("QIBO_CLIENT_LOGGER_LEVEL", raising=False)
    with bare_logging() as ours:
        LoggingRenderer().show_message("first")
        LoggingRenderer().show_message("second")
        assert len(ours.handlers) == 1
        assert ours.level == logging.INFO
        assert logging.getLogger().handlers == []
    err = capsys.readouterr().err.splitlines()
    assert [line.split("] ", 1)[1] for line in err] == ["INFO: first", "INFO: second"]
    assert err[0].startswith("[") and len(err) == 2


def test_logging_configured_later_does_not_print_lines_twice(monkeypatch, capsys):
    monkeypatch.delenv("QIBO_CLIENT_LOGGER_LEVEL", raising=False)
    with bare_logging():
        renderer = LoggingRenderer()
        renderer.show_message("before")
        logging.getLogger().addHandler(logging.StreamHandler(sys.stdout))
        renderer.show_message("after")
    captured = capsys.readouterr()
    assert captured.err.count("before") == 1 and "after" not in captured.err
    assert captured.out == "after\n"


def test_no_handler_is_attached_when_the_root_logger_has_one():
    with bare_logging() as ours:
        root_handler = logging.NullHandler()
        logging.getLogger().addHandler(root_handler)
        LoggingRenderer()
        assert ours.handlers == []
        assert logging.getLogger().handlers == [root_handler]


def test_no_handler_is_attached_to_a_logger_that_has_one():
    with bare_logging("qibo_client.tests.own") as ours:
        own = logging.NullHandler()
        ours.addHandler(own)
        assert attach_default_handler(ours) is False
        assert ours.handlers == [own]


@pytest.mark.parametrize(
    ("value", "level"), [("DEBUG", 10), ("warning", 30), ("5", 5), ("nonsense", 20)]
)
def test_level_comes_from_the_environment(monkeypatch, value, level):
    monkeypatch.setenv("QIBO_CLIENT_LOGGER_LEVEL", value)
    with bare_logging() as ours:
        LoggingRenderer()
        assert ours.level == level


def test_a_logger_given_by_the_caller_is_left_alone():
    with bare_logging("qibo_client.tests.given") as given:
        LoggingRenderer(given)
        assert given.handlers == []


def test_importing_changes_no_logging_state():
    code = (
        "import logging, qibo_client, qibo_client.adapters.logging_renderer;"
        "print(logging.getLogger().handlers, logging.getLogger('qibo_client').handlers,"
        " logging.getLogger('qibo_client').level)"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=True
    )
    assert done.stdout.strip() == "[] [] 0"


def test_the_logging_plugin_builds_this_renderer():
    assert type(build_renderer("logging")) is LoggingRenderer


def test_a_waiting_job_logs_each_stage_once():
    from tests.support.fakes import ScriptedTransport

    from qibo_client.qibo_job import QiboJob

    logger, handler = listening_logger("qibo_client.tests.job_wait")
    transport = ScriptedTransport(["queueing", "queueing", "queueing", "running", "success"])
    renderer = LoggingRenderer(logger, show_after=0)  # as a long wait: every stage is told
    job = QiboJob("job-9", "fake://server", transport=transport, renderer=renderer)
    assert job.wait(wait=0.0) is QiboJobStatus.SUCCESS
    assert [m.split(":")[0].split(" in ")[0] for m in handler.messages] == [
        "Job job-9 QUEUEING (device numpy, project personal)",
        "Job job-9 RUNNING (device numpy, project personal)",
        "Job job-9 finished",
    ]
    assert "position 1 in queue, estimated start in 0:00:03" in handler.messages[0]
    assert handler.messages[-1].startswith("Job job-9 finished: SUCCESS in ")
