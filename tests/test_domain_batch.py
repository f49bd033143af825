"""Waiting on many jobs with one job-list request per round."""

from __future__ import annotations

import pytest
from tests.support.fakes import DictResultStore, RecordingRenderer, ScriptedTransport, job_wire

from qibo_client import Client
from qibo_client.domain.deadline import Deadline
from qibo_client.domain.polling import PollPolicy
from qibo_client.domain.records import JobInfo
from qibo_client.drivers.sync import iter_completed
from qibo_client.exceptions import JobTimeoutError
from qibo_client.protocol.readers import read_job


class ListTransport(ScriptedTransport):
    """Each job finishes after a given number of job-list rounds."""

    def __init__(self, rounds_to_finish: dict[str, int]) -> None:
        super().__init__()
        self.rounds_to_finish = rounds_to_finish
        self.rounds = 0

    def submit_job(self, submission, *, idempotency_key=None):
        pid = super().submit_job(submission, idempotency_key=idempotency_key)
        self.rounds_to_finish.setdefault(pid, 1)
        return pid

    def list_jobs(self, *, deadline: float | None = None) -> list[JobInfo]:
        self.calls.append(("list_jobs", None))
        self.rounds += 1
        return [
            read_job(job_wire(pid, "success" if self.rounds >= n else "running"))
            for pid, n in self.rounds_to_finish.items()
        ]


def client_for(transport: ScriptedTransport, tmp_path) -> Client:
    return Client(
        "tok",
        "fake://server",
        transport=transport,
        result_store=DictResultStore(tmp_path),
        renderer=RecordingRenderer(),
    )


def test_as_completed_yields_in_finishing_order_with_one_request_per_round(tmp_path):
    transport = ListTransport({"job-1": 3, "job-2": 1, "job-3": 2})
    client = client_for(transport, tmp_path)
    jobs = client.run_circuits([{"nqubits": 1, "queue": []}] * 3, device="numpy", nshots=10)
    finished = [job.pid for job in client.as_completed(jobs, wait=0)]
    assert finished == ["job-2", "job-3", "job-1"]
    assert transport.count("list_jobs") == 3
    assert transport.count("get_job") == 0


def test_results_download_each_once_without_polling_again(tmp_path):
    transport = ListTransport({})
    client = client_for(transport, tmp_path)
    jobs = client.run_circuits([{"nqubits": 1, "queue": []}] * 4, device="numpy")
    assert client.results(jobs, wait=0) == [b"result-bytes"] * 4
    assert transport.count("fetch_result") == 4
    assert transport.count("get_job") == 0


def test_a_job_missing_from_the_list_is_asked_about_directly(tmp_path):
    transport = ListTransport({"job-1": 1})
    transport.statuses = ["running", "success"]
    client = client_for(transport, tmp_path)
    from qibo_client import QiboJob

    ghost = QiboJob("ghost", "fake://server", transport=transport)
    assert [j.pid for j in client.as_completed([ghost], wait=0)] == ["ghost"]
    assert transport.count("get_job") == 2  # one per round until it is final


def test_wait_all_times_out_naming_a_pending_job(tmp_path):
    transport = ListTransport({"job-1": 10**9})
    client = client_for(transport, tmp_path)
    from qibo_client import QiboJob

    with pytest.raises(JobTimeoutError, match="job-1"):
        client.wait_all(
            [QiboJob("job-1", "fake://server", transport=transport)], wait=0.01, timeout=0.05
        )


def test_with_long_poll_a_held_request_replaces_the_sleep(tmp_path):
    transport = ListTransport({"job-1": 3, "job-2": 2})
    transport.long_poll = True
    client = client_for(transport, tmp_path)
    jobs = client.run_circuits([{"nqubits": 1, "queue": []}] * 2, device="numpy")
    slept: list[float] = []
    pids = [job.pid for job in jobs]
    finished = iter_completed(
        transport, pids, PollPolicy(interval=5.0), Deadline.after(None), sleep=slept.append
    )
    assert sorted(info.pid for info in finished) == ["job-1", "job-2"]
    assert slept == []
    held = [hold for name, hold in transport.calls if name == "get_job"]
    assert len(held) == 2 and all(hold > 0 for hold in held)  # one per unfinished round


def test_without_long_poll_rounds_sleep_the_interval(tmp_path):
    transport = ListTransport({"job-1": 3})
    client = client_for(transport, tmp_path)
    jobs = client.run_circuits([{"nqubits": 1, "queue": []}], device="numpy")
    slept: list[float] = []
    pids = [job.pid for job in jobs]
    policy = PollPolicy(interval=5.0)
    list(iter_completed(transport, pids, policy, Deadline.after(None), sleep=slept.append))
    assert slept == [5.0, 5.0]


def test_submissions_keep_their_order_when_sent_concurrently(tmp_path):
    transport = ListTransport({})
    client = client_for(transport, tmp_path)
    circuits = [{"nqubits": n, "queue": []} for n in range(1, 9)]
    jobs = client.run_circuits(circuits, device="numpy", concurrency=4)
    assert [job.circuit["nqubits"] for job in jobs] == list(range(1, 9))
    assert transport.count("server_version") == 1


def test_a_failed_submission_in_a_batch_hands_back_the_queued_jobs(tmp_path):
    from qibo_client.exceptions import JobPostServerError

    class RefusesThird(ListTransport):
        def submit_job(self, submission, *, idempotency_key=None):
            if submission.circuit["nqubits"] == 3:
                raise JobPostServerError("too many qubits")
            return super().submit_job(submission, idempotency_key=idempotency_key)

    client = client_for(RefusesThird({}), tmp_path)
    circuits = [{"nqubits": n, "queue": []} for n in range(1, 6)]
    with pytest.raises(JobPostServerError) as caught:
        client.run_circuits(circuits, device="numpy", concurrency=2)
    queued = caught.value.submitted_jobs
    assert sorted(job.circuit["nqubits"] for job in queued) == [1, 2, 4, 5]
