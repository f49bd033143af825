"""HttpTransport against the HTTP edge mocked with ``responses``: paths, headers, answers, errors."""

from __future__ import annotations

import importlib.metadata
import json

import pytest
import requests
import responses
from responses import matchers
from tests.support.http import disk_quota_answer, job_object, project_quota, version_answer

from qibo_client.adapters.http_transport import HttpTransport
from qibo_client.domain.records import JobSubmission
from qibo_client.exceptions import (
    ConfigurationError,
    JobPostServerError,
    MalformedResponseError,
    QiboApiError,
    SubmissionOutcomeUnknownError,
    TransientError,
)

BASE = "https://cloud.example"
TOKEN = "s3cret-token-value"
API = f"{BASE}/api"


@pytest.fixture
def transport():
    # No pause between retries: responses answers at once, and retries are counted.
    t = HttpTransport(BASE, TOKEN, read_timeout=7, backoff_factor=0)
    yield t
    t.close()


@pytest.fixture
def mocked():
    with responses.RequestsMock() as rsps:
        yield rsps


def test_every_request_carries_token_and_client_version(transport, mocked):
    mocked.get(f"{API}/qibo_version/", json=version_answer())
    assert transport.server_version().server_qibo_version == "0.3.2"
    headers = mocked.calls[0].request.headers
    assert headers["x-api-token"] == TOKEN
    assert headers["x-qibo-client-version"] == importlib.metadata.version("qibo-client")
    assert mocked.calls[0].request.req_kwargs["timeout"] == (10.0, 7.0)


def test_a_trailing_slash_in_the_url_does_not_double(mocked):
    mocked.get(f"{API}/disk_quota/", json=disk_quota_answer())
    transport = HttpTransport(BASE + "/", TOKEN)
    assert transport.base_url == BASE + "/"
    assert transport.disk_quota().kbs_left == 9000.5
    assert mocked.calls[0].request.url == f"{API}/disk_quota/"


def test_submit_job_posts_the_protocol_body_and_idempotency_key(transport, mocked):
    submission = JobSubmission({"nqubits": 1, "queue": []}, "numpy", "lab", 10, True)
    mocked.post(f"{API}/jobs/", json={"pid": "job-1"})
    assert transport.submit_job(submission, idempotency_key="key-42") == "job-1"
    request = mocked.calls[0].request
    assert json.loads(request.body) == {
        "circuit": {"nqubits": 1, "queue": []},
        "nshots": 10,
        "device": "numpy",
        "project": "lab",
        "verbatim": True,
    }
    assert request.headers["Idempotency-Key"] == "key-42"


def test_submit_job_without_key_sends_no_key_header(transport, mocked):
    mocked.post(f"{API}/jobs/", json={"pid": "job-1"})
    transport.submit_job(JobSubmission({}, "numpy"))
    assert "Idempotency-Key" not in mocked.calls[0].request.headers


def test_a_2xx_without_pid_is_the_server_refusing_the_job(transport, mocked):
    mocked.post(f"{API}/jobs/", json={"detail": "quota exhausted for project lab"}, status=200)
    with pytest.raises(JobPostServerError, match="quota exhausted for project lab"):
        transport.submit_job(JobSubmission({}, "numpy"))


def test_get_list_quota_and_delete_read_protocol_answers(transport, mocked):
    mocked.get(f"{API}/jobs/job-1/", json=job_object("job-1", "running", job_queue_position=3))
    mocked.get(f"{API}/jobs/", json=[job_object("a", "success"), job_object("b", "ERROR")])
    mocked.get(f"{API}/projectquotas/", json=[project_quota("lab", "sim")])
    mocked.delete(f"{API}/jobs/job-1/", status=204)
    mocked.delete(f"{API}/jobs/bulk_delete/", json={"deleted": ["a", "b"]})

    job = transport.get_job("job-1")
    assert (job.pid, job.status, job.queue_position, job.device) == ("job-1", "running", 3, "numpy")
    assert [j.pid for j in transport.list_jobs()] == ["a", "b"]
    quotas = transport.project_quotas()
    assert (quotas[0].project, quotas[0].partition.name) == ("lab", "sim")
    deletion = transport.delete_job("job-1")
    assert deletion.pid == "job-1"
    # The published QiboJob.delete() hands back the requests.Response, as 0.2.x did.
    assert isinstance(deletion.response, requests.Response)
    assert deletion.response.status_code == 204
    assert transport.delete_all_jobs() == ["a", "b"]
    assert mocked.calls[0].request.params == {}


def test_a_pid_with_path_tricks_never_reaches_the_url(transport):
    with pytest.raises(MalformedResponseError, match="unusable job id"):
        transport.get_job("../disk_quota")


def chunks_of(stream) -> tuple[int | None, list[bytes]]:
    """A ``fetch_result`` receiver: the stream's announced length and its chunks."""
    return stream.content_length, list(stream.iter_chunks())


def test_fetch_result_streams_large_chunks(transport, mocked):
    body = bytes(range(256)) * (3 * 4096 + 7)  # a little over 3 MiB
    mocked.get(
        f"{API}/jobs/job-1/download/",
        body=body,
        content_type="application/gzip",
        headers={"Content-Length": str(len(body))},
    )
    length, chunks = transport.fetch_result("job-1", chunks_of)
    assert length == len(body)
    assert b"".join(chunks) == body
    assert len(chunks) <= 5
    assert mocked.calls[0].request.req_kwargs["stream"] is True


@pytest.mark.parametrize(
    ("content_type", "body"),
    [("application/json", '{"detail": "no results yet"}'), ("text/html", "<html>login</html>")],
)
def test_a_download_that_is_json_or_html_is_malformed(transport, mocked, content_type, body):
    mocked.get(f"{API}/jobs/job-1/download/", body=body, content_type=content_type)
    with pytest.raises(MalformedResponseError) as caught:
        transport.fetch_result("job-1", chunks_of)
    assert content_type in caught.value.message
    assert body[:10] in caught.value.message


def test_a_failed_download_is_an_api_error(transport, mocked):
    mocked.get(f"{API}/jobs/job-1/download/", json={"detail": "Job not found"}, status=404)
    with pytest.raises(QiboApiError) as caught:
        transport.fetch_result("job-1", chunks_of)
    assert (caught.value.status, caught.value.message) == (404, "Job not found")
    assert not isinstance(caught.value, TransientError)
    assert len(mocked.calls) == 1  # a 404 is final: not asked again


@pytest.mark.parametrize(
    ("kwargs", "expected"),
    [
        ({"json": {"detail": "Job not found"}}, "Job not found"),
        ({"json": {"detail": " ", "message": "try later"}}, "try later"),
        ({"json": {"error": "bad gate"}}, "bad gate"),
        ({"json": {"title": "Bad Gateway"}}, "Bad Gateway"),
        ({"json": {"errors": ["nshots: must be > 0"]}}, "['nshots: must be > 0']"),
        ({"body": "upstream went away", "content_type": "text/plain"}, "upstream went away"),
        ({"body": ""}, "HTTP 502"),
    ],
)
def test_error_message_extraction(transport, mocked, kwargs, expected):
    mocked.get(f"{API}/jobs/", status=502, **kwargs)
    with pytest.raises(TransientError) as caught:
        transport.list_jobs()
    assert len(mocked.calls) == transport.retries + 1  # one retry layer: the last answer told
    error = caught.value
    assert (error.status, error.method, error.url, error.message) == (
        502,
        "GET",
        f"{API}/jobs/",
        expected,
    )
    assert error.payload == kwargs.get("json")


def test_an_html_error_page_is_named_as_such(transport, mocked):
    page = "<!DOCTYPE html><html><head><title>502 Bad Gateway</title></head><body>nginx</body>"
    mocked.get(f"{API}/jobs/", status=502, body=page, content_type="text/html")
    with pytest.raises(QiboApiError) as caught:
        transport.list_jobs()
    assert caught.value.message == (
        "the server answered an HTML page (status 502), not JSON: 502 Bad Gateway"
    )


def test_the_token_never_reaches_an_error(transport, mocked):
    mocked.get(
        f"{API}/jobs/",
        status=401,
        json={"detail": f"token {TOKEN} is unknown", "echo": {"x-api-token": TOKEN}},
    )
    with pytest.raises(QiboApiError) as caught:
        transport.list_jobs()
    assert caught.value.message == "token *** is unknown"
    assert TOKEN not in repr(caught.value.payload)
    assert TOKEN not in caught.value.summary()


def test_a_2xx_that_is_not_json_is_malformed(transport, mocked):
    mocked.get(
        f"{API}/jobs/", status=200, body="<html>maintenance</html>", content_type="text/html"
    )
    with pytest.raises(MalformedResponseError) as caught:
        transport.list_jobs()
    message = caught.value.message
    assert "200" in message and "text/html" in message and "maintenance" in message


def test_a_json_list_where_an_object_belongs_is_malformed(transport, mocked):
    mocked.get(f"{API}/qibo_version/", json=[version_answer()])
    with pytest.raises(MalformedResponseError, match="JSON object"):
        transport.server_version()


def test_network_failure_is_status_zero_naming_the_url(transport, mocked):
    mocked.get(f"{API}/jobs/", body=requests.ConnectionError("Connection reset by peer"))
    with pytest.raises(TransientError) as caught:
        transport.list_jobs()
    assert caught.value.status == 0
    assert f"{API}/jobs/" in caught.value.message and "reset by peer" in caught.value.message
    assert f"tried {transport.retries + 1} times" in caught.value.message


def test_submission_that_never_left_says_not_submitted(transport, mocked):
    mocked.post(f"{API}/jobs/", body=requests.ConnectTimeout("connect timed out"))
    with pytest.raises(QiboApiError) as caught:
        transport.submit_job(JobSubmission({}, "numpy"), idempotency_key="k1")
    assert not isinstance(caught.value, SubmissionOutcomeUnknownError)
    assert caught.value.status == 0 and "NOT submitted" in caught.value.message


def test_submission_whose_answer_was_lost_is_outcome_unknown(transport, mocked):
    mocked.post(f"{API}/jobs/", body=requests.ReadTimeout("read timed out"))
    with pytest.raises(SubmissionOutcomeUnknownError) as caught:
        transport.submit_job(JobSubmission({}, "numpy"), idempotency_key="k1")
    assert caught.value.idempotency_key == "k1"
    assert "may or may not be queued" in caught.value.message
    assert "idempotency_key='k1'" in caught.value.message


# -- long-poll extension -------------------------------------------------------------


def test_long_poll_params_and_header_detection(transport, mocked):
    mocked.get(
        f"{API}/jobs/job-1/",
        json=job_object("job-1", "running"),
        match=[matchers.query_param_matcher({"wait": "2", "status": "queueing"})],
        headers={"X-Qibo-Extensions": "long-poll, idempotency"},
    )
    assert transport.supports_long_poll is False
    assert transport.get_job("job-1", hold=2.4, known_status="queueing").status == "running"
    assert transport.supports_long_poll is True
    assert transport.extensions == {"long-poll", "idempotency"}
    assert mocked.calls[0].request.req_kwargs["timeout"] == (10.0, 2 + 7.0)


def test_a_server_that_ignores_the_params_is_fine(transport, mocked):
    mocked.get(f"{API}/jobs/job-1/", json=job_object("job-1", "queueing"))
    assert transport.get_job("job-1", hold=5, known_status="queueing").status == "queueing"
    assert transport.supports_long_poll is False


def test_a_400_to_long_poll_params_falls_back_once_and_for_good(transport, mocked):
    with_params = mocked.get(
        f"{API}/jobs/job-1/",
        status=400,
        json={"detail": "unknown query parameter"},
        match=[matchers.query_param_matcher({"wait": "3", "status": "pending"})],
    )
    plain = mocked.get(
        f"{API}/jobs/job-1/",
        json=job_object("job-1", "running"),
        match=[matchers.query_param_matcher({})],
    )
    assert transport.get_job("job-1", hold=3, known_status="pending").status == "running"
    assert transport.get_job("job-1", hold=3, known_status="running").status == "running"
    assert (with_params.call_count, plain.call_count) == (1, 2)
    assert transport.supports_long_poll is False


def test_a_400_after_long_poll_was_confirmed_is_a_real_error(transport, mocked):
    mocked.get(
        f"{API}/jobs/job-1/",
        status=400,
        json={"detail": "bad status value"},
        headers={"X-Qibo-Extensions": "long-poll"},
    )
    with pytest.raises(QiboApiError, match="bad status value"):
        transport.get_job("job-1", hold=3, known_status="nonsense")
    assert len(mocked.calls) == 1


# -- redirects, repr, construction ----------------------------------------------------


@pytest.mark.parametrize(
    ("target", "keeps_token"),
    [
        ("https://cloud.example/api/v2/jobs/", True),
        ("https://cloud.example:443/api/v2/jobs/", True),
        ("https://elsewhere.example/api/jobs/", False),
        ("https://cloud.example:8443/api/jobs/", False),
        ("http://cloud.example/api/jobs/", False),
    ],
)
def test_a_redirect_off_origin_drops_the_token(transport, mocked, target, keeps_token):
    mocked.get(f"{API}/jobs/", status=302, headers={"Location": target})
    mocked.get(target, json=[])
    assert transport.list_jobs() == []
    first, second = (call.request.headers for call in mocked.calls)
    assert first["x-api-token"] == TOKEN
    assert ("x-api-token" in second) is keeps_token
    assert "x-qibo-client-version" in second


def test_repr_shows_the_url_not_the_token(transport):
    assert repr(transport) == f"HttpTransport(url={BASE!r})"
    assert TOKEN not in repr(transport) and TOKEN not in str(transport)


@pytest.mark.parametrize("token", ["abc\n", " abc", "ab\rc", "tökén-☃"])
def test_a_token_no_header_can_carry_is_refused_without_echoing_it(token):
    with pytest.raises(ConfigurationError) as caught:
        HttpTransport(BASE, token)
    assert token.strip() not in str(caught.value)


@pytest.mark.parametrize(
    "kwargs",
    [{"connect_timeout": 0}, {"read_timeout": -1}, {"retries": -1}, {"backoff_factor": -2}],
)
def test_bad_settings_are_named(kwargs):
    with pytest.raises(ConfigurationError, match=next(iter(kwargs))):
        HttpTransport(BASE, TOKEN, **kwargs)
