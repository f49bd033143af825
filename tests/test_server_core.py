"""The local server's core: lifecycle, quotas, refusals, tokens, idempotency, failures, restart."""

from __future__ import annotations

import io
import sqlite3
import tarfile
import time
from pathlib import Path

import pytest
from tests.support.server import (
    SCRIPTED_RUNNER,
    bell_raw,
    body,
    scripted,
    wait_final,
    wait_status,
    wide_raw,
)

from qibo_client.server.config import DeviceConfig, ServerConfig
from qibo_client.server.core import EXTENSIONS, JobRefused, QiboServer, ServerError

ALICE, BOB = "alice-token", "bob-token"


def small_config(**quota: float) -> ServerConfig:
    return ServerConfig(
        devices=[
            DeviceConfig("numpy", max_num_qubits=6, description="numpy", max_num_shots=5000),
            DeviceConfig(
                "short",
                backend="numpy",
                max_num_qubits=4,
                description="1 s walltime",
                max_walltime_seconds=1.0,
            ),
            DeviceConfig("closed", max_num_qubits=4, description="off", status="unavailable"),
        ],
        **quota,
    )


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory):
    """One running server for the module (its worker takes seconds to import qibo)."""
    srv = QiboServer(
        tmp_path_factory.mktemp("server"), config=small_config(), runner=SCRIPTED_RUNNER
    )
    srv.add_user(ALICE, "alice@lab")
    srv.add_user(BOB)
    srv.start()
    yield srv
    srv.close()


@pytest.fixture
def idle(tmp_path: Path):
    """A server whose workers were never started: jobs stay queued."""
    srv = QiboServer(tmp_path / "idle", config=small_config(jobs_max=3, shots_max=250))
    srv.add_user(ALICE)
    yield srv
    srv.close()


def archive_members(path: Path) -> dict[str, bytes]:
    with tarfile.open(path, "r:gz") as archive:
        return {m.name: archive.extractfile(m).read() for m in archive.getmembers()}  # type: ignore[union-attr]


# -- lifecycle ---------------------------------------------------------------------------


def test_a_measured_job_runs_to_success_with_frequencies_and_a_results_archive(server):
    pid = server.submit(ALICE, body(nshots=500))["pid"]
    seen = [server.get_job(ALICE, pid)["status"]]
    job = server.get_job(ALICE, pid)
    while job["status"] not in ("success", "error"):
        job = server.get_job(ALICE, pid, wait=20, known_status=job["status"])
        seen.append(job["status"])
    assert job["status"] == "success", job["stderr"]
    order = ["queueing", "pending", "running", "postprocessing", "success"]
    assert [order.index(s) for s in seen] == sorted(order.index(s) for s in seen)
    assert set(job["frequencies"]) <= {"00", "11"} and sum(job["frequencies"].values()) == 500
    assert job["user"] == {"email": "alice@lab"}
    assert job["projectquota"]["partition"]["name"] == "numpy"
    assert job["num_qubits"] == 2 and job["nshots"] == 500 and job["verbatim"] is False
    assert job["runtime"] > 0 and job["qibo_version"]
    assert job["created_at"] <= job["updated_at"]
    archive = server.result_archive(ALICE, pid)
    assert job["result_path"] == str(archive)
    (tmp := archive.parent.parent / "check").mkdir(exist_ok=True)
    (tmp / "results.npy").write_bytes(archive_members(archive)["results.npy"])
    from qibo.result import load_result

    result = load_result(tmp / "results.npy")
    assert sum(result.frequencies().values()) == 500


def test_a_job_without_measurements_gives_the_state(server):
    import numpy as np
    from qibo import Circuit

    raw = bell_raw(measure=False)
    job = wait_final(server, ALICE, server.submit(ALICE, body(raw, nshots=None))["pid"])
    assert job["status"] == "success" and "frequencies" not in job
    path = server.result_archive(ALICE, job["pid"]).parent / "state.npy"
    path.write_bytes(archive_members(server.result_archive(ALICE, job["pid"]))["results.npy"])
    from qibo.result import load_result

    expected = Circuit.from_dict(raw)().state()
    np.testing.assert_allclose(load_result(path).state(), expected)


BELL_QASM = """// as NVIDIA CUDA-Q's tii target sends it
OPENQASM 2.0;

include "qelib1.inc";

qreg var0[2];
creg var3[2];
h var0[0];
cx var0[0], var0[1];
measure var0[0] -> var3[0];
measure var0[1] -> var3[1];
"""


def test_an_openqasm_string_runs_like_a_raw_dict(server):
    job = wait_final(server, ALICE, server.submit(ALICE, body(BELL_QASM, nshots=300))["pid"])
    assert job["status"] == "success", job["stderr"]
    assert job["circuit"] == BELL_QASM and job["num_qubits"] == 2
    assert set(job["frequencies"]) == {"00", "11"} and sum(job["frequencies"].values()) == 300


def test_an_openqasm_string_qibo_cannot_read_ends_in_error_with_its_reason(server):
    text = "OPENQASM 2.0;\nqreg q[2];\nnosuchgate q[0];\n"
    job = wait_final(server, ALICE, server.submit(ALICE, body(text))["pid"])
    assert job["status"] == "error" and "frequencies" not in job
    assert "Undefined gate" in job["stderr"]


def test_queued_jobs_carry_position_and_estimate_under_both_names(idle):
    pids = [idle.submit(ALICE, body(nshots=10))["pid"] for _ in range(3)]
    jobs = [idle.get_job(ALICE, pid) for pid in pids]
    assert [j["queue_position"] for j in jobs] == [1, 2, 3]
    assert [j["job_queue_position"] for j in jobs] == [1, 2, 3]
    for job in jobs:
        assert job["status"] == "queueing"
        assert job["etd_seconds"] == job["seconds_to_job_start"] >= 0
        assert isinstance(job["queue_last_update"], str)
    assert jobs[0]["etd_seconds"] < jobs[2]["etd_seconds"]
    idle.delete_job(ALICE, pids[0])
    assert idle.get_job(ALICE, pids[2])["queue_position"] == 2


def test_version_and_extensions(server):
    import qibo

    assert server.version() == {
        "server_qibo_version": qibo.__version__,
        "minimum_client_qibo_version": "0.3.0",
        "minimum_qibo_version": "0.3.0",
        "minimum_client_version": "0.2.0",
    }
    assert EXTENSIONS == (
        "long-poll",
        "idempotency",
        "cancel",
        "dry-run",
        "job-list",
        "batch",
        "job-list-pids",
    )


# -- quotas ------------------------------------------------------------------------------


def test_quotas_decrease_as_jobs_are_queued_and_run(server):
    def numpy_quota():
        return next(q for q in server.project_quotas(BOB) if q["partition"]["name"] == "numpy")

    before, disk_before = numpy_quota(), server.disk_quota(BOB)[0]
    job = wait_final(server, BOB, server.submit(BOB, body(nshots=300))["pid"])
    after, disk_after = numpy_quota(), server.disk_quota(BOB)[0]
    assert job["status"] == "success"
    assert after["jobs_left"] == before["jobs_left"] - 1
    assert after["shots_left"] == before["shots_left"] - 300
    assert after["seconds_left"] < before["seconds_left"]
    assert disk_after["kbs_left"] < disk_before["kbs_left"] <= disk_before["kbs_max"]
    assert disk_after["user"]["email"].endswith("@localhost")
    for key in ("max_num_shots", "max_walltime_seconds", "seconds_max", "shots_max", "jobs_max"):
        assert key in after
    assert {q["partition"]["name"] for q in server.project_quotas(BOB)} == {
        "numpy",
        "short",
        "closed",
    }


def test_exhausted_quotas_refuse_submissions(idle, tmp_path):
    idle.submit(ALICE, body(nshots=200))
    with pytest.raises(JobRefused, match=r"shot quota exhausted.*50 shots left"):
        idle.submit(ALICE, body(nshots=100))
    idle.submit(ALICE, body(nshots=None))
    idle.submit(ALICE, body(nshots=None))
    with pytest.raises(JobRefused, match="job quota exhausted"):
        idle.submit(ALICE, body(nshots=None))
    for quota, match in (({"seconds_max": 0}, "time quota"), ({"disk_kbs_max": 0}, "disk quota")):
        other = QiboServer(tmp_path / match, config=small_config(**quota))
        other.add_user(ALICE)
        with pytest.raises(JobRefused, match=match):
            other.submit(ALICE, body())
        other.close()


# -- refusals and malformed bodies -----------------------------------------------------------


@pytest.mark.parametrize(
    ("fields", "match"),
    [
        ({"device": "gpu"}, r"unknown device 'gpu'.*numpy, short, closed"),
        ({"device": "closed"}, "unavailable"),
        ({"project": "lab"}, "unknown project 'lab'.*personal"),
        ({"circuit": wide_raw(7)}, "7 qubits.*at most 6"),
        ({"nshots": 0}, "between 1 and 5000"),
        ({"nshots": -3}, "between 1 and 5000"),
        ({"nshots": 5001}, "between 1 and 5000"),
        ({"circuit": {"queue": "nonsense"}}, r"qibo\.Circuit\.from_dict"),
        ({"circuit": "h q[0];"}, "not OpenQASM.*OPENQASM 2.0;"),
        ({"circuit": 'OPENQASM 2.0;\ninclude "qelib1.inc";\n'}, "declares no qubits"),
        ({"circuit": "OPENQASM 2.0;\nqreg a[4];\nqreg b[3];\n"}, "7 qubits.*at most 6"),
    ],
)
def test_submissions_that_cannot_run_are_refused_with_a_reason(idle, fields, match):
    with pytest.raises(JobRefused, match=match):
        idle.submit(ALICE, body(**fields))
    assert idle.list_jobs(ALICE) == []


@pytest.mark.parametrize(
    ("payload", "field"),
    [
        ([1, 2], "JSON object"),
        ({"device": "numpy"}, "'circuit'"),
        (body(device=3), "'device'"),
        (body(nshots="10"), "'nshots'"),
        (body(nshots=True), "'nshots'"),
        (body(verbatim="yes"), "'verbatim'"),
        (body(project=""), "'project'"),
        (body(circuit=7), "'circuit'"),
        (body(circuit="  "), "'circuit'"),
    ],
)
def test_malformed_bodies_are_422_naming_the_field(idle, payload, field):
    with pytest.raises(ServerError, match=field) as caught:
        idle.submit(ALICE, payload)
    assert caught.value.status == 422


# -- tokens and ownership --------------------------------------------------------------------


@pytest.mark.parametrize("token", ["", None])
def test_a_missing_token_is_401(idle, token):
    with pytest.raises(ServerError) as caught:
        idle.list_jobs(token)
    assert caught.value.status == 401


def test_an_unknown_token_is_403_and_tokens_are_stored_hashed(idle):
    with pytest.raises(ServerError, match="invalid token") as caught:
        idle.submit("not-a-user", body())
    assert caught.value.status == 403
    assert "not-a-user" not in str(caught.value)
    idle.add_user(ALICE)  # again: no second user
    with sqlite3.connect(idle.data_dir / "server.sqlite3") as db:
        rows = db.execute("SELECT token_sha256 FROM users").fetchall()
    assert len(rows) == 1 and rows[0][0] != ALICE and len(rows[0][0]) == 64


def test_another_users_job_is_invisible(idle):
    idle.add_user(BOB)
    pid = idle.submit(ALICE, body())["pid"]
    for call in (idle.get_job, idle.delete_job, idle.result_archive):
        with pytest.raises(ServerError, match=f"job {pid} not found") as caught:
            call(BOB, pid)
        assert caught.value.status == 404
    assert idle.list_jobs(BOB) == [] and idle.bulk_delete(BOB) == {"deleted": []}
    with pytest.raises(ServerError, match="job nope not found"):
        idle.get_job(ALICE, "nope")
    assert [j["pid"] for j in idle.list_jobs(ALICE)] == [pid]


def test_delete_and_bulk_delete(idle):
    pids = [idle.submit(ALICE, body(nshots=None))["pid"] for _ in range(3)]
    assert idle.delete_job(ALICE, pids[0])["pid"] == pids[0]
    assert idle.bulk_delete(ALICE) == {"deleted": pids[1:]}
    assert idle.list_jobs(ALICE) == []


def test_an_unfinished_job_has_no_archive_yet(idle):
    pid = idle.submit(ALICE, body())["pid"]
    with pytest.raises(ServerError, match="no result yet: it is queueing") as caught:
        idle.result_archive(ALICE, pid)
    assert caught.value.status == 404


# -- idempotency -------------------------------------------------------------------------


def test_the_same_key_gives_the_same_job_also_after_a_restart(idle):
    first = idle.submit(ALICE, body(), idempotency_key="k-1")
    assert idle.submit(ALICE, body(), idempotency_key="k-1") == first
    assert idle.submit(ALICE, body(), idempotency_key="k-2") != first
    with pytest.raises(ServerError, match="different submission") as caught:
        idle.submit(ALICE, body(nshots=7), idempotency_key="k-1")
    assert caught.value.status == 422
    idle.close()
    again = QiboServer(idle.data_dir, config=small_config(jobs_max=3, shots_max=250))
    assert again.submit(ALICE, body(), idempotency_key="k-1") == first
    assert len(again.list_jobs(ALICE)) == 2
    again.close()


def test_keys_are_per_user(idle):
    idle.add_user(BOB)
    mine = idle.submit(ALICE, body(), idempotency_key="shared")
    assert idle.submit(BOB, body(), idempotency_key="shared") != mine


# -- failures ------------------------------------------------------------------------------


def test_an_exception_in_the_job_ends_it_in_error_with_logs(server):
    job = wait_final(server, ALICE, server.submit(ALICE, body(scripted("raise")))["pid"])
    assert job["status"] == "error" and "frequencies" not in job
    assert "RuntimeError: scripted failure" in job["stderr"] and "Traceback" in job["stderr"]
    assert "about to fail" in job["stdout"]
    logs = archive_members(server.result_archive(ALICE, job["pid"]))
    assert set(logs) == {"stdout.log", "stderr.log"}
    assert b"scripted failure" in logs["stderr.log"]


@pytest.mark.slow
def test_a_job_past_its_walltime_is_stopped_and_the_server_goes_on(server):
    started = time.monotonic()
    pid = server.submit(ALICE, body(scripted("sleep", seconds=30), device="short"))["pid"]
    job = wait_final(server, ALICE, pid)
    assert job["status"] == "error" and "walltime of 1 s" in job["stderr"]
    assert time.monotonic() - started < 20
    assert wait_final(server, ALICE, server.submit(ALICE, body())["pid"])["status"] == "success"


@pytest.mark.slow
def test_a_crashing_worker_fails_its_job_and_the_server_goes_on(server):
    job = wait_final(server, ALICE, server.submit(ALICE, body(scripted("crash")))["pid"])
    assert job["status"] == "error" and "crashed" in job["stderr"]
    assert set(archive_members(server.result_archive(ALICE, job["pid"]))) == {
        "stdout.log",
        "stderr.log",
    }
    assert wait_final(server, ALICE, server.submit(ALICE, body())["pid"])["status"] == "success"


# -- long-poll -----------------------------------------------------------------------------


def test_long_poll_wakes_as_soon_as_the_status_changes(server):
    pid = server.submit(ALICE, body(scripted("sleep", seconds=1.0)))["pid"]
    job = wait_status(server, ALICE, pid, "running")
    assert job["status"] == "running"
    asked = time.monotonic()
    job = server.get_job(ALICE, pid, wait=30, known_status="running")
    elapsed = time.monotonic() - asked
    assert job["status"] in ("postprocessing", "success") and elapsed < 10


def test_long_poll_times_out_when_nothing_changes(server):
    job = wait_final(server, ALICE, server.submit(ALICE, body())["pid"])
    asked = time.monotonic()
    again = server.get_job(ALICE, job["pid"], wait=0.4, known_status="success")
    assert 0.35 <= time.monotonic() - asked < 3 and again["status"] == "success"
    asked = time.monotonic()
    server.get_job(ALICE, job["pid"], wait=0.4, known_status="running")  # differs: at once
    server.get_job(ALICE, job["pid"], wait=0)
    assert time.monotonic() - asked < 0.3


def test_long_poll_without_a_known_status_waits_for_any_change(idle):
    import threading

    pid = idle.submit(ALICE, body())["pid"]
    threading.Timer(0.3, idle.delete_job, (ALICE, pid)).start()
    asked = time.monotonic()
    with pytest.raises(ServerError, match="not found"):
        idle.get_job(ALICE, pid, wait=20)
    assert time.monotonic() - asked < 5


# -- restart -------------------------------------------------------------------------------


@pytest.mark.slow
def test_a_restarted_server_finishes_every_unfinished_job(tmp_path):
    first = QiboServer(tmp_path, config=small_config(), runner=SCRIPTED_RUNNER)
    first.add_user(ALICE)
    first.start()
    slow = first.submit(ALICE, body(scripted("sleep", seconds=2.0)))["pid"]
    assert wait_status(first, ALICE, slow, "running")["status"] == "running"
    queued = [first.submit(ALICE, body(nshots=10))["pid"] for _ in range(2)]
    first.close()  # mid-job, mid-queue
    with sqlite3.connect(tmp_path / "server.sqlite3") as db:
        statuses = dict(db.execute("SELECT pid, status FROM jobs").fetchall())
        db.execute("UPDATE jobs SET status = 'postprocessing' WHERE pid = ?", (queued[1],))
    # "running" is held in memory only: on disk an unfinished job stays queued
    assert statuses[slow] == "queueing" and statuses[queued[0]] == "queueing"

    second = QiboServer(tmp_path, config=small_config(), runner=SCRIPTED_RUNNER)
    second.start()
    try:
        jobs = [wait_final(second, ALICE, pid) for pid in (slow, *queued)]
        assert [j["status"] for j in jobs] == ["success"] * 3
        assert not list((tmp_path / "results").glob(".*.tmp"))
    finally:
        second.close()


# -- configuration ---------------------------------------------------------------------------


def test_config_reads_server_toml_then_overrides(tmp_path):
    (tmp_path / "server.toml").write_text(
        "[quota]\njobs_max = 7\n\n[devices.numpy]\nmax_num_qubits = 12\n"
        '[devices.fast]\nbackend = "numpy"\nmax_num_qubits = 3\n',
        encoding="utf-8",
    )
    config = ServerConfig.load(tmp_path, {"max_walltime_seconds": 5, "shots_max": None})
    assert config.jobs_max == 7 and config.shots_max == ServerConfig().shots_max
    assert config.device("numpy").max_num_qubits == 12
    assert config.device("fast").backend == "numpy" and config.device("fast").max_num_qubits == 3
    assert {d.max_walltime_seconds for d in config.devices} == {5}
    with pytest.raises(ValueError, match="unknown server setting"):
        ServerConfig.load(tmp_path, {"colour": "red"})
    (tmp_path / "server.toml").write_text("[devices.gpu]\nmax_num_qubits = 3\n", encoding="utf-8")
    with pytest.raises(ValueError, match="unknown qibo backend 'gpu'"):
        ServerConfig.load(tmp_path)


def test_numpy_is_always_offered_and_qibojit_only_when_installed():
    import importlib.util

    names = [d.name for d in ServerConfig().devices]
    assert names[0] == "numpy"
    assert ("qibojit" in names) == (importlib.util.find_spec("qibojit") is not None)
    assert all(d.hardware_type == "simulator" for d in ServerConfig().devices)


def test_results_archive_is_replaced_whole(tmp_path):
    from qibo_client.server.archives import write_archive

    dest = tmp_path / "x.tar.gz"
    write_archive(dest, {"a.log": b"one"})
    write_archive(dest, {"a.log": b"two"})
    assert archive_members(dest) == {"a.log": b"two"}
    assert [p.name for p in tmp_path.iterdir()] == ["x.tar.gz"]
    assert io.BytesIO(dest.read_bytes()).read(2) == b"\x1f\x8b"


_KILLED_SERVER = """
import sys, time
from pathlib import Path
from qibo_client.server.core import QiboServer
from tests.support.server import SCRIPTED_RUNNER, body, scripted, wait_status
server = QiboServer(Path(sys.argv[1]), runner=SCRIPTED_RUNNER)
server.add_user("alice-token")
server.start()
slow = server.submit("alice-token", body(scripted("sleep", seconds=1.5)))["pid"]
rest = [server.submit("alice-token", body(nshots=10))["pid"] for _ in range(2)]
wait_status(server, "alice-token", slow, "running")
print(slow, *rest, flush=True)
time.sleep(600)
"""


@pytest.mark.slow
def test_kill_9_loses_no_job_and_a_new_server_finishes_them(tmp_path):
    import os
    import signal
    import subprocess
    import sys

    process = subprocess.Popen(
        [sys.executable, "-c", _KILLED_SERVER, str(tmp_path)],
        stdout=subprocess.PIPE,
        text=True,
        cwd=Path(__file__).resolve().parent.parent,
    )
    try:
        pids = process.stdout.readline().split()  # type: ignore[union-attr]
        assert len(pids) == 3
    finally:
        os.kill(process.pid, signal.SIGKILL)
        process.wait(10)
        process.stdout.close()  # type: ignore[union-attr]
    server = QiboServer(tmp_path, runner=SCRIPTED_RUNNER)
    server.start()
    try:
        jobs = [wait_final(server, ALICE, pid) for pid in pids]
        assert [j["status"] for j in jobs] == ["success"] * 3
        assert sorted(j["pid"] for j in server.list_jobs(ALICE)) == sorted(pids)
    finally:
        server.close()


def test_many_threads_at_once(server):
    from concurrent.futures import ThreadPoolExecutor

    def one(index: int) -> tuple[str, str]:
        token = ALICE if index % 2 else BOB
        pid = server.submit(token, body(nshots=20))["pid"]
        same = server.submit(token, body(nshots=20), idempotency_key="race")["pid"]
        return wait_final(server, token, pid)["status"], f"{token}:{same}"

    with ThreadPoolExecutor(8) as pool:
        outcomes = list(pool.map(one, range(16)))
    assert {status for status, _ in outcomes} == {"success"}
    assert len({key for _, key in outcomes}) == 2  # one job per user for the shared key
