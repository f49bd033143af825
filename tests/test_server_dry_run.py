"""Extension ``dry-run``: a submission checked as it would be queued, its cost answered, nothing run."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import requests
from qibo import Circuit, gates
from tests.support.serve import TOKEN1, serve
from tests.support.server import body, wide_raw

from qibo_client import Client
from qibo_client.protocol.wire import DRY_RUN, DRY_RUN_PATH, EXTENSIONS_HEADER, parse_extensions
from qibo_client.server.config import DeviceConfig, ServerConfig
from qibo_client.server.core import EXTENSIONS, JobRefused, QiboServer, ServerError

ALICE = "alice-token"
FIELDS = {"nqubits", "memory_bytes", "nshots", "estimated_seconds", "device", "detail"}


def config(**quota: Any) -> ServerConfig:
    return ServerConfig(
        devices=[DeviceConfig("numpy", max_num_qubits=16, description="numpy")], **quota
    )


@pytest.fixture
def idle(tmp_path: Path):
    srv = QiboServer(tmp_path / "idle", config=config(jobs_max=2))
    srv.add_user(ALICE)
    yield srv
    srv.close()


def test_the_server_announces_dry_run():
    assert DRY_RUN in EXTENSIONS


def test_a_dry_run_answers_the_cost_and_queues_nothing(idle):
    quota_before = idle.project_quotas(ALICE)
    answer = idle.dry_run(ALICE, body(nshots=1000))
    assert set(answer) >= FIELDS
    assert (answer["nqubits"], answer["nshots"], answer["device"]) == (2, 1000, "numpy")
    assert answer["memory_bytes"] == 16 * 2**2 + 8 * 1000 * 2
    assert 0 < answer["estimated_seconds"] < 1
    assert "nothing was queued" in answer["detail"] and answer["gates"] == 3
    assert idle.list_jobs(ALICE) == []
    assert idle.project_quotas(ALICE) == quota_before


def test_a_density_matrix_costs_four_to_the_n(idle):
    raw = {**wide_raw(5), "density_matrix": True}
    assert idle.dry_run(ALICE, body(raw, nshots=None))["memory_bytes"] == 16 * 4**5


@pytest.mark.parametrize(
    ("fields", "said"),
    [
        ({"device": "gpu"}, "unknown device 'gpu'"),
        ({"project": "other"}, "unknown project"),
        ({"nshots": 0}, "nshots must be between"),
        ({"circuit": wide_raw(17)}, "17 qubits"),
        ({"circuit": {**wide_raw(16), "density_matrix": True}}, "max_memory_bytes"),
        (
            {"circuit": {**wide_raw(2), "queue": [{"_class": "__setattr__"}]}},
            "'__setattr__' is not a gate",
        ),
    ],
)
def test_a_dry_run_refuses_what_a_submission_refuses(idle, fields, said):
    for ask in (idle.dry_run, idle.submit):
        with pytest.raises(JobRefused, match=said):
            ask(ALICE, body(**fields))


def test_an_exhausted_quota_is_refused_by_a_dry_run_too(idle):
    idle.submit(ALICE, body())
    idle.submit(ALICE, body())
    with pytest.raises(JobRefused, match="job quota exhausted"):
        idle.dry_run(ALICE, body())


def test_a_malformed_body_is_422_and_a_missing_token_401(idle):
    with pytest.raises(ServerError) as caught:
        idle.dry_run(ALICE, {"device": "numpy"})
    assert caught.value.status == 422
    with pytest.raises(ServerError) as caught:
        idle.dry_run("", body())
    assert caught.value.status == 401


def test_our_client_gets_the_servers_report_on_local(tmp_path):
    circuit = Circuit(3)
    circuit.add(gates.H(0))
    circuit.add(gates.M(0, 1, 2))
    client = Client("me", f"local://{tmp_path / 'local'}")
    try:
        report = client.run_circuit(circuit, device="numpy", nshots=10, dry_run=True)
        assert report.checked_by == "server"
        assert (report.nqubits, report.nshots, report.memory_bytes) == (3, 10, 128 + 240)
        assert report.unknown == () and client.jobs() == []
    finally:
        client.close()


@pytest.mark.slow
def test_over_http_a_dry_run_answers_like_a_submission(tmp_path):
    with serve(tmp_path / "data") as server:
        url = f"{server.url}/api/{DRY_RUN_PATH}"
        headers = {"x-api-token": TOKEN1, "x-qibo-client-version": "0.3.0"}
        answer = requests.post(url, json=body(), headers=headers, timeout=30)
        assert answer.status_code == 200 and set(answer.json()) >= FIELDS
        assert DRY_RUN in parse_extensions(answer.headers.get(EXTENSIONS_HEADER))
        refused = requests.post(url, json=body(device="gpu"), headers=headers, timeout=30)
        assert refused.status_code == 200 and "unknown device" in refused.json()["detail"]
        bare = requests.post(url.rstrip("/"), json=body(device="gpu"), headers=headers, timeout=30)
        assert bare.status_code == 422 and "unknown device" in bare.json()["detail"]
        jobs = requests.get(f"{server.url}/api/jobs/", headers=headers, timeout=30).json()
        assert jobs == []
