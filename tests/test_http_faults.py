"""HttpTransport against a real loopback server that misbehaves: its one retry layer
(``adapters/http_retry.py``), seen request by request, and failures of the socket itself."""

from __future__ import annotations

import json
import time

import pytest
from tests.support.http import (
    FaultServer,
    cut_off,
    hang_up,
    job_object,
    refusing_url,
    reply,
)

from qibo_client.adapters.http_transport import HttpTransport
from qibo_client.domain.records import JobSubmission
from qibo_client.exceptions import (
    IncompleteDownloadError,
    QiboApiError,
    SubmissionOutcomeUnknownError,
    TransientError,
)

TOKEN = "loopback-token"


def quick(url: str, **overrides: float) -> HttpTransport:
    settings = {"connect_timeout": 2, "read_timeout": 2, "retries": 3, "backoff_factor": 0}
    return HttpTransport(url, TOKEN, **{**settings, **overrides})


def test_get_is_retried_through_transient_503s():
    def behaviour(handler, index):
        if index < 2:
            reply(handler, 503, {"detail": "restarting"}, {"Retry-After": "0"})
        else:
            reply(handler, 200, [job_object("job-1", "success")])

    with FaultServer(behaviour) as server:
        transport = quick(server.url)
        assert [job.pid for job in transport.list_jobs()] == ["job-1"]
        transport.close()
    assert [(r.method, r.path) for r in server.seen] == [("GET", "/api/jobs/")] * 3
    assert all(r.headers["x-api-token"] == TOKEN for r in server.seen)


def test_retries_are_bounded_and_the_last_answer_is_the_error():
    with FaultServer(lambda handler, _: reply(handler, 500, {"detail": "db down"})) as server:
        transport = quick(server.url, retries=2)
        with pytest.raises(TransientError) as caught:
            transport.server_version()
        transport.close()
    assert (caught.value.status, caught.value.message) == (500, "db down")
    assert len(server.seen) == 3


def test_delete_is_retried_too():
    def behaviour(handler, index):
        reply(handler, 502 if index == 0 else 204, b"")

    with FaultServer(behaviour) as server:
        transport = quick(server.url)
        deletion = transport.delete_job("job-1")
        assert deletion.pid == "job-1"
        assert deletion.response.status_code == 204  # what QiboJob.delete() hands back
        transport.close()
    assert [r.method for r in server.seen] == ["DELETE", "DELETE"]


def test_a_post_is_never_retried():
    with FaultServer(
        lambda handler, _: reply(handler, 503, {"detail": "busy"}, {"Retry-After": "0"})
    ) as server:
        transport = quick(server.url)
        with pytest.raises(QiboApiError) as caught:
            transport.submit_job(JobSubmission({}, "numpy"), idempotency_key="k1")
        transport.close()
    # A 5xx may come after the job was queued: the outcome is unknown, the key is kept.
    assert isinstance(caught.value, SubmissionOutcomeUnknownError)
    assert caught.value.status == 503 and "(busy)" in caught.value.message
    assert caught.value.idempotency_key == "k1"
    assert len(server.seen) == 1
    assert server.seen[0].headers["Idempotency-Key"] == "k1"


def test_refused_connection_on_submit_says_not_submitted():
    with refusing_url() as url:
        transport = quick(url)
        with pytest.raises(QiboApiError) as caught:
            transport.submit_job(JobSubmission({}, "numpy"), idempotency_key="k1")
        transport.close()
    error = caught.value
    assert not isinstance(error, SubmissionOutcomeUnknownError)
    assert error.status == 0
    assert "could not be reached" in error.message and "NOT submitted" in error.message
    assert "refused" in error.message.lower()


def test_refused_connection_on_get_is_status_zero_after_retries():
    with refusing_url() as url:
        transport = quick(url, retries=1)
        with pytest.raises(TransientError) as caught:
            transport.list_jobs()
        transport.close()
    assert caught.value.status == 0
    assert f"{url}/api/jobs/" in caught.value.message
    assert "tried 2 times" in caught.value.message  # a refused connect is retried for a GET


def test_a_server_that_reads_the_post_then_hangs_up_leaves_the_outcome_unknown():
    with FaultServer(lambda handler, _: hang_up(handler)) as server:
        transport = quick(server.url)
        with pytest.raises(SubmissionOutcomeUnknownError) as caught:
            transport.submit_job(JobSubmission({"nqubits": 1}, "numpy"), idempotency_key="k-77")
        transport.close()
    assert len(server.seen) == 1 and b'"nqubits": 1' in server.seen[0].body
    assert caught.value.idempotency_key == "k-77"
    assert caught.value.status == 0
    assert "may or may not be queued" in caught.value.message
    assert "k-77" in caught.value.message


def test_a_submission_whose_answer_times_out_is_outcome_unknown():
    with FaultServer(lambda handler, _: time.sleep(0.6)) as server:
        transport = quick(server.url, read_timeout=0.2)
        with pytest.raises(SubmissionOutcomeUnknownError) as caught:
            transport.submit_job(JobSubmission({}, "numpy"), idempotency_key="k-slow")
        transport.close()
    assert len(server.seen) == 1
    assert "read timeout=0.2" in caught.value.message
    assert caught.value.idempotency_key == "k-slow"


def test_a_download_cut_every_time_is_tried_retries_plus_one_times():
    data = bytes(range(256)) * 64  # 16 KiB promised
    attempts: list[tuple[int | None, bytes]] = []

    def receive(stream):
        received = bytearray()
        try:
            for chunk in stream.iter_chunks(1000):
                received += chunk
        finally:
            attempts.append((stream.content_length, bytes(received)))
        return bytes(received)

    with FaultServer(lambda handler, _: cut_off(handler, data, sent=5000)) as server:
        transport = quick(server.url, retries=2)
        with pytest.raises(IncompleteDownloadError) as caught:
            transport.fetch_result("job-1", receive)
        transport.close()
    assert len(server.seen) == 3
    assert attempts == [(len(data), data[:5000])] * 3  # each try starts afresh
    assert "job job-1" in str(caught.value)
    assert "broke off after 5000 bytes" in str(caught.value)


def test_a_download_cut_once_is_fetched_again_whole():
    data = bytes(range(256)) * 64

    def behaviour(handler, index):
        if index == 0:
            cut_off(handler, data, sent=5000)
        else:
            reply(handler, 200, data)

    def receive(stream):
        return b"".join(stream.iter_chunks(1000))

    with FaultServer(behaviour) as server:
        transport = quick(server.url)
        assert transport.fetch_result("job-1", receive) == data
        transport.close()
    assert [(r.method, r.path) for r in server.seen] == [("GET", "/api/jobs/job-1/download/")] * 2


def test_a_dropped_connection_is_retried_for_get_but_never_for_post():
    with FaultServer(lambda handler, _: hang_up(handler)) as server:
        transport = quick(server.url, retries=2)
        with pytest.raises(TransientError) as caught:
            transport.list_jobs()
        with pytest.raises(SubmissionOutcomeUnknownError):
            transport.submit_job(JobSubmission({}, "numpy"), idempotency_key="k1")
        transport.close()
    assert [r.method for r in server.seen] == ["GET"] * 3 + ["POST"]
    assert caught.value.status == 0 and "tried 3 times" in caught.value.message


def test_a_json_answer_cut_mid_body_is_asked_for_again():
    body = json.dumps([]).encode() + b" " * 4000

    def behaviour(handler, index):
        if index == 0:
            cut_off(handler, body, sent=100)
        else:
            reply(handler, 200, [])

    with FaultServer(behaviour) as server:
        transport = quick(server.url)
        assert transport.list_jobs() == []
        transport.close()
    assert len(server.seen) == 2


def test_a_body_cut_every_time_says_how_often_it_was_tried():
    with FaultServer(lambda handler, _: cut_off(handler, b"[" + b" " * 4000, sent=10)) as server:
        transport = quick(server.url)
        with pytest.raises(TransientError) as caught:
            transport.list_jobs()
        transport.close()
    tries = len(server.seen)
    assert tries == 4  # retries=3: one layer, no product
    assert caught.value.status == 0 and f"tried {tries} times" in caught.value.message
