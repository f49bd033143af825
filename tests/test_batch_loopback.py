"""Extensions batch and job-list-pids for real: our server over loopback HTTP (``serve``)
and in-process (``local://``), raw requests and our client (slow: real workers)."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import pytest
import requests
from tests.support.serve import TOKEN1, TOKEN2, serve
from tests.support.server import bell_raw, body, wide_raw

from qibo_client import Client
from qibo_client.protocol.wire import BATCH, EXTENSIONS_HEADER, JOB_LIST_PIDS, parse_extensions

pytestmark = pytest.mark.slow

LIMIT = 200_000  # --max-request-bytes


@pytest.fixture(scope="module")
def url(tmp_path_factory: pytest.TempPathFactory):
    with serve(
        tmp_path_factory.mktemp("batch-served"),
        users=(f"{TOKEN1}=a@x", f"{TOKEN2}=b@x"),
        extra=("--max-request-bytes", str(LIMIT), "--device", "numpy:12"),
    ) as served:
        yield served.url


def call(url: str, method: str, path: str, token: str = TOKEN1, **kwargs: Any):
    headers = {"x-api-token": token, "x-qibo-client-version": "0.2.4", **kwargs.pop("headers", {})}
    return requests.request(method, url + path, headers=headers, timeout=90, **kwargs)


def wait_all_final(url: str, pids: list[str], timeout: float = 90) -> list[dict[str, Any]]:
    deadline = time.monotonic() + timeout
    while True:
        jobs = call(url, "GET", "/api/jobs/", params={"pids": ",".join(pids)}).json()
        if all(job["status"] in ("success", "error") for job in jobs):
            return jobs
        assert time.monotonic() < deadline, jobs
        time.sleep(0.1)


@pytest.mark.parametrize("path", ["/api/jobs/batch/", "/api/jobs/batch"])
def test_a_batch_over_http_queues_every_job_and_the_list_filters_by_pid(url, path):
    answer = call(url, "POST", path, json={"jobs": [body(nshots=10), body(nshots=20)]})
    assert answer.status_code == 200, answer.text
    assert {BATCH, JOB_LIST_PIDS} <= parse_extensions(answer.headers[EXTENSIONS_HEADER])
    pids = answer.json()["pids"]
    assert len(pids) == 2
    other = call(url, "POST", "/api/jobs/", TOKEN2, json=body()).json()["pid"]
    jobs = wait_all_final(url, [*pids, other, "no-such-job"])
    assert [job["pid"] for job in jobs] == pids  # another user's job is not the caller's
    assert all("frequencies" not in job for job in jobs)
    counted = call(url, "GET", "/api/jobs/", params={"pids": pids[1], "frequencies": "1"}).json()
    assert [sum(job["frequencies"].values()) for job in counted] == [20]


def test_a_refused_batch_is_422_naming_the_job_and_queues_nothing(url):
    before = len(call(url, "GET", "/api/jobs/").json())
    answer = call(url, "POST", "/api/jobs/batch/", json={"jobs": [body(), body(wide_raw(13))]})
    assert answer.status_code == 422  # even posted the 0.2 way: only our client sends batches
    assert "job 1 of the batch of 2" in answer.json()["detail"]
    malformed = call(url, "POST", "/api/jobs/batch/", json={"jobs": [body(), {"nshots": 1}]})
    assert malformed.status_code == 422
    assert "jobs.1" in malformed.json()["detail"]
    assert len(call(url, "GET", "/api/jobs/").json()) == before


def test_a_batch_body_over_the_limit_is_413(url):
    big = body(bell_raw())
    count = LIMIT // len(requests.models.complexjson.dumps(big)) + 10
    answer = call(url, "POST", "/api/jobs/batch/", json={"jobs": [big] * count})
    assert answer.status_code == 413


def test_a_repeated_key_answers_the_same_pids(url):
    headers = {"Idempotency-Key": "loopback-batch-1"}
    jobs = {"jobs": [body(nshots=3), body(nshots=4)]}
    first = call(url, "POST", "/api/jobs/batch/", json=jobs, headers=headers).json()
    again = call(url, "POST", "/api/jobs/batch/", json=jobs, headers=headers).json()
    assert first == again
    assert len(first["pids"]) == 2


def test_our_client_over_http_batches_and_collects(url):
    with Client(TOKEN1, url) as client:
        jobs = client.run_circuits([bell_raw()] * 6, device="numpy", nshots=50)
        assert BATCH in client.transport.extensions
        assert client.transport.lists_by_pid
        results = client.results(jobs, verbose=False, timeout=90)
    assert [sum(r.frequencies().values()) for r in results] == [50] * 6


def test_our_client_through_local_batches_and_lists_by_pid(tmp_path: Path):
    with Client("local-token", f"local://{tmp_path / 'data'}") as client:
        jobs = client.run_circuits([bell_raw()] * 4, device="numpy", nshots=30)
        assert client.transport.lists_by_pid
        listed = client.transport.list_jobs(pids=[jobs[2].pid, jobs[0].pid, "no-such-job"])
        assert sorted(info.pid for info in listed) == sorted([jobs[0].pid, jobs[2].pid])
        results = client.results(jobs, verbose=False, timeout=90)
    assert [sum(r.frequencies().values()) for r in results] == [30] * 4
