"""The published API, driven through ``Client(token, "https://...")`` against a server
mocked with ``responses`` that answers protocol-shaped JSON, quirks included."""

from __future__ import annotations

import importlib.metadata
import json

import pytest
import responses
from packaging.version import Version
from tests.support.http import (
    RecordingRenderer,
    disk_quota_answer,
    job_object,
    logs_archive,
    project_quota,
    qibo_result_archive,
    version_answer,
)

import qibo_client
from qibo_client.adapters.http_transport import HttpTransport
from qibo_client.exceptions import JobPostServerError, QiboApiError, TransientError
from qibo_client.qibo_job import QiboJob, QiboJobStatus

BASE = "https://cloud.example"
API = f"{BASE}/api"
TOKEN = "published-api-token"
LOCAL_QIBO = Version(importlib.metadata.version("qibo"))


@pytest.fixture
def mocked():
    with responses.RequestsMock(assert_all_requests_are_fired=False) as rsps:
        yield rsps


@pytest.fixture
def renderer():
    return RecordingRenderer()


@pytest.fixture
def client(renderer):
    client = qibo_client.Client(TOKEN, BASE, renderer=renderer)
    yield client
    client.close()


@pytest.fixture(scope="module")
def circuit():
    import qibo
    from qibo import gates

    circuit = qibo.Circuit(1)
    circuit.add(gates.H(0))
    circuit.add(gates.M(0))
    return circuit


def test_the_url_picks_the_http_transport(client):
    assert isinstance(client.transport, HttpTransport)
    assert client.transport.base_url == BASE


# -- versions -----------------------------------------------------------------------


def test_a_local_qibo_older_than_the_minimum_is_refused(client, mocked):
    mocked.get(f"{API}/qibo_version/", json=version_answer("99.0.0", "98.0.0"))
    with pytest.raises(RuntimeError, match=rf"requires qibo>=98\.0\.0.*{LOCAL_QIBO}"):
        client.check_client_server_qibo_versions()


def test_a_local_qibo_older_than_the_server_is_warned_about(client, mocked, renderer):
    mocked.get(f"{API}/qibo_version/", json=version_answer("99.0.0", "0.2.8"))
    client.check_client_server_qibo_versions()
    assert renderer.messages == [
        (
            f"Local Qibo version ({LOCAL_QIBO}) is older than server (99.0.0). Please upgrade.",
            "warning",
        )
    ]


def test_a_current_local_qibo_passes_silently(client, mocked, renderer):
    mocked.get(f"{API}/qibo_version/", json=version_answer(str(LOCAL_QIBO), "0.2.8"))
    client.check_client_server_qibo_versions()
    assert renderer.messages == []


# -- run_circuit --------------------------------------------------------------------


def test_run_circuit_posts_the_protocol_body_and_returns_the_job(client, mocked, circuit):
    versions = mocked.get(f"{API}/qibo_version/", json=version_answer(str(LOCAL_QIBO)))
    post = mocked.post(f"{API}/jobs/", json={"pid": "job-1"})

    job = client.run_circuit(circuit, device="numpy", project="lab", nshots=100)
    assert isinstance(job, QiboJob)
    assert (job.pid, job.device, job.project, job.nshots) == ("job-1", "numpy", "lab", 100)
    assert client.pid == "job-1"

    request = post.calls[0].request
    assert json.loads(request.body) == {
        "circuit": json.loads(json.dumps(circuit.raw)),
        "nshots": 100,
        "device": "numpy",
        "project": "lab",
        "verbatim": False,
    }
    first_key = request.headers["Idempotency-Key"]
    assert first_key and request.headers["x-api-token"] == TOKEN

    mocked.replace(responses.POST, f"{API}/jobs/", json={"pid": "job-2"})
    assert client.run_circuit(circuit, device="numpy", verbatim=True).pid == "job-2"
    assert client.pid == "job-2"
    second = mocked.calls[-1].request
    assert json.loads(second.body)["verbatim"] is True
    assert json.loads(second.body)["project"] == "personal"
    assert second.headers["Idempotency-Key"] != first_key
    assert versions.call_count == 1


def test_run_circuit_refused_by_a_2xx_without_pid(client, mocked, circuit):
    mocked.get(f"{API}/qibo_version/", json=version_answer(str(LOCAL_QIBO)))
    mocked.post(f"{API}/jobs/", status=201, json={"detail": "device numpy is offline"})
    with pytest.raises(JobPostServerError, match="device numpy is offline"):
        client.run_circuit(circuit, device="numpy")
    assert client.pid is None


# -- quotas and job tables ----------------------------------------------------------


def test_print_quota_info_shows_disk_and_project_quotas(client, mocked, renderer):
    mocked.get(f"{API}/disk_quota/", json=disk_quota_answer("ada@lab.org"))
    mocked.get(f"{API}/projectquotas/", json=[project_quota("lab", "qpu1")])
    client.print_quota_info()
    [(disk, projects)] = renderer.quotas
    assert (disk.email, disk.kbs_left, disk.kbs_max) == ("ada@lab.org", 9000.5, 10000)
    assert [(p.project, p.partition.name, p.jobs_left) for p in projects] == [("lab", "qpu1", 98)]


def test_print_job_info_shows_one_accounts_jobs(client, mocked, renderer):
    mocked.get(f"{API}/jobs/", json=[job_object("a", "success"), job_object("b", "ERROR")])
    client.print_job_info()
    [(user, jobs)] = renderer.job_tables
    assert user == "me@lab.org"
    assert [(j.pid, j.job_status) for j in jobs] == [
        ("a", QiboJobStatus.SUCCESS),
        ("b", QiboJobStatus.ERROR),
    ]


def test_print_job_info_refuses_jobs_of_two_accounts(client, mocked):
    mocked.get(
        f"{API}/jobs/",
        json=[job_object("a", "success"), job_object("b", "running", email="eve@x.org")],
    )
    with pytest.raises(ValueError, match="Multiple accounts"):
        client.print_job_info()


def test_print_job_info_without_jobs_says_so(client, mocked, renderer):
    mocked.get(f"{API}/jobs/", json=[])
    client.print_job_info()
    assert renderer.messages == [("No jobs found in database for user", "info")]
    assert renderer.job_tables == []


# -- get, delete --------------------------------------------------------------------


def test_get_job_returns_a_refreshed_job(client, mocked):
    mocked.get(f"{API}/jobs/job-1/", json=job_object("job-1", "pending"))
    job = client.get_job("job-1")
    assert isinstance(job, QiboJob)
    assert (job.pid, job.device, job.nshots) == ("job-1", "numpy", 100)
    assert job.info.job_status is QiboJobStatus.PENDING


def test_a_404_with_detail_is_an_api_error_with_that_message(client, mocked):
    mocked.get(f"{API}/jobs/nope/", status=404, json={"detail": "Job not found"})
    with pytest.raises(QiboApiError) as caught:
        client.get_job("nope")
    assert (caught.value.status, caught.value.message) == (404, "Job not found")
    assert caught.value.summary() == f"[404 Error] Job not found (GET {API}/jobs/nope/)"


@pytest.mark.parametrize(
    ("body", "content_type", "message"),
    [
        ("Bad Gateway", "text/plain", "Bad Gateway"),
        (
            "<html><head><title>502 Bad Gateway</title></head></html>",
            "text/html",
            "the server answered an HTML page (status 502), not JSON: 502 Bad Gateway",
        ),
        ("", "text/plain", "HTTP 502"),
    ],
)
def test_a_non_json_502_is_an_api_error(mocked, renderer, body, content_type, message):
    # The transport's own settings (no pause between retries), through the same keyword.
    transport = HttpTransport(BASE, TOKEN, backoff_factor=0)
    client = qibo_client.Client(TOKEN, BASE, transport=transport, renderer=renderer)
    mocked.get(f"{API}/jobs/", status=502, body=body, content_type=content_type)
    with pytest.raises(QiboApiError) as caught:
        client.print_job_info()
    client.close()
    assert (caught.value.status, caught.value.message) == (502, message)
    assert isinstance(caught.value, TransientError)  # asking again later may work
    assert len(mocked.calls) == transport.retries + 1  # one retry layer, not two


def test_delete_job_and_delete_all_jobs(client, mocked, renderer):
    single = mocked.delete(f"{API}/jobs/job-1/", json={"detail": "deleted"})
    mocked.delete(f"{API}/jobs/bulk_delete/", json={"deleted": ["a", "b", "c"]})
    assert client.delete_job("job-1") is None
    assert single.call_count == 1
    assert client.delete_all_jobs() == ["a", "b", "c"]
    assert [level for _, level in renderer.messages] == ["info", "info"]


# -- QiboJob status -------------------------------------------------------------------


def test_job_status_follows_the_server_including_quirks(client, mocked):
    url = f"{API}/jobs/job-1/"
    for status in ("queueing", "running", "mystery-state", "ERROR", "success"):
        mocked.get(url, json=job_object("job-1", status))
    job = QiboJob("job-1", BASE, client.headers, transport=client.transport)
    assert job.refresh() is QiboJobStatus.QUEUEING
    assert job.running() is True
    assert job.status() is None
    assert job.status() is QiboJobStatus.ERROR
    assert job.success() is True


@pytest.mark.parametrize(
    ("fields", "position", "eta"),
    [
        ({"queue_position": 4, "etd_seconds": 12.5}, 4, 12.5),
        ({"job_queue_position": 7, "seconds_to_job_start": 30}, 7, 30),
        ({}, None, None),
    ],
)
def test_both_spellings_of_the_queue_fields(client, mocked, fields, position, eta):
    mocked.get(f"{API}/jobs/job-1/", json=job_object("job-1", "queueing", **fields))
    job = client.get_job("job-1")
    assert (job.queue_position, job.seconds_to_job_start) == (position, eta)


def test_job_delete_returns_the_servers_response(client, mocked):
    mocked.delete(f"{API}/jobs/job-1/", json={"detail": "Job job-1 deleted"})
    response = QiboJob("job-1", BASE, client.headers, transport=client.transport).delete()
    assert (response.status_code, response.ok) == (200, True)
    assert response.json() == {"detail": "Job job-1 deleted"}


# -- result, kept by the real filesystem result store ---------------------------------


@pytest.fixture
def store(tmp_path):
    from qibo_client.adapters.filesystem_store import FilesystemResultStore

    return FilesystemResultStore(base_folder=tmp_path / "results")


@pytest.fixture
def store_client(renderer, store):
    client = qibo_client.Client(TOKEN, BASE, renderer=renderer, result_store=store)
    yield client
    client.close()


@pytest.mark.filterwarnings("ignore:Both `probabilities` and `samples` found:UserWarning")
@pytest.mark.parametrize("nshots", [50, None], ids=["frequencies", "state"])
def test_result_of_a_successful_job_is_what_qibo_loads(
    store_client, mocked, renderer, tmp_path, nshots
):
    import numpy as np
    import qibo.result

    archive, results_file = qibo_result_archive(tmp_path / "made-by-server", nshots)
    job_url = f"{API}/jobs/job-1/"
    mocked.get(job_url, json=job_object("job-1", "running", queue_position=0))
    mocked.get(job_url, json=job_object("job-1", "success"))
    mocked.get(f"{job_url}download/", body=archive, content_type="application/gzip")

    job = store_client.get_job("job-1")
    result = job.result(wait=0.01)
    expected = qibo.result.load_result(results_file)

    assert type(result) is type(expected)
    if nshots is None:
        np.testing.assert_allclose(result.state(), expected.state())
    else:
        assert result.frequencies() == expected.frequencies()
        assert sum(result.frequencies().values()) == nshots
    assert job.results_path is not None and job.results_path.name == "results.npy"
    assert renderer.views and renderer.views[0].finished[-1].status is QiboJobStatus.SUCCESS


def test_result_of_a_failed_job_is_none(store_client, mocked, renderer):
    mocked.get(f"{API}/jobs/job-9/", json=job_object("job-9", "ERROR"))
    mocked.get(f"{API}/jobs/job-9/download/", body=logs_archive(), content_type="application/gzip")
    job = store_client.get_job("job-9")
    assert job.result(wait=0.01, verbose=False) is None
    assert job.results_folder is not None
    assert (job.results_folder / "stderr.log").read_bytes().startswith(b"Traceback")
    assert any(level == "error" and "job-9" in text for text, level in renderer.messages)
