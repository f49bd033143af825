"""One retry layer and one deadline, shown against a loopback server that misbehaves.

Retries live in the HTTP transport only: a status check against a server that
answers 502 to everything makes exactly as many requests as the transport's
retry setting allows, not a product of two layers. ``result(timeout=...)`` is
one deadline over every request, retry pause, held poll and download, so a
server that asks for ``Retry-After: 100`` or trickles its bytes cannot stretch it.
"""

from __future__ import annotations

import time
from http.server import BaseHTTPRequestHandler

import pytest
from tests.support.http import FaultServer, job_object, reply

from qibo_client import QiboJob
from qibo_client.adapters.http_transport import HttpTransport
from qibo_client.exceptions import JobTimeoutError, TransientError
from qibo_client.testing.fakes import MemoryResultStore, RecordingRenderer

TOKEN = "deadline-token"
PID = "job-1"
#: How far past its timeout a wait may end (scheduling, one socket read).
SLACK = 2.0


def job_for(server: FaultServer, *, retries: int = 5) -> QiboJob:
    transport = HttpTransport(server.url, TOKEN, retries=retries, backoff_factor=0.01)
    return QiboJob(
        PID,
        server.url,
        {"x-api-token": TOKEN},
        transport=transport,
        result_store=MemoryResultStore(),
        renderer=RecordingRenderer(),
    )


def always_502(handler: BaseHTTPRequestHandler, index: int) -> None:
    reply(handler, 502, {"detail": "bad gateway"})


@pytest.mark.parametrize("retries", [0, 2, 5])
def test_one_status_check_makes_at_most_the_transports_tries(retries: int) -> None:
    with FaultServer(always_502) as server:
        job = job_for(server, retries=retries)
        with pytest.raises(TransientError) as caught:
            job.refresh()
    assert len(server.seen) == retries + 1
    assert caught.value.status == 502
    assert "bad gateway" in str(caught.value)


def test_result_waiting_on_a_502_server_does_not_multiply_requests() -> None:
    with FaultServer(always_502) as server:
        job = job_for(server, retries=3)
        with pytest.raises(TransientError):
            job.result(timeout=30, verbose=False)
    assert len(server.seen) == 4


def retry_after_100(handler: BaseHTTPRequestHandler, index: int) -> None:
    reply(handler, 503, {"detail": "busy"}, headers={"Retry-After": "100"})


def trickle(body: bytes, pause: float, kind: str = "application/json"):
    """Answer 200 with the whole length promised, then one byte every ``pause`` seconds."""

    def behaviour(handler: BaseHTTPRequestHandler, index: int) -> None:
        handler.send_response(200)
        handler.send_header("Content-Type", kind)
        handler.send_header("Content-Length", str(len(body)))
        handler.end_headers()
        try:
            for byte in body:
                handler.wfile.write(bytes([byte]))
                handler.wfile.flush()
                time.sleep(pause)
        except OSError:
            pass  # the client gave up, as it should

    return behaviour


def trickled_download(handler: BaseHTTPRequestHandler, index: int) -> None:
    if handler.path.rstrip("/").endswith("download"):
        trickle(b"\x1f\x8b" + b"\0" * 200, 0.5, "application/gzip")(handler, index)
    else:
        reply(handler, 200, job_object(PID, "success"))


@pytest.mark.parametrize(
    "behaviour",
    [
        retry_after_100,
        trickle(b'{"pid": "job-1", "status": "running"}' + b" " * 200, 0.5),
        trickled_download,
    ],
    ids=["retry-after-100", "trickled-status", "trickled-download"],
)
def test_result_timeout_is_one_deadline(behaviour) -> None:
    with FaultServer(behaviour) as server:
        job = job_for(server)
        started = time.monotonic()
        with pytest.raises(JobTimeoutError) as caught:
            job.result(timeout=3, verbose=False)
        took = time.monotonic() - started
    assert took < 3 + SLACK, f"result(timeout=3) took {took:.1f} s"
    # The job is left alone on the server: nothing but reads went out.
    assert {seen.method for seen in server.seen} == {"GET"}
    assert caught.value.pid == PID
    assert f"client.get_job({PID!r})" in str(caught.value)


def test_a_port_nobody_listens_on_fails_fast_and_says_how_often_it_tried() -> None:
    from tests.support.http import refusing_url

    with refusing_url() as url:
        transport = HttpTransport(url, TOKEN)  # the default retries (5)
        started = time.monotonic()
        with pytest.raises(TransientError) as caught:
            transport.server_version()
        took = time.monotonic() - started
    assert took < 3, f"a refused connection took {took:.1f} s to report"
    assert "tried 3 times" in str(caught.value)
    assert "refused" in str(caught.value).lower()


def test_a_submission_whose_answer_breaks_off_is_an_unknown_outcome_not_a_lost_job() -> None:
    from qibo_client.domain.records import JobSubmission
    from qibo_client.exceptions import SubmissionOutcomeUnknownError

    def cut_answer(handler: BaseHTTPRequestHandler, index: int) -> None:
        handler.send_response(200)
        handler.send_header("Content-Type", "application/json")
        handler.send_header("Content-Length", "100")
        handler.end_headers()
        handler.wfile.write(b'{"pid": "p')  # then the connection drops
        handler.wfile.flush()
        handler.close_connection = True

    with FaultServer(cut_answer) as server:
        transport = HttpTransport(server.url, TOKEN)
        with pytest.raises(SubmissionOutcomeUnknownError) as caught:
            transport.submit_job(
                JobSubmission({"nqubits": 1, "queue": []}, "numpy"), idempotency_key="k1"
            )
    assert len(server.seen) == 1  # never sent twice
    assert caught.value.idempotency_key == "k1"
    assert "may or may not be queued" in str(caught.value)
