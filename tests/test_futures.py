"""QiboJob as a future: done, callbacks, exception, cancel, and the module's wait/as_completed.

Most tests use the testing kit's MockServer (jobs move one status per poll);
the last ones run real circuits on the embedded local server.
"""

from __future__ import annotations

import threading
import time

import pytest
from qibo import Circuit, gates

import qibo_client
from qibo_client import ALL_COMPLETED, FIRST_COMPLETED, FIRST_EXCEPTION, Client
from qibo_client.exceptions import JobCancelledError, JobFailedError, JobTimeoutError
from qibo_client.testing import answers
from qibo_client.testing.clients import mock_client
from qibo_client.testing.fakes import RecordingRenderer
from qibo_client.testing.mock_server import MockServer

COUNTS = {"00": 3, "11": 5}


def bell() -> Circuit:
    circuit = Circuit(2)
    circuit.add(gates.H(0))
    circuit.add(gates.CNOT(0, 1))
    circuit.add(gates.M(0, 1))
    return circuit


def canned(body) -> bytes:
    return answers.result_archive(frequencies=COUNTS)


@pytest.fixture
def server() -> MockServer:
    return MockServer(runner=canned, fail_devices=["broken"])


def test_done_asks_until_final_then_stays(server) -> None:
    job = mock_client(server).run_circuit(bell(), device="numpy", nshots=8)
    seen = [job.done() for _ in range(3)]
    assert seen == [False, False, True]  # queueing, running, success
    polls = server.jobs[job.pid].polls
    assert job.done() and server.jobs[job.pid].polls == polls  # no request once final


def test_exception_is_none_on_success_and_a_job_failed_error_on_error(server) -> None:
    client = mock_client(server)
    good = client.run_circuit(bell(), device="numpy", nshots=8)
    bad = client.run_circuit(bell(), device="broken", nshots=8)
    assert good.exception(timeout=10) is None
    failure = bad.exception(timeout=10)
    assert isinstance(failure, JobFailedError) and failure.pid == bad.pid


def test_callbacks_run_once_each_in_order(server) -> None:
    job = mock_client(server).run_circuit(bell(), device="numpy", nshots=8)
    calls: list[tuple[str, str]] = []
    job.add_done_callback(lambda j: calls.append(("first", j.pid)))
    job.add_done_callback(lambda j: calls.append(("second", j.pid)))
    job.result(verbose=False)
    job.refresh()  # seeing the final status again fires nothing more
    assert calls == [("first", job.pid), ("second", job.pid)]
    job.add_done_callback(lambda j: calls.append(("late", j.pid)))  # already done: at once
    assert calls[-1] == ("late", job.pid)


def test_callbacks_fire_without_anyone_waiting(server) -> None:
    job = mock_client(server).run_circuit(bell(), device="numpy", nshots=8)
    fired = threading.Event()
    job.add_done_callback(lambda j: fired.set())
    assert fired.wait(10), "the background watcher never saw the job end"
    assert job.done()


def test_a_failing_callback_does_not_stop_the_next(server, caplog) -> None:
    job = mock_client(server).run_circuit(bell(), device="numpy", nshots=8)
    calls = []

    def broken(_job) -> None:
        raise RuntimeError("callback bug")

    job.add_done_callback(broken)
    job.add_done_callback(calls.append)
    job.result(verbose=False)
    assert calls == [job]
    assert "callback bug" in caplog.text


def test_result_timeout_leaves_the_job_and_can_be_resumed() -> None:
    server = MockServer(runner=canned, statuses=["queueing"] * 50 + ["success"], extensions=())
    job = mock_client(server).run_circuit(bell(), device="numpy", nshots=8)
    with pytest.raises(JobTimeoutError):
        job.result(wait=0.05, verbose=False, timeout=0.3)
    assert job.pid in server.jobs and not job.done()
    assert dict(job.result(wait=0, verbose=False).frequencies()) == COUNTS


@pytest.mark.parametrize(
    ("return_when", "expected_done"),
    [(FIRST_COMPLETED, 1), (FIRST_EXCEPTION, 2), (ALL_COMPLETED, 3)],
)
def test_wait_return_when(return_when: str, expected_done: int) -> None:
    # Job 1 ends first (ok), job 2 next (error), job 3 last (ok).
    server = MockServer(runner=canned, fail_devices=["broken"], extensions=())
    client = mock_client(server)
    jobs = [
        client.run_circuit(bell(), device=device, nshots=8)
        for device in ("numpy", "broken", "numpy")
    ]
    server.jobs[jobs[1].pid].ahead[:0] = ["queueing"]
    server.jobs[jobs[2].pid].ahead[:0] = ["queueing", "queueing"]
    done, not_done = qibo_client.wait(jobs, timeout=30, return_when=return_when, poll=0)
    assert len(done) == expected_done
    assert done | not_done == set(jobs) and not done & not_done


def test_wait_times_out_without_raising() -> None:
    server = MockServer(runner=canned, statuses=["queueing"] * 1000 + ["success"], extensions=())
    jobs = [mock_client(server).run_circuit(bell(), device="numpy", nshots=8)]
    started = time.monotonic()
    done, not_done = qibo_client.wait(jobs, timeout=0.3, poll=0.05)
    assert (done, not_done) == (set(), set(jobs))
    assert time.monotonic() - started < 3


def test_as_completed_follows_jobs_of_two_servers() -> None:
    first, second = MockServer(runner=canned), MockServer(runner=canned)
    jobs = [
        mock_client(first).run_circuit(bell(), device="numpy", nshots=8),
        mock_client(second).run_circuit(bell(), device="numpy", nshots=8),
    ]
    assert set(qibo_client.as_completed(jobs, timeout=30)) == set(jobs)


def test_cancel_against_a_server_without_the_extension(server) -> None:
    renderer = RecordingRenderer()
    client = mock_client(server, renderer=renderer)
    job = client.run_circuit(bell(), device="numpy", nshots=8)
    assert job.cancel() is False
    assert any("cannot cancel" in text for _, text in renderer.messages)
    assert job.pid in server.jobs  # the job runs on
    assert not job.cancelled()


def test_a_job_the_server_reports_cancelled_is_final_and_cancelled() -> None:
    server = MockServer(runner=canned, statuses=["queueing", "error"])
    job = mock_client(server).run_circuit(bell(), device="numpy", nshots=8)
    server.jobs[job.pid].fields["cancelled"] = True
    job.refresh()
    job.refresh()
    assert job.done() and job.cancelled()
    with pytest.raises(JobCancelledError):
        job.exception()


def test_a_job_record_round_trips_through_json(server) -> None:
    import json

    client = mock_client(server)
    job = client.run_circuit(bell(), device="numpy", nshots=8)
    record = json.loads(json.dumps(job.to_record()))
    assert "token" not in json.dumps(record).lower()
    again = client.job_from_record(record)
    assert (again.pid, again.device, again.nshots) == (job.pid, "numpy", 8)
    assert dict(again.result(verbose=False).frequencies()) == COUNTS


def test_futures_on_the_embedded_local_server() -> None:
    with Client("local-user", "local://", ui="logging") as client:
        jobs = [client.run_circuit(bell(), device="numpy", nshots=50) for _ in range(3)]
        ended: list[str] = []
        for job in jobs:
            job.add_done_callback(lambda j: ended.append(j.pid))
        done, not_done = qibo_client.wait(jobs, timeout=120)
        assert done == set(jobs) and not not_done
        assert all(job.exception() is None for job in jobs)
        deadline = time.monotonic() + 10
        while len(ended) < 3 and time.monotonic() < deadline:
            time.sleep(0.05)
        assert sorted(ended) == sorted(job.pid for job in jobs)


def test_a_batch_shows_one_progress_display_ending_at_n_of_n() -> None:
    renderer = RecordingRenderer()
    client = mock_client(MockServer(runner=canned), renderer=renderer)
    jobs = [client.run_circuit(bell(), device="numpy", nshots=8) for _ in range(5)]
    results = client.results(jobs, timeout=30)
    assert all(dict(r.frequencies()) == COUNTS for r in results)
    assert len(renderer.batches) == 1
    shown = renderer.batches[0]
    assert (shown[0].done, shown[-1].done, shown[-1].total) == (0, 5, 5)
    assert renderer.snapshots == []  # no per-job panel inside a batch


def test_the_async_client_shows_one_progress_display_for_a_batch() -> None:
    import asyncio

    from qibo_client.aio import AsyncClient
    from qibo_client.testing.fakes import MemoryResultStore

    renderer = RecordingRenderer()
    server = MockServer(runner=canned)

    async def main() -> list:
        async with AsyncClient(
            "t0ken",
            "mock://server",
            transport=server.transport(),
            renderer=renderer,
            result_store=MemoryResultStore(),
        ) as client:
            jobs = [await client.run_circuit(bell(), device="numpy", nshots=8) for _ in range(4)]
            return await client.results(jobs, timeout=30)

    results = asyncio.run(main())
    assert len(results) == 4
    assert len(renderer.batches) == 1 and renderer.batches[0][-1].done == 4


def test_the_async_delete_takes_the_local_copy_unless_asked_not_to() -> None:
    import asyncio

    from qibo_client.aio import AsyncClient
    from qibo_client.testing.fakes import MemoryResultStore

    store = MemoryResultStore()
    server = MockServer(runner=canned)

    async def main() -> tuple[bool, bool]:
        async with AsyncClient(
            "t0ken",
            "mock://server",
            transport=server.transport(),
            result_store=store,
            renderer=RecordingRenderer(),
        ) as client:
            kept, gone = [await client.run_circuit(bell(), device="numpy", nshots=8) for _ in "ab"]
            for job in (kept, gone):
                await job.result(timeout=30)
            await kept.delete(keep_local=True)
            await client.delete_job(gone.pid)
            return (
                store.lookup("mock://server", kept.pid) is not None,
                store.lookup("mock://server", gone.pid) is not None,
            )

    assert asyncio.run(main()) == (True, False)


@pytest.mark.slow
def test_futures_over_loopback_http_against_serve(tmp_path) -> None:
    from qibo_client.testing.serve import TOKEN1, serve

    with serve(tmp_path / "server") as served, Client(TOKEN1, served.url, ui="none") as client:
        jobs = [client.run_circuit(bell(), device="numpy", nshots=50) for _ in range(3)]
        ended: list[str] = []
        jobs[0].add_done_callback(lambda j: ended.append(j.pid))
        done, not_done = qibo_client.wait(jobs, timeout=120, return_when=ALL_COMPLETED)
        assert done == set(jobs) and not not_done
        assert all(job.done() and job.exception() is None for job in jobs)
        assert [job.pid for job in qibo_client.as_completed(jobs, timeout=30)]  # already done
        deadline = time.monotonic() + 10
        while not ended and time.monotonic() < deadline:
            time.sleep(0.05)
        assert ended == [jobs[0].pid]
        assert sum(jobs[1].result(verbose=False).frequencies().values()) == 50
