"""``serve`` killed with SIGKILL mid-queue, started again on the same data folder: every job
ends in success with its own correct result, and none is lost or duplicated."""

from __future__ import annotations

import time
import uuid
from typing import Any

import pytest
import requests
from tests.support.serve import TOKEN1, reap_group, serve, start_serve

pytestmark = pytest.mark.slow

NQUBITS = 20
LAYERS = 6  # a few seconds each on numpy: long enough for a queue to form behind it
NSHOTS = 40


def flipped_raw(qubit: int) -> dict[str, Any]:
    """A slow circuit whose outcome is certain: H twice on every qubit per pair of layers, X on
    ``qubit``; it always measures a single 1 at ``qubit``."""
    from qibo import Circuit, gates

    circuit = Circuit(NQUBITS)
    for _ in range(LAYERS):
        for q in range(NQUBITS):
            circuit.add(gates.H(q))
    circuit.add(gates.X(qubit))
    circuit.add(gates.M(*range(NQUBITS)))
    return circuit.raw


def expected_outcome(qubit: int) -> str:
    return "".join("1" if q == qubit else "0" for q in range(NQUBITS))


def post(url: str, circuit: dict[str, Any], key: str) -> str:
    body = {"circuit": circuit, "nshots": NSHOTS, "device": "numpy", "project": "personal"}
    answer = requests.post(
        url + "/api/jobs/",
        json={**body, "verbatim": False},
        headers={"x-api-token": TOKEN1, "Idempotency-Key": key},
        timeout=60,
    )
    assert answer.status_code == 200 and "pid" in answer.json(), answer.text
    return answer.json()["pid"]


def get(url: str, pid: str, **params: Any) -> dict[str, Any]:
    answer = requests.get(
        f"{url}/api/jobs/{pid}/", headers={"x-api-token": TOKEN1}, params=params, timeout=120
    )
    assert answer.status_code == 200, answer.text
    return answer.json()


def wait_for(url: str, pid: str, wanted: set[str], timeout: float) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    job = get(url, pid)
    while job["status"] not in wanted | {"success", "error"}:
        assert time.monotonic() < deadline, f"job {pid} still {job['status']} after {timeout} s"
        job = get(url, pid, wait=20, status=job["status"])
    return job


def test_a_kill_9_mid_queue_loses_and_duplicates_nothing(tmp_path):
    data = tmp_path / "data"
    jobs: list[tuple[str, str, str]] = []  # (pid, idempotency key, expected outcome)
    first = start_serve(data, extra=("--workers", "1"))
    try:
        url = first.wait_ready()
        for qubit in (0, 5, 11, 19):
            key = uuid.uuid4().hex
            jobs.append((post(url, flipped_raw(qubit), key), key, expected_outcome(qubit)))
        running = wait_for(url, jobs[0][0], {"running", "postprocessing"}, timeout=120)
        assert running["status"] in ("running", "postprocessing"), running["status"]
        waiting = [get(url, pid)["status"] for pid, _, _ in jobs[1:]]
        assert "queueing" in waiting, waiting
        first.kill()
    finally:
        if first.process.poll() is None:
            first.kill()

    try:
        with serve(data, extra=("--workers", "1")) as second:
            url = second.url
            for pid, key, outcome in jobs:
                job = wait_for(url, pid, set(), timeout=240)
                assert job["status"] == "success", job
                assert job["frequencies"] == {outcome: NSHOTS}
                # the same submission again is the same job, also after the restart
                assert post(url, flipped_raw(int(outcome.index("1"))), key) == pid
            listed = requests.get(
                url + "/api/jobs/", headers={"x-api-token": TOKEN1}, timeout=60
            ).json()
            assert sorted(j["pid"] for j in listed) == sorted(pid for pid, _, _ in jobs)
    finally:
        reap_group(first)
