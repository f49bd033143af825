"""Our client with extensions batch and job-list-pids, and without them (the fallback):
HttpTransport at the HTTP edge (``responses``), ``run_circuits`` through the testing kit's
MockServer, and the work ``as_completed`` does per job followed (a recording fake)."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable, Sequence
from typing import Any, TypeVar

import httpx
import pytest
import responses

from qibo_client import Client
from qibo_client.adapters.http_transport import HttpTransport
from qibo_client.adapters.httpx_transport import AsyncHttpTransport
from qibo_client.adapters.threaded_transport import ThreadedAsyncTransport
from qibo_client.aio import AsyncClient
from qibo_client.domain.deadline import Deadline
from qibo_client.domain.polling import PollPolicy
from qibo_client.domain.records import JobDeletion, JobInfo, JobSubmission
from qibo_client.drivers.sync import LIST_WINDOW, iter_completed
from qibo_client.exceptions import JobPostServerError
from qibo_client.ports import Transport
from qibo_client.ports.transport import ResultStream
from qibo_client.protocol.wire import (
    BATCH,
    EXTENSIONS_HEADER,
    IDEMPOTENCY,
    JOB_LIST_PIDS,
    LONG_POLL,
    MAX_BATCH_JOBS,
    MAX_LIST_PIDS,
)
from qibo_client.testing import (
    MemoryResultStore,
    MockServer,
    MockTransport,
    RecordingRenderer,
    mock_client,
)
from qibo_client.testing.answers import job_answer, version_answer

T = TypeVar("T")
BASE = "https://cloud.example"
API = f"{BASE}/api"
TOKEN = "batch-token-value"
RAW = {"nqubits": 1, "queue": [], "density_matrix": False}
ALL = f"{LONG_POLL}, {IDEMPOTENCY}, {BATCH}, {JOB_LIST_PIDS}"


@pytest.fixture
def mocked():
    with responses.RequestsMock() as rsps:
        yield rsps


def http(mocked: responses.RequestsMock, extensions: str | None) -> HttpTransport:
    """An HttpTransport that has read the version answer (and its extensions header)."""
    headers = {EXTENSIONS_HEADER: extensions} if extensions is not None else {}
    mocked.get(f"{API}/qibo_version/", json=version_answer(), headers=headers)
    transport = HttpTransport(BASE, TOKEN, backoff_factor=0)
    transport.server_version()
    return transport


def submissions(count: int) -> list[JobSubmission]:
    return [JobSubmission(RAW, "numpy", "personal", 10 + i) for i in range(count)]


# -- HttpTransport ------------------------------------------------------------------------


def test_without_the_extension_submit_jobs_sends_nothing_and_says_none(mocked):
    transport = http(mocked, None)  # the Qibo cloud sends no extensions header
    assert transport.submit_jobs(submissions(3)) is None
    assert len(mocked.calls) == 1  # the version answer only


def test_a_batch_is_one_post_of_every_body_with_the_key(mocked):
    transport = http(mocked, ALL)
    mocked.post(f"{API}/jobs/batch/", json={"pids": ["a-1", "a-2", "a-3"]})
    assert transport.submit_jobs(submissions(3), idempotency_key="k-9") == ["a-1", "a-2", "a-3"]
    request = mocked.calls[1].request
    assert request.headers["Idempotency-Key"] == "k-9"
    assert request.headers["Content-Type"] == "application/json"
    sent = json.loads(request.body)
    assert [job["nshots"] for job in sent["jobs"]] == [10, 11, 12]
    assert sent["jobs"][0] == {
        "circuit": RAW,
        "nshots": 10,
        "device": "numpy",
        "project": "personal",
        "verbatim": False,
    }


def test_a_refused_batch_is_a_job_post_server_error_with_the_servers_reason(mocked):
    transport = http(mocked, ALL)
    reason = "job 1 of the batch of 2 (counting from 0): too many qubits; no job was queued"
    mocked.post(f"{API}/jobs/batch/", json={"detail": reason}, status=422)
    with pytest.raises(JobPostServerError, match="job 1 of the batch"):
        transport.submit_jobs(submissions(2))


def test_a_body_too_large_for_the_server_falls_back_to_one_by_one(mocked):
    transport = http(mocked, ALL)
    mocked.post(f"{API}/jobs/batch/", json={"detail": "too large"}, status=413)
    assert transport.submit_jobs(submissions(2)) is None


def test_an_answer_with_the_wrong_number_of_pids_is_malformed(mocked):
    transport = http(mocked, ALL)
    mocked.post(f"{API}/jobs/batch/", json={"pids": ["a-1"]})
    with pytest.raises(Exception, match="names 1 pids for the 2 jobs"):
        transport.submit_jobs(submissions(2))


def test_more_jobs_than_one_batch_carries_are_not_sent(mocked):
    transport = http(mocked, ALL)
    assert transport.submit_jobs(submissions(MAX_BATCH_JOBS + 1)) is None
    assert len(mocked.calls) == 1


def test_a_filtered_list_without_the_extension_is_the_whole_list_kept_here(mocked):
    transport = http(mocked, f"{LONG_POLL}")
    assert not transport.lists_by_pid
    everyone = [job_answer(f"j-{i}", "success") for i in range(5)]
    mocked.get(f"{API}/jobs/", json=everyone)
    listed = transport.list_jobs(pids=["j-3", "j-1", "gone"])
    assert sorted(info.pid for info in listed) == ["j-1", "j-3"]
    assert len(mocked.calls) == 2
    assert "pids" not in mocked.calls[1].request.url


def test_a_filtered_list_asks_for_the_pids_in_bounded_requests(mocked):
    transport = http(mocked, ALL)
    assert transport.lists_by_pid
    wanted = [f"j-{i}" for i in range(MAX_LIST_PIDS * 2 + 5)]

    def answer(request: Any) -> tuple[int, dict[str, str], str]:
        asked = request.params["pids"].split(",")
        assert len(asked) <= MAX_LIST_PIDS
        return 200, {}, json.dumps([job_answer(pid, "queueing") for pid in asked])

    mocked.add_callback(responses.GET, f"{API}/jobs/", callback=answer)
    listed = transport.list_jobs(pids=wanted)
    assert [info.pid for info in listed] == wanted
    assert len(mocked.calls) == 1 + 3


# -- Client.run_circuits ---------------------------------------------------------------------


def test_run_circuits_sends_one_batch_to_a_server_with_the_extension():
    server = MockServer(extensions=(LONG_POLL, IDEMPOTENCY, BATCH))
    client = mock_client(server.transport())
    jobs = client.run_circuits([RAW] * 5, device="numpy", nshots=10)
    transport = client.transport
    assert isinstance(transport, MockTransport)
    assert len(transport.operations("submit_jobs")) == 1
    assert transport.operations("submit_job") == []
    assert [job.pid for job in jobs] == [f"job-{i}" for i in range(1, 6)]
    assert client.pid == "job-5"
    assert all(job.device == "numpy" and job.nshots == 10 for job in jobs)


def test_run_circuits_falls_back_to_one_post_per_circuit():
    client = mock_client(MockServer())  # long-poll and idempotency, no batch
    jobs = client.run_circuits([RAW] * 4, device="numpy", nshots=10)
    transport = client.transport
    assert isinstance(transport, MockTransport)
    assert transport.operations("submit_jobs") == []  # nothing sent for the batch
    assert len(transport.operations("submit_job")) == 4
    assert sorted(job.pid for job in jobs) == [f"job-{i}" for i in range(1, 5)]


def test_run_circuits_splits_a_large_batch_and_keeps_the_queued_jobs_on_failure():
    server = MockServer(extensions=(LONG_POLL, BATCH), devices=["numpy"])
    client = mock_client(server.transport())
    circuits = [RAW] * (MAX_BATCH_JOBS + 2)
    jobs = client.run_circuits(circuits, device="numpy", nshots=1)
    assert len(jobs) == MAX_BATCH_JOBS + 2
    assert len(client.transport.operations("submit_jobs")) == 2  # type: ignore[attr-defined]

    # A refused chunk queues nothing; the error carries the chunks that were queued.
    calls = {"n": 0}
    real = server._submit_jobs

    def second_refused(request: Any) -> Any:
        calls["n"] += 1
        if calls["n"] == 2:
            return request.error(422, "job 0 of the batch: no; none was queued")
        return real(request)

    server._submit_jobs = second_refused  # type: ignore[method-assign]
    with pytest.raises(JobPostServerError, match="job 0 of the batch") as refused:
        client.run_circuits(circuits, device="numpy", nshots=1)
    assert len(refused.value.submitted_jobs) == MAX_BATCH_JOBS  # type: ignore[attr-defined]


def test_run_circuits_over_http_without_the_extension_posts_each_circuit(mocked):
    mocked.get(f"{API}/qibo_version/", json=version_answer())
    for i in range(3):
        mocked.post(f"{API}/jobs/", json={"pid": f"p-{i}"})
    client = Client(TOKEN, BASE)
    jobs = client.run_circuits([RAW] * 3, device="numpy", nshots=10)
    assert sorted(job.pid for job in jobs) == ["p-0", "p-1", "p-2"]
    assert [c.request.method for c in mocked.calls] == ["GET", "POST", "POST", "POST"]


def test_run_circuits_over_http_with_the_extension_posts_one_batch(mocked):
    mocked.get(f"{API}/qibo_version/", json=version_answer(), headers={EXTENSIONS_HEADER: ALL})
    mocked.post(f"{API}/jobs/batch/", json={"pids": ["p-0", "p-1", "p-2"]})
    client = Client(TOKEN, BASE)
    jobs = client.run_circuits([RAW] * 3, device="numpy", nshots=10)
    assert [job.pid for job in jobs] == ["p-0", "p-1", "p-2"]
    assert len(mocked.calls) == 2


# -- as_completed's work per job ----------------------------------------------------------


class QueueServerFake(Transport):
    """A server that ends ``per_round`` jobs, in queue order, each time the list is asked
    for; it records how many job objects each list answer carried."""

    def __init__(self, count: int, per_round: int, *, by_pid: bool) -> None:
        self.pids = [f"job-{i}" for i in range(count)]
        self.ended = 0
        self.per_round = per_round
        self.by_pid = by_pid
        self.rows: list[int] = []
        self.single_asks = 0

    @property
    def lists_by_pid(self) -> bool:
        return self.by_pid

    def _info(self, pid: str) -> JobInfo:
        done = int(pid.split("-")[1]) < self.ended
        return JobInfo(pid, "success" if done else "queueing")

    def list_jobs(
        self, *, deadline: float | None = None, pids: Sequence[str] | None = None
    ) -> list[JobInfo]:
        if not pids or pids[0] == self.pids[min(self.ended, len(self.pids) - 1)]:
            self.ended = min(self.ended + self.per_round, len(self.pids))  # time passes
        wanted = self.pids if pids is None else pids
        answer = [self._info(pid) for pid in wanted]
        self.rows.append(len(answer))
        return answer

    def get_job(self, pid: str, **kwargs: Any) -> JobInfo:
        self.single_asks += 1
        return self._info(pid)

    def server_version(self, *, deadline: float | None = None) -> Any:
        raise NotImplementedError

    def submit_job(self, submission: JobSubmission, *, idempotency_key: str | None = None) -> str:
        raise NotImplementedError

    def fetch_result(
        self, pid: str, receive: Callable[[ResultStream], T], *, deadline: float | None = None
    ) -> T:
        raise NotImplementedError

    def delete_job(self, pid: str) -> JobDeletion:
        raise NotImplementedError

    def delete_all_jobs(self) -> list[str]:
        raise NotImplementedError

    def disk_quota(self) -> Any:
        raise NotImplementedError

    def project_quotas(self) -> list[Any]:
        raise NotImplementedError


def follow(count: int, *, by_pid: bool) -> QueueServerFake:
    fake = QueueServerFake(count, per_round=10, by_pid=by_pid)
    ended = list(
        iter_completed(
            fake, fake.pids, PollPolicy(interval=0.0), Deadline.after(None), sleep=lambda s: None
        )
    )
    assert [info.pid for info in ended] == fake.pids
    assert fake.single_asks == 0
    return fake


def test_following_n_jobs_lists_work_linear_in_n():
    small, large = follow(500, by_pid=True), follow(2000, by_pid=True)
    assert sum(large.rows) < 5 * sum(small.rows)  # 4x the jobs: about 4x the rows
    # A round reads about the jobs that ended and a few more: a few rows per job followed.
    assert max(large.rows) <= LIST_WINDOW
    assert sum(large.rows) <= 8 * len(large.pids)


def test_without_the_filter_each_round_lists_every_job_as_before():
    small, large = follow(500, by_pid=False), follow(2000, by_pid=False)
    assert sum(large.rows) > 12 * sum(small.rows)  # quadratic: 16x
    assert len(large.rows) == 2000 // 10


def test_a_mock_server_with_the_filter_moves_only_the_jobs_listed():
    server = MockServer(extensions=(LONG_POLL, BATCH, JOB_LIST_PIDS))
    client = mock_client(server.transport())
    old = client.run_circuits([RAW] * 3, device="numpy", nshots=10)
    client.wait_all(old, verbose=False)
    new = client.run_circuits([RAW] * 2, device="numpy", nshots=10)
    assert {j.pid for j in client.wait_all(new, verbose=False)} == {j.pid for j in new}
    listed = client.transport.operations("list_jobs")  # type: ignore[attr-defined]
    assert all(set(r.params["pids"]) <= {j.pid for j in old + new} for r in listed)
    assert set(listed[-1].params["pids"]) <= {j.pid for j in new}


def test_the_async_client_batches_and_follows_by_pid_too():
    server = MockServer(extensions=(LONG_POLL, BATCH, JOB_LIST_PIDS))
    transport = server.transport()

    async def main() -> list[Any]:
        async with AsyncClient(
            "t",
            "mock://server",
            transport=ThreadedAsyncTransport(transport),
            result_store=MemoryResultStore(),
            renderer=RecordingRenderer(),
        ) as client:
            jobs = await client.run_circuits([RAW] * 3, "numpy", nshots=10)
            assert client.pid == jobs[-1].pid
            return [job.pid async for job in client.as_completed(jobs, timeout=30)]

    seen = asyncio.run(main())
    assert sorted(seen) == ["job-1", "job-2", "job-3"]
    assert len(transport.operations("submit_jobs")) == 1
    assert transport.operations("submit_job") == []
    assert all(r.params.get("pids") for r in transport.operations("list_jobs"))


def test_the_httpx_transport_batches_filters_and_falls_back() -> None:
    seen: list[httpx.Request] = []
    announced = {"value": ALL}

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        headers = {EXTENSIONS_HEADER: announced["value"]}
        if request.url.path == "/api/qibo_version/":
            return httpx.Response(200, json=version_answer(), headers=headers)
        if request.url.path == "/api/jobs/batch/":
            count = len(json.loads(request.content)["jobs"])
            return httpx.Response(200, json={"pids": [f"b-{i}" for i in range(count)]})
        asked = request.url.params.get("pids")
        pids = asked.split(",") if asked else ["b-0", "b-1", "other"]
        return httpx.Response(200, json=[job_answer(pid, "success") for pid in pids])

    async def main() -> None:
        transport = AsyncHttpTransport(
            BASE, TOKEN, retries=0, backoff_factor=0.0, transport=httpx.MockTransport(handler)
        )
        await transport.server_version()
        assert await transport.submit_jobs(submissions(2), idempotency_key="k") == ["b-0", "b-1"]
        assert transport.lists_by_pid
        listed = await transport.list_jobs(pids=["b-1"])
        assert [info.pid for info in listed] == ["b-1"]
        assert seen[-1].url.params["pids"] == "b-1"
        await transport.aclose()

        plain = AsyncHttpTransport(
            BASE, TOKEN, retries=0, backoff_factor=0.0, transport=httpx.MockTransport(handler)
        )
        announced["value"] = LONG_POLL
        await plain.server_version()
        assert await plain.submit_jobs(submissions(2)) is None
        assert [info.pid for info in await plain.list_jobs(pids=["b-1"])] == ["b-1"]
        assert "pids" not in seen[-1].url.params
        await plain.aclose()

    asyncio.run(main())
    batch = next(r for r in seen if r.url.path == "/api/jobs/batch/")
    assert batch.headers["Idempotency-Key"] == "k"
    assert batch.headers["Content-Type"] == "application/json"
