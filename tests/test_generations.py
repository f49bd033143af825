"""Our client against both generations of the Qibo server, told apart by what they send.

(a) The 0.2 generation (what the published 0.2.4 speaks): old version keys, the
result as a ``.tar.gz`` download. (b) The 0.3 generation (the published
client's 0.3.0 work): ``minimum_qibo_version`` and ``minimum_client_version``,
``frequencies`` in the job object, no ``pid`` repeated, no download.
"""

from __future__ import annotations

import importlib.metadata

import pytest
import responses
from qibo.result import MeasurementOutcomes
from tests.support.http import (
    job_object,
    qibo_result_archive,
    version_answer,
)

from qibo_client import Client
from qibo_client.exceptions import MalformedResponseError
from qibo_client.testing.fakes import MemoryResultStore, RecordingRenderer

BASE = "https://cloud.example"
API = f"{BASE}/api"
TOKEN = "generations-token"
QIBO = importlib.metadata.version("qibo")
COUNTS = {"00": 48, "11": 52}


def new_version_answer(**extra: str) -> dict[str, str]:
    return {"server_qibo_version": QIBO, "minimum_qibo_version": "0.2.0", **extra}


def new_job(status: str, **extra: object) -> dict[str, object]:
    """A 0.3 job object: no ``pid`` repeated, counts inline once measured."""
    job = job_object("ignored", status, **extra)
    del job["pid"]
    del job["result_path"]
    return job


@pytest.fixture
def mocked():
    with responses.RequestsMock(assert_all_requests_are_fired=False) as rsps:
        yield rsps


@pytest.fixture
def renderer() -> RecordingRenderer:
    return RecordingRenderer()


def client_for(renderer: RecordingRenderer, store: MemoryResultStore | None = None) -> Client:
    return Client(TOKEN, BASE, renderer=renderer, result_store=store or MemoryResultStore())


def submit(mocked: responses.RequestsMock, pid: str = "p1") -> None:
    mocked.post(f"{API}/jobs/", json={"pid": pid})


def bell():
    from qibo import Circuit, gates

    circuit = Circuit(2)
    circuit.add(gates.H(0))
    circuit.add(gates.CNOT(0, 1))
    circuit.add(gates.M(0, 1))
    return circuit


# -- (a) the 0.2 generation ---------------------------------------------------------


def test_old_generation_result_comes_from_the_download(mocked, renderer, tmp_path) -> None:
    archive, results_file = qibo_result_archive(tmp_path)
    mocked.get(f"{API}/qibo_version/", json=version_answer(server=QIBO, minimum="0.2.0"))
    submit(mocked)
    mocked.get(f"{API}/jobs/p1/", json=job_object("p1", "success"))
    mocked.get(f"{API}/jobs/p1/download/", body=archive, content_type="application/gzip")
    result = client_for(renderer).run_circuit(bell(), device="sim", nshots=50).result()
    from qibo.result import load_result

    assert dict(result.frequencies()) == dict(load_result(results_file).frequencies())
    assert any(call.request.url.endswith("/download/") for call in mocked.calls)


# -- (b) the 0.3 generation ---------------------------------------------------------


def test_new_version_keys_are_read(mocked, renderer) -> None:
    mocked.get(f"{API}/qibo_version/", json=new_version_answer(minimum_client_version="0.0.1"))
    client = client_for(renderer)
    client.check_client_server_qibo_versions()  # no MalformedResponseError


def test_neither_version_key_is_a_clear_error(mocked, renderer) -> None:
    mocked.get(f"{API}/qibo_version/", json={"server_qibo_version": QIBO})
    with pytest.raises(MalformedResponseError, match="minimum_qibo_version"):
        client_for(renderer).check_client_server_qibo_versions()


def test_an_old_client_package_is_told_to_upgrade(mocked, renderer) -> None:
    mocked.get(f"{API}/qibo_version/", json=new_version_answer(minimum_client_version="999.0"))
    with pytest.raises(RuntimeError, match=r"qibo-client>=999\.0.*upgrade qibo-client"):
        client_for(renderer).run_circuit(bell(), device="sim", nshots=100)
    assert not any(call.request.method == "POST" for call in mocked.calls)


def test_new_generation_result_is_rebuilt_from_inline_frequencies(mocked, renderer) -> None:
    mocked.get(f"{API}/qibo_version/", json=new_version_answer())
    submit(mocked)
    mocked.get(f"{API}/jobs/p1/", json=new_job("success", frequencies=COUNTS))
    mocked.get(f"{API}/jobs/p1/download/", json={"detail": "Not found"}, status=404)
    job = client_for(renderer).run_circuit(bell(), device="sim", nshots=100)
    result = job.result(verbose=False)
    expected = MeasurementOutcomes.from_frequencies(COUNTS, nqubits=2)
    assert isinstance(result, MeasurementOutcomes)
    assert dict(result.frequencies()) == dict(expected.frequencies())
    # The version answer told us there is no download: none was asked for.
    assert not any("/download/" in call.request.url for call in mocked.calls)


def test_a_404_download_falls_back_to_frequencies(mocked, renderer) -> None:
    """A job picked up by pid (no version check yet) learns from the 404."""
    mocked.get(f"{API}/jobs/p1/", json=new_job("success", frequencies=COUNTS))
    mocked.get(f"{API}/jobs/p1/download/", json={"detail": "Not found"}, status=404)
    client = client_for(renderer)
    result = client.get_job("p1").result(verbose=False)
    assert dict(result.frequencies()) == COUNTS
    # A second job of the same client no longer tries the download.
    mocked.get(f"{API}/jobs/p2/", json=new_job("success", frequencies={"1": 3}))
    downloads_before = sum("/download/" in c.request.url for c in mocked.calls)
    assert dict(client.get_job("p2").result(verbose=False).frequencies()) == {"1": 3}
    assert sum("/download/" in c.request.url for c in mocked.calls) == downloads_before


def test_new_generation_error_returns_none_and_shows_the_logs(mocked, renderer) -> None:
    mocked.get(f"{API}/qibo_version/", json=new_version_answer())
    submit(mocked)
    mocked.get(
        f"{API}/jobs/p1/",
        json=new_job("error", stdout="compiling", stderr="Traceback: qubit 7 out of range"),
    )
    job = client_for(renderer).run_circuit(bell(), device="sim", nshots=100)
    assert job.result(verbose=False) is None
    shown = "\n".join(text for level, text in renderer.messages if level == "error")
    assert "qubit 7 out of range" in shown
    assert "compiling" in shown


def test_counts_never_download_when_inline(mocked, renderer) -> None:
    mocked.get(f"{API}/jobs/p1/", json=job_object("p1", "success", frequencies=COUNTS))
    counts = client_for(renderer).get_job("p1").frequencies(verbose=False)
    assert counts == COUNTS
    assert not any("/download/" in call.request.url for call in mocked.calls)


def test_a_job_answer_without_pid_is_read_for_the_job_asked(mocked, renderer) -> None:
    mocked.get(f"{API}/jobs/abc/", json=new_job("running"))
    job = client_for(renderer).get_job("abc")
    assert job.pid == "abc"
    assert job.status_text == "running"


def test_job_list_skips_entries_it_cannot_name(mocked, renderer) -> None:
    good = job_object("good", "success")
    mocked.get(f"{API}/jobs/", json=[good, new_job("success"), {"pid": "../x", "status": "x"}])
    assert [job.pid for job in client_for(renderer).jobs()] == ["good"]


def test_the_transpiled_circuit_is_read_when_the_server_sends_it(mocked, renderer) -> None:
    mocked.get(
        f"{API}/jobs/t1/", json=job_object("t1", "running", transpiled_circuit='{"queue": []}')
    )
    mocked.get(f"{API}/jobs/t2/", json=job_object("t2", "running", transpiled_circuit=None))
    client = client_for(renderer)
    assert client.get_job("t1").transpiled_circuit == '{"queue": []}'
    assert client.get_job("t2").transpiled_circuit is None
