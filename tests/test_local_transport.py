"""``Client(token, "local://")`` end to end on the embedded server, through the real adapters."""

from __future__ import annotations

import importlib.util
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
from tests.support.fakes import RecordingRenderer

from qibo_client import Client
from qibo_client.adapters.local_transport import LocalServerTransport
from qibo_client.domain.records import JobSubmission
from qibo_client.exceptions import ConfigurationError, JobPostServerError, QiboApiError
from qibo_client.qibo_job import QiboJobStatus

needs_store = pytest.mark.skipif(
    importlib.util.find_spec("qibo_client.adapters.filesystem_store") is None,
    reason="the filesystem result store (another helper's work) is not in the tree yet",
)


def bell(measure: bool = True):
    from qibo import Circuit, gates

    circuit = Circuit(2)
    circuit.add(gates.H(0))
    circuit.add(gates.CNOT(0, 1))
    if measure:
        circuit.add(gates.M(0, 1))
    return circuit


def ghz(n: int = 3):
    from qibo import Circuit, gates

    circuit = Circuit(n)
    circuit.add(gates.H(0))
    for q in range(n - 1):
        circuit.add(gates.CNOT(q, q + 1))
    circuit.add(gates.M(*range(n)))
    return circuit


@pytest.fixture(scope="module")
def client():
    """One local:// client for the module: its server's worker starts once."""
    renderer = RecordingRenderer()
    with Client("any token", "local://", renderer=renderer) as shared:
        yield shared


@pytest.fixture
def renderer(client):
    client.renderer.messages.clear()
    return client.renderer


def test_local_transports_share_one_temporary_server(client):
    transport = LocalServerTransport("local://", "")
    folder = transport._server.data_dir
    assert transport._server is client.transport._server and transport.supports_long_poll
    assert folder.name.startswith("qibo-local-")
    transport.close()
    transport.close()  # twice is fine
    assert folder.is_dir()  # the client still uses it
    with pytest.raises(QiboApiError, match="closed"):
        transport.list_jobs()


@pytest.mark.slow
def test_a_script_without_main_guard_runs_and_its_temporary_folder_goes_at_exit(tmp_path):
    script = tmp_path / "script.py"
    script.write_text(
        "from qibo import Circuit, gates\n"
        "from qibo_client import Client\n"
        "c = Circuit(1); c.add(gates.X(0)); c.add(gates.M(0))\n"
        "client = Client('', 'local://')\n"
        "print(client.transport._server.data_dir)\n"
        "job = client.run_circuit(c, device='numpy', nshots=20)\n"
        "job.wait(verbose=False, timeout=60)\n"
        "print(job.info.frequencies)\n",
        encoding="utf-8",
    )
    done = subprocess.run(
        [sys.executable, str(script)], capture_output=True, text=True, timeout=120, check=False
    )
    assert done.returncode == 0, done.stderr
    folder, frequencies = done.stdout.splitlines()[-2:]
    assert frequencies == "{'1': 20}"
    assert not Path(folder).exists()


def test_local_urls_name_a_temporary_or_a_kept_folder():
    from qibo_client.adapters.local_transport import _data_dir

    assert _data_dir("local://") == (None, 1)
    assert _data_dir("local:///srv/qibo?workers=2") == (Path("/srv/qibo").resolve(), 2)
    assert _data_dir("local://~/qibo-data") == (Path("~/qibo-data").expanduser().resolve(), 1)


@pytest.mark.parametrize("url", ["local://host/x", "local:///tmp/x?workers=0"])
def test_a_local_url_that_names_no_folder_is_refused(url):
    with pytest.raises(ConfigurationError, match="local"):
        LocalServerTransport(url, "t")


@needs_store
def test_bell_circuit_gives_only_correlated_outcomes(client):
    result = client.run_circuit(bell(), device="numpy", nshots=1000).result(
        verbose=False, timeout=60
    )
    frequencies = dict(result.frequencies())
    assert set(frequencies) <= {"00", "11"} and sum(frequencies.values()) == 1000


@needs_store
def test_ghz_on_three_qubits(client):
    job = client.run_circuit(ghz(3), device="numpy", nshots=200)
    frequencies = dict(job.result(verbose=False, timeout=60).frequencies())
    assert set(frequencies) <= {"000", "111"} and sum(frequencies.values()) == 200
    assert job.results_path is not None and Path(job.results_path).is_file()


@needs_store
def test_a_circuit_without_measurements_gives_qibos_state(client):
    circuit = bell(measure=False)
    result = client.run_circuit(circuit, device="numpy").result(verbose=False, timeout=60)
    np.testing.assert_allclose(result.state(), circuit().state())


def test_job_info_carries_frequencies_without_downloading(client):
    job = client.run_circuit(bell(), device="numpy", nshots=300)
    assert job.wait(verbose=False, timeout=60) is QiboJobStatus.SUCCESS
    assert sum(job.info.frequencies.values()) == 300
    assert set(job.info.frequencies) <= {"00", "11"}


def test_get_job_and_the_job_table_and_quota_are_shown(client, renderer):
    job = client.run_circuit(bell(), device="numpy", nshots=10)
    again = client.get_job(job.pid)
    assert again.pid == job.pid and again.device == "numpy" and again.nshots == 10
    client.print_job_info()
    user, jobs = renderer.job_tables[-1]
    assert user.endswith("@localhost") and job.pid in [j.pid for j in jobs]
    client.print_quota_info()
    disk, projects = renderer.quotas[-1]
    assert disk.kbs_max > 0 and "numpy" in {p.partition.name for p in projects}
    assert all(p.project == "personal" for p in projects)


def test_delete_one_then_all(client, renderer):
    first = client.run_circuit(bell(), device="numpy", nshots=10)
    second = client.run_circuit(bell(), device="numpy", nshots=10)
    client.delete_job(first.pid)
    assert ("Deleted job " + first.pid) in [text for _, text in renderer.messages]
    with pytest.raises(QiboApiError) as caught:
        client.get_job(first.pid)
    assert caught.value.status == 404 and caught.value.url.startswith("local://")
    assert second.delete().ok
    client.run_circuit(bell(), device="numpy", nshots=10)
    deleted = client.delete_all_jobs()
    assert deleted and client.jobs() == []


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"device": "no-such-device"}, "unknown device 'no-such-device'"),
        ({"device": "numpy", "project": "somebody-else"}, "unknown project"),
        ({"device": "numpy", "nshots": 10**9}, "nshots must be between"),
    ],
)
def test_bad_submissions_are_refused(client, kwargs, match):
    with pytest.raises(JobPostServerError, match=match):
        client.run_circuit(bell(), **kwargs)


def test_a_malformed_submission_is_an_api_error_naming_the_field(client):
    submission = JobSubmission(circuit={"queue": []}, device="numpy", nshots=None)
    with pytest.raises(JobPostServerError, match="from_dict"):
        client.transport.submit_job(submission)
    with pytest.raises(QiboApiError, match="'device'") as caught:
        client.transport.submit_job(JobSubmission(circuit={}, device=""))
    assert caught.value.status == 422 and caught.value.method == "POST"
    assert caught.value.url == "local://api/jobs/"


def test_idempotency_key_returns_the_same_job(client):
    first = client.run_circuit(bell(), device="numpy", nshots=5, idempotency_key="same")
    second = client.run_circuit(bell(), device="numpy", nshots=5, idempotency_key="same")
    assert first.pid == second.pid


def test_long_poll_answers_when_the_job_finishes(client):
    job = client.run_circuit(bell(), device="numpy", nshots=5)
    started = time.monotonic()
    assert job.wait(wait=5.0, verbose=False, timeout=60) is QiboJobStatus.SUCCESS
    assert time.monotonic() - started < 4  # not 5 s sleeps between polls


@pytest.mark.slow
def test_a_folder_url_keeps_jobs_across_clients(tmp_path):
    url = f"local://{tmp_path / 'server'}"
    with Client("me", url, renderer=RecordingRenderer()) as first:
        pid = first.run_circuit(bell(), device="numpy", nshots=50).pid
        assert first.get_job(pid).wait(verbose=False, timeout=60) is QiboJobStatus.SUCCESS
    assert (tmp_path / "server" / "server.sqlite3").is_file()
    with Client("me", url, renderer=RecordingRenderer()) as second:
        job = second.get_job(pid)
        assert job.status() is QiboJobStatus.SUCCESS
        assert sum(job.info.frequencies.values()) == 50
        if importlib.util.find_spec("qibo_client.adapters.filesystem_store"):
            assert sum(job.result(verbose=False, timeout=60).frequencies().values()) == 50
    with Client("someone else", url, renderer=RecordingRenderer()) as stranger:
        assert stranger.jobs() == []
