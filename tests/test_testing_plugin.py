"""The testing kit's pytest plugin, and the worked example of docs/guide/testing.md."""

from __future__ import annotations

import importlib.metadata
import subprocess
import sys

import pytest
from qibo import Circuit, gates
from tests.support.contrib import EXAMPLES, REPO

from qibo_client import Client
from qibo_client.testing import MockServer, MockTransport, RecordingRenderer

PLUGIN = "qibo_client.testing.pytest_plugin"


def bell() -> Circuit:
    circuit = Circuit(2)
    circuit.add(gates.H(0))
    circuit.add(gates.CNOT(0, 1))
    circuit.add(gates.M(0, 1))
    return circuit


def test_the_plugin_is_registered_through_the_pytest11_entry_point() -> None:
    found = importlib.metadata.entry_points(group="pytest11")
    assert PLUGIN in {entry.value for entry in found}


def test_the_plugin_is_loaded_in_this_session(pytestconfig: pytest.Config) -> None:
    assert any(
        getattr(plugin, "__name__", None) == PLUGIN
        for plugin in pytestconfig.pluginmanager.get_plugins()
    )


def test_mock_fixtures_share_one_server(
    qibo_mock_server: MockServer, qibo_mock_transport: MockTransport, qibo_mock_client: Client
) -> None:
    job = qibo_mock_client.run_circuit(bell(), device="numpy", nshots=20)
    assert sum(job.result(verbose=False).frequencies().values()) == 20
    assert qibo_mock_transport.handler is qibo_mock_server
    assert qibo_mock_server.submissions and qibo_mock_transport.operations("download")


def test_qibo_local_client_runs_a_circuit_offline(qibo_local_client: Client) -> None:
    job = qibo_local_client.run_circuit(bell(), device="numpy", nshots=30)
    assert set(job.result(verbose=False).frequencies()) <= {"00", "11"}
    assert qibo_local_client.base_url.startswith("local://")


@pytest.mark.slow
def test_qibo_serve_is_a_loopback_server(qibo_serve) -> None:  # type: ignore[no-untyped-def]
    assert qibo_serve.url.startswith("http://127.0.0.1:")
    client = Client(qibo_serve.token, qibo_serve.url, renderer=RecordingRenderer())
    try:
        job = client.run_circuit(bell(), device="numpy", nshots=10)
        assert sum(job.result(verbose=False).frequencies().values()) == 10
    finally:
        client.close()


def test_the_worked_example_of_the_testing_guide_passes() -> None:
    example = EXAMPLES / "testing_offline" / "test_bell_parity.py"
    done = subprocess.run(
        [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-q", str(example)],
        capture_output=True,
        text=True,
        timeout=300,
        cwd=REPO,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert "6 passed" in done.stdout, done.stdout


def test_the_guide_shows_the_example_it_runs() -> None:
    guide = (REPO / "docs" / "guide" / "testing.md").read_text(encoding="utf-8")
    for name in ("test_bell_parity.py", "bell_parity.py"):
        assert f"examples/testing_offline/{name}" in guide
        code = (EXAMPLES / "testing_offline" / name).read_text(encoding="utf-8")
        assert code in guide, f"docs/guide/testing.md no longer shows {name} as it is"
    for fixture in ("qibo_mock_client", "qibo_local_client", "qibo_serve"):
        assert f"`{fixture}`" in guide
    for contract in ("TransportContract", "ResultStoreContract", "RendererContract"):
        assert contract in guide
