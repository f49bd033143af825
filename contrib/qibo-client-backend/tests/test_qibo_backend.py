"""The qibo backend: found by qibo's own mechanism, runs circuits through qibo-client."""

from __future__ import annotations

import importlib.metadata
from collections.abc import Iterator

import pytest
from qibo_client import Client
from qibo_client.testing import MemoryResultStore, MockServer, MockTransport, RecordingRenderer

import qibo_client_backend
from qibo_client_backend import BACKEND_NAME, MetaBackend, QiboClientBackend

qibo = pytest.importorskip("qibo")


def bell(measure: bool = True) -> qibo.Circuit:
    circuit = qibo.Circuit(2)
    circuit.add(qibo.gates.H(0))
    circuit.add(qibo.gates.CNOT(0, 1))
    if measure:
        circuit.add(qibo.gates.M(0, 1))
    return circuit


@pytest.fixture
def server() -> MockServer:
    """An in-memory Qibo server that runs circuits on numpy; jobs on ``broken`` fail."""
    return MockServer(fail_devices=["broken"])


@pytest.fixture
def renderer() -> RecordingRenderer:
    return RecordingRenderer()


@pytest.fixture
def transport(server: MockServer) -> MockTransport:
    return server.transport()


@pytest.fixture
def fake_client(transport: MockTransport, renderer: RecordingRenderer) -> Iterator[Client]:
    client = Client(
        "secret-token",
        transport.base_url,
        transport=transport,
        result_store=MemoryResultStore(),
        renderer=renderer,
    )
    yield client
    client.close()


@pytest.fixture
def restore_qibo_backend() -> Iterator[None]:
    yield
    qibo.set_backend("numpy")


@pytest.mark.usefixtures("restore_qibo_backend")
def test_set_backend_by_name_then_circuit_runs_on_the_server(
    fake_client: Client, server: MockServer, renderer: RecordingRenderer
) -> None:
    qibo.set_backend(BACKEND_NAME, client=fake_client, verbose=False)
    backend = qibo.get_backend()
    assert isinstance(backend, QiboClientBackend)
    assert str(backend) == "qibo-client-backend (numpy)"

    result = bell()(nshots=100)

    frequencies = result.frequencies()
    assert sum(frequencies.values()) == 100
    assert set(frequencies) <= {"00", "11"}
    [body] = server.submissions
    assert (body["device"], body["nshots"], body["project"]) == ("numpy", 100, "personal")
    assert fake_client.pid == "job-1"
    assert renderer.snapshots == []  # verbose=False: no progress shown


@pytest.mark.usefixtures("restore_qibo_backend")
def test_a_circuit_without_measurements_returns_its_state(fake_client: Client) -> None:
    qibo.set_backend(BACKEND_NAME, client=fake_client, verbose=False)
    state = bell(measure=False)().state()
    assert abs(state[0]) ** 2 == pytest.approx(0.5)
    assert abs(state[3]) ** 2 == pytest.approx(0.5)


def test_device_url_and_token_come_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("QIBO_CLIENT_URL", "https://qibo.example")
    monkeypatch.setenv("QIBO_CLIENT_TOKEN", "env-token")
    monkeypatch.setenv("QIBO_CLIENT_DEVICE", "sim-gpu")
    backend = MetaBackend.load()
    assert (backend.url, backend.platform, backend._token) == (
        "https://qibo.example",
        "sim-gpu",
        "env-token",
    )
    assert MetaBackend.load(platform="other").platform == "other"
    assert MetaBackend.load(device="third", project="lab").project == "lab"
    assert MetaBackend.load(url="https://given.example", token="t").url == "https://given.example"


def test_a_saved_profile_is_used_like_the_command_line_does(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from qibo_client.credentials import save_profile

    save_profile("lab", "https://lab.example", "profile-token")
    monkeypatch.setenv("QIBO_CLIENT_PROFILE", "lab")
    backend = QiboClientBackend()
    assert (backend.url, backend._token) == ("https://lab.example", "profile-token")
    assert "profile-token" not in repr(backend)


def test_local_url_needs_no_token_but_a_remote_one_does() -> None:
    backend = QiboClientBackend()
    assert (backend.url, backend._token) == ("local://", "")  # the local server's default user
    with pytest.raises(ValueError, match=r"QIBO_CLIENT_TOKEN.*qibo-client login"):
        QiboClientBackend(url="https://qibo.example")


def test_platform_and_device_must_agree() -> None:
    with pytest.raises(ValueError, match="give only one"):
        MetaBackend.load(platform="numpy", device="qibojit")


def test_initial_state_is_refused_with_a_way_out(fake_client: Client, server: MockServer) -> None:
    backend = QiboClientBackend(client=fake_client, verbose=False)
    with pytest.raises(ValueError, match="with gates at the start of the circuit"):
        backend.execute_circuit(bell(), initial_state=[1, 0, 0, 0], nshots=10)
    assert server.submissions == []


def test_a_failed_job_raises_naming_the_job_and_its_logs(fake_client: Client) -> None:
    backend = QiboClientBackend(client=fake_client, device="broken", verbose=False)
    with pytest.raises(RuntimeError, match=r"job job-1 .*device 'broken'.*logs") as caught:
        backend.execute_circuit(bell(), nshots=10)
    assert "secret-token" not in str(caught.value)


def test_execute_circuits_submits_all_before_waiting(
    fake_client: Client, transport: MockTransport
) -> None:
    backend = QiboClientBackend(client=fake_client, verbose=False)
    results = backend.execute_circuits([bell(), bell()], nshots=20)
    assert [sum(r.frequencies().values()) for r in results] == [20, 20]
    calls = [r.operation for r in transport.requests if r.operation != "server_version"]
    assert calls[:3] == ["submit_job", "submit_job", "list_jobs"]
    assert calls.count("download") == 2


def test_importing_the_package_does_not_import_qibo() -> None:
    import os
    import subprocess
    import sys

    env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}
    code = (
        "import sys, qibo_client_backend, qibo_client_backend.plugin; print('qibo' in sys.modules)"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, env=env
    ).stdout
    assert out.strip() == "False"
    assert qibo_client_backend.__getattr__("QiboClientBackend") is QiboClientBackend


def test_entry_point_is_declared_when_installed() -> None:
    try:
        dist = importlib.metadata.distribution("qibo-client-backend")
    except importlib.metadata.PackageNotFoundError:
        pytest.skip(
            "qibo-client-backend is not installed (pip install -e contrib/qibo-client-backend)"
        )
    points = {ep.name: ep.value for ep in dist.entry_points if ep.group == "qibo_client"}
    assert points == {"qibo_backend": "qibo_client_backend.plugin"}


def test_list_available_asks_the_server_for_its_devices() -> None:
    import importlib.util

    if importlib.util.find_spec("qibo_client.adapters.local_transport") is None:
        pytest.skip("qibo-client has no local:// transport to ask")
    available = qibo.list_available_backends(BACKEND_NAME)[BACKEND_NAME]
    assert available.get("numpy") is True


def test_list_available_is_empty_when_the_server_cannot_be_asked(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("QIBO_CLIENT_URL", "https://qibo.example")  # and no token
    assert MetaBackend().list_available() == {}
