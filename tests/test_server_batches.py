"""Tiny queued jobs go to a worker several at a time, one message each way (issue 13),
without changing what a cancel, a walltime or a job's result means."""

from __future__ import annotations

import pytest
from tests.support.server import SCRIPTED_RUNNER, body, scripted, wait_final, wait_status

from qibo_client.server.config import DeviceConfig, ServerConfig
from qibo_client.server.core import QiboServer
from qibo_client.server.dispatch import BATCH_MAX

ALICE = "alice-token"
BELL_QASM = "OPENQASM 2.0;\nqreg q[2];\ncreg c[2];\nh q[0];\nmeasure q[0] -> c[0];\n"


def config() -> ServerConfig:
    return ServerConfig(
        devices=[
            DeviceConfig("numpy", max_num_qubits=12, description="numpy", max_num_shots=50_000),
            DeviceConfig(
                "short", backend="numpy", max_num_qubits=4, description="1 s",
                max_walltime_seconds=1.0,
            ),
        ]
    )  # fmt: skip


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory):
    srv = QiboServer(tmp_path_factory.mktemp("batches"), config=config(), runner=SCRIPTED_RUNNER)
    srv.dispatcher.batch_max = BATCH_MAX  # the scripted runner's sleeps stand for tiny jobs
    srv.add_user(ALICE)
    srv.start()
    yield srv
    srv.close()


def test_batches_are_for_the_default_runner_only(tmp_path):
    default = QiboServer(tmp_path / "a", config=config())
    other = QiboServer(tmp_path / "b", config=config(), runner=SCRIPTED_RUNNER)
    try:
        assert default.dispatcher.batch_max == BATCH_MAX and other.dispatcher.batch_max == 1
        other.add_user(ALICE)
        pids = [other.submit(ALICE, body())["pid"] for _ in range(3)]
        dispatcher = other.dispatcher
        assert dispatcher._take_batch(dispatcher._next_job() or "") == {}
        assert list(dispatcher._queue) == pids[1:]
    finally:
        default.close()
        other.close()


def test_only_tiny_jobs_right_behind_each_other_are_taken_together(tmp_path):
    idle = QiboServer(tmp_path / "idle", config=config())  # never started: jobs stay queued
    idle.add_user(ALICE)
    try:
        tiny = [idle.submit(ALICE, body())["pid"] for _ in range(3)]
        text = idle.submit(ALICE, body(BELL_QASM))["pid"]
        after = idle.submit(ALICE, body())["pid"]
        first = idle.dispatcher._next_job()
        assert first == tiny[0]
        assert list(idle.dispatcher._take_batch(first)) == tiny  # the QASM text stops it
        assert [idle.dispatcher._next_job(), idle.dispatcher._next_job()] == [text, after]
        big = idle.submit(ALICE, body(nshots=20_000))["pid"]
        idle.submit(ALICE, body())
        assert idle.dispatcher._take_batch(idle.dispatcher._next_job() or "") == {}
        assert big not in idle.dispatcher._queue
    finally:
        idle.close()


def test_a_batch_runs_every_job_with_its_own_counts(server):
    blocker = server.submit(ALICE, body(scripted("sleep", seconds=0.5)))["pid"]
    wait_status(server, ALICE, blocker, "running")
    shots = [100 + index for index in range(12)]
    pids = [server.submit(ALICE, body(nshots=n))["pid"] for n in shots]
    jobs = [wait_final(server, ALICE, pid) for pid in pids]
    assert [j["status"] for j in jobs] == ["success"] * len(pids)
    assert [sum(j["frequencies"].values()) for j in jobs] == shots
    assert wait_final(server, ALICE, blocker)["status"] == "success"
    archive = server.result_archive(ALICE, pids[5])
    assert archive.is_file()


def test_a_cancel_in_a_batch_loses_none_of_the_others(server):
    blocker = server.submit(ALICE, body(scripted("sleep", seconds=0.5)))["pid"]
    wait_status(server, ALICE, blocker, "running")
    slow = server.submit(ALICE, body(scripted("sleep", seconds=1.5)))["pid"]
    rest = [server.submit(ALICE, body())["pid"] for _ in range(5)]
    wait_status(server, ALICE, slow, "running")
    # Sent along with the slow one: already running, not queueing.
    assert server.get_job(ALICE, rest[2])["status"] == "running"
    assert server.cancel_job(ALICE, rest[2])["cancelled"] is True
    jobs = {pid: wait_final(server, ALICE, pid) for pid in (slow, *rest)}
    assert jobs[rest[2]]["status"] == "error" and jobs[rest[2]]["cancelled"] is True
    others = [jobs[pid] for pid in (slow, *rest) if pid != rest[2]]
    assert [j["status"] for j in others] == ["success"] * len(others)
    assert wait_final(server, ALICE, blocker)["status"] == "success"


def test_a_batch_past_its_walltime_runs_each_job_alone(server):
    blocker = server.submit(ALICE, body(scripted("sleep", seconds=0.5)))["pid"]
    wait_status(server, ALICE, blocker, "running")
    late = server.submit(ALICE, body(scripted("sleep", seconds=3.0), device="short"))["pid"]
    rest = [server.submit(ALICE, body(device="short"))["pid"] for _ in range(4)]
    jobs = {pid: wait_final(server, ALICE, pid, timeout=60) for pid in (late, *rest)}
    assert jobs[late]["status"] == "error" and "walltime" in jobs[late]["stderr"]
    assert [jobs[pid]["status"] for pid in rest] == ["success"] * len(rest)
