"""The in-process lane of ``local://``: small jobs run in the caller's process, results held.

Through the real server core and the real ``local://`` client; no worker
process is needed for a small job, and none is started for one.
"""

from __future__ import annotations

import tarfile

import numpy as np
import pytest
import qibo
from qibo import Circuit, gates

from qibo_client import Client
from qibo_client.server.core import QiboServer
from qibo_client.server.lane import LANE_SECONDS, NOW_SECONDS

TOKEN = "lane-user"


def sampling(nqubits: int = 3, layers: int = 2) -> Circuit:
    circuit = Circuit(nqubits)
    for layer in range(layers):
        for q in range(nqubits):
            circuit.add(gates.RY(q, theta=0.4 * q + 0.3 * layer + 0.1))
        for q in range(nqubits - 1):
            circuit.add(gates.CZ(q, q + 1))
    circuit.add(gates.M(*range(nqubits)))
    return circuit


def body(circuit: Circuit, nshots: int | None = 500) -> dict:
    return {
        "circuit": circuit.raw,
        "nshots": nshots,
        "device": "numpy",
        "project": "personal",
        "verbatim": False,
    }


def downloaded_counts(server: QiboServer, pid: str, folder) -> dict[str, int]:
    """The counts of the job's result as a download gives it (the published client's way)."""
    with tarfile.open(server.result_archive(TOKEN, pid), "r:gz") as tar:
        tar.extractall(folder, filter="data")
    loaded = qibo.result.load_result(str(next(folder.rglob("results.npy"))))
    return {str(k): int(v) for k, v in loaded.frequencies().items()}


@pytest.fixture
def server(tmp_path):
    with QiboServer(tmp_path / "data", in_process=True, keep=False) as running:
        running.add_user(TOKEN)
        yield running


@pytest.fixture
def client():
    with Client("", "local://") as made:
        yield made


def test_a_small_job_ends_within_its_submission_and_starts_no_worker(server):
    pid = server.submit(TOKEN, body(sampling()))["pid"]
    job = server.get_job(TOKEN, pid)
    assert job["status"] == "success"
    assert sum(job["frequencies"].values()) == 500
    assert server.dispatcher.live_workers == 0


def test_the_held_result_is_the_jobs_own_counts(server):
    pid = server.submit(TOKEN, body(sampling()))["pid"]
    held = server.held_result(TOKEN, pid)
    counts = {str(k): int(v) for k, v in held.frequencies().items()}
    assert counts == server.get_job(TOKEN, pid)["frequencies"]


def test_another_user_cannot_take_a_held_result(server):
    pid = server.submit(TOKEN, body(sampling()))["pid"]
    server.add_user("someone else")
    with pytest.raises(Exception, match="not found"):
        server.get_job("someone else", pid)
    assert server.held_result("someone else", pid) is None


def test_a_bigger_job_runs_in_the_lane_thread_and_is_followed_like_any(server):
    circuit = Circuit(15)
    for index in range(600):
        circuit.add(gates.RX(index % 15, theta=0.01 * index))
    admitted_seconds = server.dry_run(TOKEN, body(circuit, None))["estimated_seconds"]
    assert NOW_SECONDS < admitted_seconds <= LANE_SECONDS
    pid = server.submit(TOKEN, body(circuit, None))["pid"]
    answer = server.get_job(TOKEN, pid, wait=30, known_status="queueing")
    while answer["status"] not in ("success", "error"):
        answer = server.get_job(TOKEN, pid, wait=30, known_status=answer["status"])
    assert answer["status"] == "success", answer["stderr"]
    state = server.held_result(TOKEN, pid).state()
    expected = circuit().state()
    assert np.allclose(state, expected)
    assert server.dispatcher.live_workers == 0


def test_a_download_writes_the_held_result_in_the_published_format(server, tmp_path):
    pid = server.submit(TOKEN, body(sampling()))["pid"]
    counts = server.get_job(TOKEN, pid)["frequencies"]
    assert downloaded_counts(server, pid, tmp_path / "out") == counts


def test_results_spill_to_disk_beyond_the_memory_budget(server, tmp_path):
    server.dispatcher.lane.held_bytes = 1  # every result but the newest goes to disk
    pids = [server.submit(TOKEN, body(sampling()))["pid"] for _ in range(4)]
    first = pids[0]
    counts = server.get_job(TOKEN, first)["frequencies"]
    assert downloaded_counts(server, first, tmp_path / "spilled") == counts


def test_a_kept_folder_keeps_results_for_the_next_server(tmp_path):
    folder = tmp_path / "kept"
    with QiboServer(folder, in_process=True, keep=True) as first:
        first.add_user(TOKEN)
        pid = first.submit(TOKEN, body(sampling()))["pid"]
        counts = first.get_job(TOKEN, pid)["frequencies"]
    with QiboServer(folder) as second:  # no lane, another process's view
        assert downloaded_counts(second, pid, tmp_path / "again") == counts


def test_deleting_a_job_drops_its_held_result(server):
    pid = server.submit(TOKEN, body(sampling()))["pid"]
    server.delete_job(TOKEN, pid)
    assert server.dispatcher.lane.held(pid, owner=1) is None


def test_the_users_circuit_and_global_backend_are_left_as_they_were(client):
    circuit = sampling()
    before = circuit.raw
    backend = qibo.get_backend()
    client.run_circuit(circuit, device="numpy", nshots=100).result(verbose=False)
    assert circuit.raw == before  # no samples left in its measurement gates
    assert qibo.get_backend() is backend
    # and it can be sent again (a circuit carrying samples would be refused)
    assert client.run_circuit(circuit, device="numpy", nshots=100).result(verbose=False)


def test_numpys_seed_makes_local_jobs_repeatable(client):
    circuit = sampling()
    counts = []
    for _ in range(2):
        np.random.seed(1234)  # what qibo's numpy simulator samples from
        job = client.run_circuit(circuit, device="numpy", nshots=300)
        counts.append(job.frequencies(verbose=False))
    assert counts[0] == counts[1]


def test_result_hands_over_the_held_object_and_stores_it_when_asked(client):
    circuit = sampling()
    job = client.run_circuit(circuit, device="numpy", nshots=200)
    result = job.result(verbose=False)
    assert job.result(verbose=False) is result  # the same object, not a reload
    assert "results_folder" not in repr(job)  # nothing written yet
    folder = job.results_folder  # reading it stores the result
    assert folder is not None and (folder / "results.npy").is_file()
    assert job.results_path == folder / "results.npy"
    stored = qibo.result.load_result(str(job.results_path))
    assert stored.frequencies() == result.frequencies()


def test_a_state_vector_job_through_local_matches_qibo(client):
    circuit = Circuit(5)
    for q in range(5):
        circuit.add(gates.H(q))
        circuit.add(gates.RZ(q, theta=0.2 * q))
    result = client.run_circuit(circuit, device="numpy").result(verbose=False)
    assert np.allclose(result.state(), circuit().state())


def test_a_density_matrix_job_runs_in_the_lane(client):
    circuit = Circuit(2, density_matrix=True)
    circuit.add(gates.H(0))
    circuit.add(gates.CNOT(0, 1))
    circuit.add(gates.M(0, 1))
    counts = client.run_circuit(circuit, device="numpy", nshots=400).frequencies(verbose=False)
    assert set(counts) <= {"00", "11"} and sum(counts.values()) == 400


@pytest.mark.slow  # starts a worker process
def test_lane_off_runs_every_job_in_a_worker(tmp_path):
    with Client("", f"local://{tmp_path}/off?lane=off") as off:
        server = off.transport._server
        assert server.dispatcher.lane is None
        counts = off.run_circuit(sampling(), device="numpy", nshots=50).frequencies(verbose=False)
        assert sum(counts.values()) == 50
        assert server.dispatcher.live_workers == 1


def test_a_lane_setting_that_is_neither_on_nor_off_is_refused():
    from qibo_client.exceptions import ConfigurationError

    with pytest.raises(ConfigurationError, match="lane must be on or off"):
        Client("", "local://?lane=maybe")


def test_local_submissions_send_no_generated_idempotency_key(tmp_path):
    # An in-process server answers or raises: no outcome to recover, no key to store.
    with Client("", f"local://{tmp_path}/keys") as local:
        local.run_circuit(sampling(), device="numpy", nshots=10).result(verbose=False)
        local.run_circuit(sampling(), device="numpy", nshots=10, idempotency_key="mine")
        rows = local.transport._server.store.query("SELECT key FROM idempotency_keys")
        assert [row["key"] for row in rows] == ["mine"]


def test_ended_jobs_keep_bounded_marks_in_memory(server):
    server.dispatcher.kept_ended = 5
    pids = [server.submit(TOKEN, body(sampling(), 20))["pid"] for _ in range(30)]
    dispatcher = server.dispatcher
    assert len(dispatcher._statuses) <= 5 and len(dispatcher._versions) <= 5
    # a job whose marks are gone still answers, long-polls included
    assert server.get_job(TOKEN, pids[0], wait=0.2, known_status="queueing")["status"] == "success"


def test_results_written_out_leave_no_owner_behind(server):
    lane = server.dispatcher.lane
    lane.held_bytes = 1
    for _ in range(20):
        server.submit(TOKEN, body(sampling(), 20))
    server.dispatcher.lane.close()  # lets the writer finish its queue
    assert len(lane._owners) <= 1 and len(lane._held) <= 1
