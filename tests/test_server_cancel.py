"""Extension ``cancel``, and DELETE of a running job, on both faces of the local server.

A queued job is taken off the queue; a running one has its worker killed at
once (and replaced). The job ends ``error`` with ``"cancelled": true``, and
another user's job then runs.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import pytest
import requests
from tests.support.serve import TOKEN1, TOKEN2, serve
from tests.support.server import (
    SCRIPTED_RUNNER,
    bell_raw,
    body,
    scripted,
    wait_final,
    wait_for_file,
    wait_gone,
    wait_status,
)

from qibo_client.protocol.wire import CANCEL, EXTENSIONS_HEADER, cancel_path, parse_extensions
from qibo_client.server.config import DeviceConfig, ServerConfig
from qibo_client.server.core import EXTENSIONS, QiboServer, ServerError

ALICE, BOB = "alice-token", "bob-token"


def config() -> ServerConfig:
    return ServerConfig(devices=[DeviceConfig("numpy", max_num_qubits=6, description="numpy")])


@pytest.fixture
def running(tmp_path: Path):
    """A started server with one worker."""
    srv = QiboServer(tmp_path / "srv", config=config(), runner=SCRIPTED_RUNNER)
    srv.add_user(ALICE)
    srv.add_user(BOB)
    srv.start()
    yield srv
    srv.close()


@pytest.fixture
def idle(tmp_path: Path):
    srv = QiboServer(tmp_path / "idle", config=config())
    srv.add_user(ALICE)
    srv.add_user(BOB)
    yield srv
    srv.close()


def long_job(folder: Path, seconds: float = 120) -> tuple[dict[str, Any], Path]:
    pidfile = folder / f"worker-{time.monotonic_ns()}.pid"
    return scripted("sleep", seconds=seconds, pidfile=str(pidfile)), pidfile


def test_the_server_announces_cancel():
    assert CANCEL in EXTENSIONS


def test_a_queued_job_is_taken_off_the_queue_and_ends_cancelled(idle):
    first = idle.submit(ALICE, body())["pid"]
    pid = idle.submit(ALICE, body())["pid"]
    answer = idle.cancel_job(ALICE, pid)
    assert answer == {"detail": f"job {pid} cancelled", "pid": pid, "cancelled": True}
    job = idle.get_job(ALICE, pid)
    assert (job["status"], job["cancelled"]) == ("error", True)
    assert "cancelled" in job["stderr"] and job["queue_position"] is None
    assert idle.get_job(ALICE, first)["queue_position"] == 1
    assert idle.get_job(ALICE, first)["cancelled"] is False
    again = idle.cancel_job(ALICE, pid)
    assert again["cancelled"] is True and idle.get_job(ALICE, pid)["status"] == "error"


def test_only_the_owner_cancels_and_an_unknown_pid_is_404(idle):
    pid = idle.submit(ALICE, body())["pid"]
    for token, target in ((BOB, pid), (ALICE, "no-such-job")):
        with pytest.raises(ServerError) as caught:
            idle.cancel_job(token, target)
        assert caught.value.status == 404
    assert idle.get_job(ALICE, pid)["status"] == "queueing"


def test_a_finished_job_is_left_as_it_is(running):
    pid = running.submit(ALICE, body())["pid"]
    assert wait_final(running, ALICE, pid)["status"] == "success"
    answer = running.cancel_job(ALICE, pid)
    assert answer["cancelled"] is False and "already ended (success)" in answer["detail"]
    job = running.get_job(ALICE, pid)
    assert (job["status"], job["cancelled"]) == ("success", False) and job["frequencies"]


def test_a_running_job_is_stopped_at_once_and_another_users_job_then_runs(running, tmp_path):
    circuit, pidfile = long_job(tmp_path)
    pid = running.submit(ALICE, body(circuit))["pid"]
    waiting = running.submit(BOB, body())["pid"]
    wait_status(running, ALICE, pid, "running")
    worker = int(wait_for_file(pidfile))
    started = time.monotonic()
    answer = running.cancel_job(ALICE, pid)
    assert time.monotonic() - started < 1.0
    assert answer["cancelled"] is True
    job = running.get_job(ALICE, pid)
    assert (job["status"], job["cancelled"]) == ("error", True)
    assert wait_gone(worker, timeout=1.0) < 1.0
    other = wait_final(running, BOB, waiting, timeout=60)
    assert other["status"] == "success" and other["cancelled"] is False


def test_delete_of_a_running_job_frees_its_worker_within_a_second(running, tmp_path):
    circuit, pidfile = long_job(tmp_path)
    pid = running.submit(ALICE, body(circuit))["pid"]
    waiting = running.submit(BOB, body())["pid"]
    wait_status(running, ALICE, pid, "running")
    worker = int(wait_for_file(pidfile))
    running.delete_job(ALICE, pid)
    assert wait_gone(worker, timeout=1.0) < 1.0
    assert wait_final(running, BOB, waiting, timeout=60)["status"] == "success"
    assert [j["pid"] for j in running.list_jobs(ALICE)] == []


def test_a_cancelled_job_stays_cancelled_after_a_restart(tmp_path):
    folder = tmp_path / "kept"
    with QiboServer(folder, config=config()) as first:
        first.add_user(ALICE)
        pid = first.submit(ALICE, body())["pid"]
        first.cancel_job(ALICE, pid)
    with QiboServer(folder, config=config()) as second:
        job = second.get_job(ALICE, pid)
        assert (job["status"], job["cancelled"]) == ("error", True)


# -- over HTTP, through `qibo-client serve` ---------------------------------------------------


def post(url: str, path: str, token: str = TOKEN1, **kwargs: Any) -> requests.Response:
    headers = {"x-api-token": token, "x-qibo-client-version": "0.2.4"}
    return requests.post(f"{url}/api/{path}", headers=headers, timeout=30, **kwargs)


def get_job(url: str, pid: str, token: str = TOKEN1, **params: Any) -> dict[str, Any]:
    answer = requests.get(
        f"{url}/api/jobs/{pid}/", headers={"x-api-token": token}, params=params, timeout=90
    )
    assert answer.status_code == 200, answer.text
    return answer.json()


def http_wait(url: str, pid: str, token: str, until: tuple[str, ...], timeout: float = 60):
    deadline = time.monotonic() + timeout
    job = get_job(url, pid, token)
    while job["status"] not in until:
        assert time.monotonic() < deadline, f"job {pid} still {job['status']}"
        job = get_job(url, pid, token, wait=10, status=job["status"])
    return job


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory):
    folder = tmp_path_factory.mktemp("cancel-served")
    with serve(folder / "data", extra=("--runner", SCRIPTED_RUNNER)) as server:
        yield server


@pytest.mark.slow
def test_over_http_a_queued_and_a_running_job_are_cancelled(served, tmp_path):
    url = served.url
    circuit, pidfile = long_job(tmp_path)
    running_pid = post(url, "jobs/", json=body(circuit)).json()["pid"]
    queued_pid = post(url, "jobs/", json=body()).json()["pid"]
    bobs = post(url, "jobs/", TOKEN2, json=body(bell_raw())).json()["pid"]
    http_wait(url, running_pid, TOKEN1, ("running",))
    worker = int(wait_for_file(pidfile))

    answer = post(url, cancel_path(queued_pid))
    assert answer.status_code == 200 and answer.json()["cancelled"] is True
    assert CANCEL in parse_extensions(answer.headers.get(EXTENSIONS_HEADER))
    job = get_job(url, queued_pid)
    assert (job["status"], job["cancelled"]) == ("error", True)

    started = time.monotonic()
    answer = post(url, cancel_path(running_pid))
    assert answer.status_code == 200 and answer.json()["cancelled"] is True
    assert time.monotonic() - started < 1.5
    assert wait_gone(worker, timeout=1.0) < 1.0
    job = get_job(url, running_pid)
    assert (job["status"], job["cancelled"]) == ("error", True)
    assert http_wait(url, bobs, TOKEN2, ("success", "error"))["status"] == "success"
    assert post(url, cancel_path(bobs)).status_code == 404  # another user's job


@pytest.mark.slow
def test_over_http_delete_of_a_running_job_frees_its_worker_within_a_second(served, tmp_path):
    url = served.url
    circuit, pidfile = long_job(tmp_path)
    pid = post(url, "jobs/", json=body(circuit)).json()["pid"]
    bobs = post(url, "jobs/", TOKEN2, json=body(bell_raw())).json()["pid"]
    http_wait(url, pid, TOKEN1, ("running",))
    worker = int(wait_for_file(pidfile))
    deleted = requests.delete(f"{url}/api/jobs/{pid}/", headers={"x-api-token": TOKEN1}, timeout=30)
    assert deleted.status_code == 200
    assert wait_gone(worker, timeout=1.0) < 1.0
    assert http_wait(url, bobs, TOKEN2, ("success", "error"))["status"] == "success"
