"""One contract suite, run by our client against both faces of the local server.

The same tests run in-process (``local:///folder``) and over real loopback
HTTP against ``qibo-client serve`` started by the fixture: a transport that
passes them speaks the protocol the way the published API expects.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest
from qibo import Circuit, gates
from tests.support.fakes import RecordingRenderer
from tests.support.serve import TOKEN1, TOKEN2, serve

from qibo_client import Client, QiboJobStatus
from qibo_client.exceptions import JobPostServerError, QiboApiError


@dataclass
class Face:
    name: str
    url: str
    token: str
    other_token: str

    def client(self, token: str | None = None) -> tuple[Client, RecordingRenderer]:
        renderer = RecordingRenderer()
        return Client(token or self.token, self.url, renderer=renderer), renderer


@pytest.fixture(scope="module", params=["in-process", "http"])
def face(request, tmp_path_factory) -> Iterator[Face]:
    folder: Path = tmp_path_factory.mktemp(f"face-{request.param}")
    if request.param == "in-process":
        yield Face("in-process", f"local://{folder}", "alice-token", "bob-token")
        return
    with serve(folder) as served:
        yield Face("http", served.url, TOKEN1, TOKEN2)


@pytest.fixture
def client(face) -> Iterator[Client]:
    client, _ = face.client()
    yield client
    client.close()


def bell() -> Circuit:
    circuit = Circuit(2)
    circuit.add(gates.H(0))
    circuit.add(gates.CNOT(0, 1))
    circuit.add(gates.M(0, 1))
    return circuit


def ghz(n: int) -> Circuit:
    circuit = Circuit(n)
    circuit.add(gates.H(0))
    for q in range(n - 1):
        circuit.add(gates.CNOT(q, q + 1))
    circuit.add(gates.M(*range(n)))
    return circuit


def failing_circuit() -> dict:
    """Passes the server's checks, fails when qibo builds it in the worker: a collapsing
    measurement with bit-flip noise, which qibo does not implement."""
    circuit = Circuit(1)
    circuit.add(gates.RX(0, theta=0.3))
    circuit.add(gates.M(0))
    raw = circuit.raw
    raw["queue"][1]["init_kwargs"].update(collapse=True, p0=0.1)
    return raw


def test_bell_frequencies(client):
    job = client.run_circuit(bell(), device="numpy", nshots=500)
    result = job.result(wait=0.05)
    frequencies = dict(result.frequencies())
    # The stored shots are the server's own: the same on every load and in the job object.
    assert dict(job.result().frequencies()) == frequencies
    assert dict(client.get_job(job.pid).info.frequencies) == frequencies
    assert set(frequencies) <= {"00", "11"} and sum(frequencies.values()) == 500
    assert min(frequencies.get("00", 0), frequencies.get("11", 0)) > 150


def test_ghz_frequencies(client):
    result = client.run_circuit(ghz(4), device="numpy", nshots=400).result(wait=0.05)
    frequencies = dict(result.frequencies())
    assert set(frequencies) <= {"0000", "1111"} and sum(frequencies.values()) == 400


def test_state_vector_equals_qibo_direct(client):
    circuit = Circuit(3)
    circuit.add(gates.H(0))
    circuit.add(gates.RY(1, theta=0.7))
    circuit.add(gates.CNOT(0, 2))
    job = client.run_circuit(circuit, device="numpy")
    np.testing.assert_allclose(job.result(wait=0.05).state(), circuit().state(), atol=1e-12)
    assert job.results_path is not None and job.results_path.is_file()


def test_quota_and_job_tables(face):
    client, renderer = face.client()
    pid = client.run_circuit(bell(), device="numpy", nshots=10).pid
    client.print_quota_info()
    client.print_job_info()
    disk, projects = renderer.quotas[-1]
    assert disk.kbs_max >= disk.kbs_left >= 0
    assert any(p.project == "personal" and p.partition.name == "numpy" for p in projects)
    user, jobs = renderer.job_tables[-1]
    assert "@" in user and pid in {job.pid for job in jobs}


def test_get_delete_and_bulk_delete(face):
    client, _ = face.client()
    job = client.run_circuit(bell(), device="numpy", nshots=10)
    job.result(wait=0.05, verbose=False)
    again = client.get_job(job.pid)
    assert again.pid == job.pid and again.info.job_status is QiboJobStatus.SUCCESS
    assert job.delete().ok
    with pytest.raises(QiboApiError) as gone:
        client.get_job(job.pid)
    assert gone.value.status == 404
    others = [client.run_circuit(bell(), device="numpy", nshots=10) for _ in range(2)]
    client.wait_all(others, wait=0.05)
    assert {j.pid for j in others} <= set(client.delete_all_jobs())
    assert client.jobs() == []


def test_an_error_job_returns_none_and_keeps_its_logs(face):
    client, renderer = face.client()
    job = client.run_circuit(failing_circuit(), device="numpy", nshots=10)
    assert job.result(wait=0.05) is None
    assert job.info.job_status is QiboJobStatus.ERROR
    assert job.results_folder is not None and any(job.results_folder.iterdir())
    assert any("exited with error" in text for _, text in renderer.messages)
    assert "NotImplementedError" in (client.get_job(job.pid).info.stderr or "")


@pytest.mark.parametrize(
    ("circuit", "device", "nshots", "reason"),
    [
        (bell(), "no-such-device", 10, "no-such-device"),
        (Circuit(40), "numpy", None, "qubits"),
        ({"nqubits": 2, "queue": [{"_class": "NoSuchGate"}]}, "numpy", 10, "circuit"),
    ],
)
def test_bad_input_is_refused(client, circuit, device, nshots, reason):
    with pytest.raises(JobPostServerError, match=reason):
        client.run_circuit(circuit, device=device, nshots=nshots)


def test_another_users_job_is_invisible(face):
    alice, _ = face.client()
    bob, _ = face.client(face.other_token)
    pid = alice.run_circuit(bell(), device="numpy", nshots=10).pid
    with pytest.raises(QiboApiError) as caught:
        bob.get_job(pid)
    assert caught.value.status == 404
    assert pid not in {job.pid for job in bob.jobs()}
    with pytest.raises(QiboApiError):
        bob.delete_job(pid)
    assert alice.get_job(pid).pid == pid


def test_long_poll_is_offered_and_followed(client):
    job = client.run_circuit(bell(), device="numpy", nshots=10)
    job.wait(wait=5.0, verbose=False)  # would take >= 5 s per poll without long-poll
    assert client.transport.supports_long_poll
    assert job.info.job_status is QiboJobStatus.SUCCESS
