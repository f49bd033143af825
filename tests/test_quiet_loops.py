"""Quiet loops, live progress for many: what a loop of jobs leaves on a terminal, and batch bars.

The pseudo-terminal tests run real code on ``local://`` with default settings
in a child on a new pty, and count the lines left on the screen once every
carriage return and cursor move is applied (a small VT100 emulation). The
live views are driven with snapshots and a fake clock.
"""

from __future__ import annotations

import logging
import re
import textwrap
import threading
import time
from collections.abc import Callable

import pytest
from rich.console import Console
from tests.support.renderers import listening_logger, output, plain_console, queued, snapshot
from tests.support.terminal import run_in_terminal, screen_lines

from qibo_client.adapters.logging_renderer import LoggingBatchView
from qibo_client.adapters.rich_renderer import RichBatchView, RichRenderer
from qibo_client.adapters.rich_views import BatchBar, ElapsedTime, StatusPanel
from qibo_client.adapters.silent_renderer import SilentRenderer
from qibo_client.bootstrap import build_renderer
from qibo_client.domain.status import QiboJobStatus
from qibo_client.ports import BatchSnapshot, Renderer
from qibo_client.testing import RecordingRenderer, mock_client
from qibo_client.testing.contract import RendererContract

LOCAL_LOOP = """
from qibo import Circuit, gates
from qibo_client import Client

circuit = Circuit(2)
circuit.add(gates.H(0))
circuit.add(gates.CNOT(0, 1))
circuit.add(gates.M(0, 1))
client = Client("", "local://")
"""


class FakeClock:
    """A clock that moves only when told."""

    def __init__(self, now: float = 1000.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


#: The kit's recording renderer records every batch display (a list of snapshots each).
BatchRecorder = RecordingRenderer


def _row(lines: list[str], label: str) -> str | None:
    """The value beside ``label`` in a panel drawn as ``│ Label   value │``."""
    for line in lines:
        cells = [cell.strip() for cell in line.strip("│ ").split("  ") if cell.strip()]
        if cells and cells[0] == label:
            return cells[-1]
    return None


def _screen(console: Console) -> list[str]:
    """The lines a terminal as wide as ``console`` shows after all it was given."""
    return screen_lines(output(console), console.width)


def _wait_until(check: Callable[[], bool], timeout: float = 5.0) -> None:
    """Wait for a live display's own refresh (4 a second) to show what ``check`` looks for."""
    ends = time.monotonic() + timeout
    while not check():
        if time.monotonic() > ends:
            raise AssertionError("the live display never showed it")
        time.sleep(0.02)


def _batch(
    total: int, elapsed: float = 0.0, left: float | None = None, **counts: int
) -> BatchSnapshot:
    done = counts.get("success", 0) + counts.get("error", 0)
    return BatchSnapshot(total, done, dict(counts), elapsed, left)


# -- in a pseudo-terminal, on local://, default settings ----------------------------------


@pytest.mark.slow
def test_a_20_job_loop_leaves_at_most_one_line_per_job():
    code = LOCAL_LOOP + textwrap.dedent(
        """
        for _ in range(20):
            client.run_circuit(circuit, device="numpy", nshots=100).result()
        client.close()
        """
    )
    run = run_in_terminal(code)
    assert run.exit_code == 0, run.text[-3000:]
    lines = run.lines()
    assert 1 <= len(lines) <= 20, "\n".join(lines)
    assert all(re.fullmatch(r"✔ Job \S+ finished: SUCCESS in .+ s", line) for line in lines), lines


@pytest.mark.slow
def test_a_batch_of_10_shows_one_bar_ending_at_10_of_10():
    code = LOCAL_LOOP + textwrap.dedent(
        """
        jobs = client.run_circuits([circuit] * 10, device="numpy", nshots=100)
        results = client.results(jobs)
        print("RESULTS", sum(result is not None for result in results))
        client.close()
        """
    )
    run = run_in_terminal(code)
    assert run.exit_code == 0, run.text[-3000:]
    bar, printed = run.lines()
    assert re.fullmatch(r"━+ +10/10 done \(10 success\) in .+ s", bar), bar
    assert printed == "RESULTS 10"
    took = float(re.search(r"in ([\d.]+) s", bar).group(1))  # type: ignore[union-attr]
    if took > 1.5:  # long enough to have been drawn live: the bar moved on in place
        assert "0/10 done" in run.text


@pytest.mark.slow
@pytest.mark.parametrize(
    ("env", "verbose"),
    [({}, "verbose=False"), ({"QIBO_CLIENT_UI": "none"}, "")],
    ids=["verbose-false", "ui-none"],
)
def test_verbose_false_and_ui_none_leave_nothing(env, verbose):
    comma = ", " if verbose else ""
    code = LOCAL_LOOP + textwrap.dedent(
        f"""
        for _ in range(3):
            client.run_circuit(circuit, device="numpy", nshots=100).result({verbose})
        jobs = client.run_circuits([circuit] * 3, device="numpy", nshots=100)
        client.results(jobs{comma}{verbose})
        client.close()
        print("DONE")
        """
    )
    run = run_in_terminal(code, env=env)
    assert run.exit_code == 0, run.text[-3000:]
    assert run.lines() == ["DONE"]


# -- a job's live panel --------------------------------------------------------------------


def test_a_short_job_draws_nothing_live_and_leaves_one_line():
    console = plain_console(terminal=True)
    view = RichRenderer(console).start_progress(queued())
    view.update(snapshot(QiboJobStatus.RUNNING, elapsed_seconds=0.2))
    view.finish(snapshot(QiboJobStatus.SUCCESS, elapsed_seconds=0.3))
    assert output(console) == "✔ Job pid-1 finished: SUCCESS in 0.3 s\n"
    time.sleep(1.2)  # past the moment the panel would have appeared: it was cancelled
    assert output(console) == "✔ Job pid-1 finished: SUCCESS in 0.3 s\n"


def test_one_timer_thread_serves_every_display():
    renderer = RichRenderer(plain_console(terminal=True))
    views = [renderer.start_progress(queued()) for _ in range(50)]
    try:
        timers = [t for t in threading.enumerate() if t.name == "qibo-client-display"]
        assert 1 <= len(timers) <= 2  # one (and perhaps an idle one still on its way out)
    finally:  # finished at once: no panel ever appears
        for view in views:
            view.finish(snapshot(QiboJobStatus.SUCCESS, elapsed_seconds=0.1))


def test_a_long_wait_goes_live_after_the_delay_and_leaves_one_line():
    console = plain_console(terminal=True)
    view = RichRenderer(console, show_after=0.2).start_progress(queued())
    assert output(console) == ""
    _wait_until(lambda: "Qibo job" in output(console))  # the timer, not an update, showed it
    view.finish(snapshot(QiboJobStatus.ERROR, elapsed_seconds=75))
    assert _screen(console) == ["✘ Job pid-1 finished: ERROR in 0:01:15"]


def test_a_queued_jobs_panel_shows_its_position_change_and_counts_down():
    clock = FakeClock()
    console = plain_console(terminal=True)

    def shown(label: str) -> str | None:
        return _row(_screen(console), label)

    def at(position: int, start_in: float, elapsed: float) -> object:
        return queued(
            queue_position=position, seconds_to_job_start=start_in, elapsed_seconds=elapsed
        )

    view = RichRenderer(console, show_after=0, clock=clock).start_progress(at(3, 10.0, 0.0))
    assert (shown("Queue position"), shown("Estimated start")) == ("3", "0:00:10")

    clock.advance(4)  # no snapshot (a long-poll is held): the panel counts down alone
    _wait_until(lambda: shown("Estimated start") == "0:00:06")
    assert shown("Elapsed") == "0:00:04"

    view.update(at(3, 10.0, 4.0))  # the same estimate again is not news: no reset to 0:00:10
    assert shown("Estimated start") == "0:00:06"

    view.update(at(2, 5.0, 5.0))  # the queue moved on
    assert (shown("Queue position"), shown("Estimated start")) == ("2", "0:00:05")
    clock.advance(3)
    _wait_until(lambda: shown("Estimated start") == "0:00:02")
    clock.advance(30)
    _wait_until(lambda: shown("Estimated start") == "0:00:00")  # never below zero

    view.update(snapshot(QiboJobStatus.RUNNING, elapsed_seconds=40.0))
    assert (shown("Queue position"), shown("Estimated start")) == ("-", "-")
    view.finish(snapshot(QiboJobStatus.SUCCESS, elapsed_seconds=41.0))
    assert _screen(console) == ["✔ Job pid-1 finished: SUCCESS in 41.0 s"]


def test_the_status_panel_counts_down_from_the_last_new_estimate():
    clock = FakeClock()
    panel = StatusPanel(queued(seconds_to_job_start=8.0), ElapsedTime(clock=clock), clock)

    def estimate() -> str | None:
        console = plain_console()
        console.print(panel)
        return _row(output(console).splitlines(), "Estimated start")

    assert estimate() == "0:00:08"
    clock.advance(3)
    assert estimate() == "0:00:05"
    panel.snapshot = queued(seconds_to_job_start=8.0)  # repeated: keeps counting
    assert estimate() == "0:00:05"
    panel.snapshot = queued(seconds_to_job_start=7.0)  # a new estimate starts again
    assert estimate() == "0:00:07"
    clock.advance(60)
    assert estimate() == "0:00:00"


# -- a batch's bar -------------------------------------------------------------------------


def test_the_batch_bar_is_one_line_with_counts_elapsed_and_estimate():
    console = plain_console(width=100)
    console.print(BatchBar(_batch(10, 4.0, 2.0, success=5, error=2, running=3)))
    (line,) = output(console).splitlines()
    assert line.split(None, 1)[1] == (
        "7/10 done (5 success, 2 error, 3 running), 0:00:04 elapsed, about 0:00:02 left"
    )
    narrow = plain_console(width=50)
    narrow.print(BatchBar(_batch(10, 4.0, 2.0, success=5, error=2, running=3)))
    assert len(output(narrow).splitlines()) == 1  # cut short, never wrapped


def test_a_live_batch_bar_ticks_and_ends_as_one_line_at_n_of_n():
    clock = FakeClock()
    console = plain_console(terminal=True)
    view = RichRenderer(console, show_after=0, clock=clock).start_batch(_batch(10, queueing=10))
    assert isinstance(view, RichBatchView)
    assert _screen(console)[-1].endswith("0/10 done (10 queueing), 0:00:00 elapsed")
    clock.advance(2)
    view.update(_batch(10, 2.0, 3.0, success=4, running=6))
    assert _screen(console)[-1].endswith(
        "4/10 done (4 success, 6 running), 0:00:02 elapsed, about 0:00:03 left"
    )
    clock.advance(2)  # between updates the elapsed time counts up and the estimate down
    _wait_until(lambda: _screen(console)[-1].endswith("0:00:04 elapsed, about 0:00:01 left"))
    view.finish(_batch(10, 5.0, 0.0, success=10))
    (line,) = _screen(console)
    assert re.fullmatch(r"━+ 10/10 done \(10 success\) in 5\.0 s", line), line


def test_a_short_batch_leaves_only_its_last_line():
    console = plain_console(terminal=True)
    view = RichRenderer(console).start_batch(_batch(3, queueing=3))
    view.update(_batch(3, 0.1, 0.1, success=2, running=1))
    view.finish(_batch(3, 0.3, 0.0, success=2, error=1))
    assert output(console).splitlines()[-1].endswith("3/3 done (2 success, 1 error) in 0.3 s")
    assert len(output(console).splitlines()) == 1
    stopped = plain_console()
    RichRenderer(stopped).start_batch(_batch(3)).finish(_batch(3, 9.0, 1.0, success=1, running=2))
    assert (
        output(stopped)
        .rstrip()
        .endswith("Stopped waiting: 1/3 done (1 success, 2 running) after 9.0 s")
    )


def test_client_results_draws_one_bar_for_the_whole_batch():
    from qibo import Circuit, gates

    circuit = Circuit(1)
    circuit.add(gates.M(0))
    console = plain_console(terminal=True)
    client = mock_client(renderer=RichRenderer(console, show_after=0))
    jobs = [client.run_circuit(circuit, device="numpy", nshots=10) for _ in range(10)]
    assert all(result is not None for result in client.results(jobs, wait=0))
    (line,) = _screen(console)
    assert re.fullmatch(r"━+ 10/10 done \(10 success\) in .+ s", line), line
    assert "Qibo job" not in output(console)  # one bar, no panel per job


def test_verbose_false_shows_no_batch_and_no_job():
    from qibo import Circuit, gates

    circuit = Circuit(1)
    circuit.add(gates.M(0))
    renderer = BatchRecorder()
    client = mock_client(renderer=renderer)
    jobs = [client.run_circuit(circuit, device="numpy", nshots=10) for _ in range(3)]
    client.results(jobs, wait=0, verbose=False)
    client.wait_all(jobs, verbose=False)
    assert renderer.batches == [] and renderer.snapshots == []
    client.results(jobs, wait=0)
    assert [b[0].total for b in renderer.batches] == [3] and renderer.snapshots == []


def test_the_log_tells_a_batch_at_most_every_few_seconds():
    clock = FakeClock()
    logger, handler = listening_logger("qibo_client.tests.batch_log")
    view = LoggingBatchView(logger, _batch(4, queueing=4), every=5.0, clock=clock)
    clock.advance(1)
    view.update(_batch(4, 1.0, None, running=1, queueing=3))  # too soon: a short batch stays quiet
    clock.advance(5)
    view.update(_batch(4, 6.0, 6.0, success=2, running=2))
    clock.advance(1)
    view.update(_batch(4, 7.0, 5.0, success=3, running=1))  # too soon after the last line
    clock.advance(9)
    view.update(_batch(4, 16.0, 5.0, success=3, running=1))  # told now, as nothing came since
    clock.advance(9)
    view.update(_batch(4, 25.0, 5.0, success=3, running=1))  # nothing new to tell
    view.finish(_batch(4, 26.0, 0.0, success=3, error=1))
    assert handler.messages == [
        "Jobs: 2/4 done (2 success, 2 running), 0:00:06 elapsed, about 0:00:06 left",
        "Jobs: 3/4 done (3 success, 1 running), 0:00:16 elapsed, about 0:00:05 left",
        "Jobs: 4/4 done (3 success, 1 error) in 26.0 s",
    ]
    assert [r.levelno for r in handler.records] == [logging.INFO] * 2 + [logging.WARNING]


# -- the silent renderer, and the renderers' contract ---------------------------------------


def test_ui_none_is_the_silent_renderer(monkeypatch):
    assert type(build_renderer("none")) is SilentRenderer
    monkeypatch.setenv("QIBO_CLIENT_UI", "none")
    renderer = build_renderer()
    assert type(renderer) is SilentRenderer
    view = renderer.start_progress(queued())
    view.update(queued())
    view.finish(snapshot(QiboJobStatus.SUCCESS))
    renderer.start_batch(_batch(2)).finish(_batch(2, 1.0, 0.0, success=2))


class TestSilentRendererContract(RendererContract):
    checks_output = False

    @pytest.fixture
    def renderer(self) -> Renderer:
        return SilentRenderer()


def test_the_silent_renderer_shows_nothing(capsys):
    renderer = SilentRenderer()
    renderer.show_message("hello", level="error")
    renderer.show_error(RuntimeError("boom"))
    assert capsys.readouterr() == ("", "")


# -- the contrib qibo backend --------------------------------------------------------------


def test_the_contrib_qibo_backend_is_quiet_by_default():
    backend_module = pytest.importorskip("qibo_client_backend.backend")
    from qibo import Circuit, gates

    circuit = Circuit(1)
    circuit.add(gates.M(0))
    renderer = BatchRecorder()
    client = mock_client(renderer=renderer)
    quiet = backend_module.QiboClientBackend(client=client)
    assert quiet.verbose is False
    quiet.execute_circuit(circuit, nshots=10)
    quiet.execute_circuits([circuit, circuit], nshots=10)
    assert renderer.snapshots == [] and renderer.batches == []
    loud = backend_module.QiboClientBackend(client=client, verbose=True)
    loud.execute_circuits([circuit, circuit], nshots=10)  # one bar, not a display per job
    assert [b[0].total for b in renderer.batches] == [2] and renderer.snapshots == []


def test_a_console_that_is_not_a_terminal_gets_no_live_display():
    console = Console(file=plain_console().file, width=120, force_terminal=False)
    view = RichRenderer(console, show_after=0).start_progress(queued())
    view.update(snapshot(QiboJobStatus.RUNNING, elapsed_seconds=2.0))
    view.finish(snapshot(QiboJobStatus.SUCCESS, elapsed_seconds=2.5))
    assert output(console).splitlines() == [
        "Job pid-1 QUEUEING (device numpy, project personal): "
        "position 3 in queue, estimated start in 1:02:05",
        "Job pid-1 RUNNING (device numpy, project personal)",
        "✔ Job pid-1 finished: SUCCESS in 2.5 s",
    ]
