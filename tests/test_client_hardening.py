"""The client's limits against a server it should not have to trust (issue 11, client side).

JSON answers are read with a size cap and a depth limit, over a real loopback
server; what a server's answer echoes back of the user's token is masked
before anything is printed.
"""

from __future__ import annotations

import io
import json
import logging
import time
from http.server import BaseHTTPRequestHandler
from pathlib import Path

import pytest
import responses
from hypothesis import given, settings
from hypothesis import strategies as st
from tests.support.http import FaultServer, job_object, project_quota, reply

from qibo_client import Client, QiboJob
from qibo_client.adapters.http_stream import nested_deeper_than
from qibo_client.adapters.http_transport import HttpTransport
from qibo_client.adapters.logging_renderer import LoggingRenderer
from qibo_client.domain.records import JobInfo
from qibo_client.exceptions import MalformedResponseError, UnsafeResultError
from qibo_client.presentation.masking import mask_secret, masked
from qibo_client.protocol.wire import MAX_JSON_DEPTH
from qibo_client.results import load_result_file
from qibo_client.testing import MockRequest, MockTransport
from qibo_client.testing.answers import error_archive, job_answer
from qibo_client.testing.fakes import MemoryResultStore, RecordingRenderer

TOKEN = "hardening-token-0123456789"
PID = "job-1"


def transport_for(server: FaultServer) -> HttpTransport:
    return HttpTransport(server.url, TOKEN, retries=0)


def send_json_bytes(body: bytes):
    def behaviour(handler: BaseHTTPRequestHandler, index: int) -> None:
        handler.send_response(200)
        handler.send_header("Content-Type", "application/json")
        handler.send_header("Content-Length", str(len(body)))
        handler.end_headers()
        handler.wfile.write(body)

    return behaviour


def nested_job(depth: int) -> bytes:
    """A valid job object with one extra field nested ``depth`` arrays deep."""
    return b'{"pid": "job-1", "status": "running", "extra": ' + b"[" * depth + b"]" * depth + b"}"


def endless_json(handler: BaseHTTPRequestHandler, index: int) -> None:
    """An answer that never ends: no length, one string growing for ever."""
    handler.send_response(200)
    handler.send_header("Content-Type", "application/json")
    handler.end_headers()
    handler.close_connection = True
    try:
        handler.wfile.write(b'{"pid": "job-1", "status": "')
        while True:
            handler.wfile.write(b"x" * 65536)
    except OSError:
        pass  # the client hung up, as it should


def test_an_answer_nested_past_the_depth_limit_is_malformed() -> None:
    # Before: any depth Python's parser survives (about 1,000) was accepted.
    with (
        FaultServer(send_json_bytes(nested_job(MAX_JSON_DEPTH + 1))) as server,
        pytest.raises(MalformedResponseError, match="nested more than 64"),
    ):
        transport_for(server).get_job(PID)


def test_an_answer_within_the_depth_limit_is_read() -> None:
    body = nested_job(MAX_JSON_DEPTH - 1)  # plus the object around it: exactly the limit
    with FaultServer(send_json_bytes(body)) as server:
        info = transport_for(server).get_job(PID)
    assert info.pid == PID and info.status == "running"


def test_brackets_inside_strings_do_not_count_as_nesting() -> None:
    text = '"' + "[{" * 5000 + '\\"' + "]}" * 10 + '"'
    body = b'{"pid": "job-1", "status": "running", "note": ' + text.encode() + b"}"
    with FaultServer(send_json_bytes(body)) as server:
        info = transport_for(server).get_job(PID)
    assert info.raw["note"].startswith("[{[{")


def test_a_100000_deep_answer_is_malformed_not_a_recursion_error() -> None:
    with FaultServer(send_json_bytes(nested_job(100_000))) as server:
        started = time.monotonic()
        with pytest.raises(MalformedResponseError, match="nested"):
            transport_for(server).get_job(PID)
    assert time.monotonic() - started < 5


def test_an_endless_answer_is_malformed_not_a_memory_error() -> None:
    with (
        FaultServer(endless_json) as server,
        pytest.raises(MalformedResponseError, match=r"more than \d+ bytes of JSON"),
    ):
        transport_for(server).get_job(PID, deadline=time.monotonic() + 60)


def test_a_job_list_with_a_deep_field_is_malformed() -> None:
    jobs = [job_object(PID, "success")]
    deep = {"a": None}
    node = deep
    for _ in range(MAX_JSON_DEPTH):
        node["a"] = {"a": None}
        node = node["a"]
    jobs[0]["extra"] = deep

    def behaviour(handler: BaseHTTPRequestHandler, index: int) -> None:
        reply(handler, 200, jobs)

    with (
        FaultServer(behaviour) as server,
        pytest.raises(MalformedResponseError, match="nested more than 64"),
    ):
        transport_for(server).list_jobs()


def depth_of(value: object) -> int:
    if isinstance(value, dict):
        return 1 + max(map(depth_of, value.values()), default=0)
    if isinstance(value, list):
        return 1 + max(map(depth_of, value), default=0)
    return 0


JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(alphabet='[]{}"\\ ,:aé\n'),
    lambda inner: (
        st.lists(inner, max_size=4)
        | st.dictionaries(st.text(alphabet='[]{}"\\a'), inner, max_size=4)
    ),
    max_leaves=60,
)


@settings(max_examples=400, deadline=None)
@given(value=JSON_VALUES, ascii_only=st.booleans(), limit=st.integers(0, 8))
def test_the_depth_count_agrees_with_the_parsed_value(
    value: object, ascii_only: bool, limit: int
) -> None:
    text = json.dumps(value, ensure_ascii=ascii_only)
    assert nested_deeper_than(text, limit) == (depth_of(value) > limit)


# -- results.npy: samples drawn at load time are bounded ------------------------------


def measurement_json(*qubits: int) -> str:
    from qibo import gates

    return gates.M(*qubits).to_json()


def write_npy(path: Path, payload: dict[str, object]) -> Path:
    import numpy as np

    np.save(path, payload, allow_pickle=True)
    return path


def circuit_result_payload(nshots: int, qubits: tuple[int, ...] = (0,)) -> dict[str, object]:
    import numpy as np

    state = np.zeros(2 ** (max(qubits) + 1), dtype=complex)
    state[0] = 1
    return {
        "dtype": "CircuitResult",
        "state": state,
        "measurements": [measurement_json(*qubits)],
        "probabilities": np.eye(1, 2 ** len(qubits)).ravel(),
        "samples": None,
        "nshots": nshots,
        "nqubits": max(qubits) + 1,
        "qibo": "0.3.6",
    }


def test_a_tiny_file_claiming_5e7_shots_is_refused_quickly(tmp_path: Path) -> None:
    # Before: qibo drew the 50,000,000 samples at load time (8 s, 2.4 GB).
    path = write_npy(tmp_path / "results.npy", circuit_result_payload(50_000_000))
    assert path.stat().st_size < 1024
    started = time.monotonic()
    with pytest.raises(UnsafeResultError, match="50000000 shots"):
        load_result_file(path)
    assert time.monotonic() - started < 2


def test_outcomes_without_samples_claiming_too_many_shots_are_refused(tmp_path: Path) -> None:
    # Before: loaded, and the first samples() or frequencies() call drew them all.
    import numpy as np

    payload = {
        "dtype": "MeasurementOutcomes",
        "measurements": [measurement_json(0)],
        "probabilities": np.array([0.5, 0.5]),
        "samples": None,
        "nshots": 50_000_000,
        "nqubits": 1,
        "qibo": "0.3.6",
    }
    with pytest.raises(UnsafeResultError, match="50000000 shots"):
        load_result_file(write_npy(tmp_path / "results.npy", payload))


def test_shots_times_measured_qubits_is_bounded_too(tmp_path: Path) -> None:
    # 2,000,000 shots of 104 measured qubits: 208 million sample values to draw.
    import numpy as np

    payload = {
        "dtype": "MeasurementOutcomes",
        "measurements": [measurement_json(*range(104))],
        "probabilities": np.array([0.5, 0.5]),
        "samples": None,
        "nshots": 2_000_000,
        "nqubits": 104,
        "qibo": "0.3.6",
    }
    with pytest.raises(UnsafeResultError, match="sample values"):
        load_result_file(write_npy(tmp_path / "results.npy", payload))


def test_results_within_the_bound_still_draw_their_samples(tmp_path: Path) -> None:
    result = load_result_file(write_npy(tmp_path / "results.npy", circuit_result_payload(1000)))
    assert result.samples().shape == (1000, 1)
    assert dict(result.frequencies()) == {"0": 1000}


def test_stored_samples_are_not_drawn_so_not_bounded_by_shots(tmp_path: Path) -> None:
    import numpy as np

    payload = circuit_result_payload(3)
    payload["samples"] = np.zeros((3, 1), dtype=np.int64)
    result = load_result_file(write_npy(tmp_path / "results.npy", payload))
    assert result.samples().shape == (3, 1)


# -- a token echoed back by a server is never printed -----------------------------------

BASE = "https://qibo.example"


def echoing_server() -> None:
    """A server that puts the token it was sent wherever a table shows text."""
    job = job_object(PID, "success", email=f"{TOKEN}@evil.example")
    job["result_path"] = f"/results/{TOKEN}.tar.gz"
    responses.get(f"{BASE}/api/jobs/", json=[job])
    responses.get(
        f"{BASE}/api/disk_quota/",
        json=[{"user": {"email": TOKEN}, "kbs_left": 10.0, "kbs_max": 20.0}],
    )
    quota = project_quota(project=f"team-{TOKEN}", device="numpy")
    quota["partition"]["description"] = f"ask {TOKEN} for access"
    responses.get(f"{BASE}/api/projectquotas/", json=[quota])


def logged_client() -> tuple[Client, io.StringIO]:
    output = io.StringIO()
    logger = logging.getLogger("test-client-hardening-masking")
    logger.handlers[:] = [logging.StreamHandler(output)]
    logger.setLevel(logging.INFO)
    logger.propagate = False
    return Client(TOKEN, BASE, renderer=LoggingRenderer(logger)), output


@responses.activate
def test_print_job_info_masks_a_token_the_server_echoes() -> None:
    # Before: the job table's user line and results column printed the token.
    echoing_server()
    client, output = logged_client()
    client.print_job_info()
    printed = output.getvalue()
    assert TOKEN not in printed
    assert "***@evil.example" in printed and "/results/***.tar.gz" in printed


@responses.activate
def test_print_quota_info_masks_a_token_the_server_echoes() -> None:
    echoing_server()
    client, output = logged_client()
    client.print_quota_info()
    printed = output.getvalue()
    assert TOKEN not in printed
    assert "team-***" in printed and "User: ***" in printed


@responses.activate
def test_no_renderer_is_handed_the_token() -> None:
    echoing_server()
    renderer = RecordingRenderer()
    client = Client(TOKEN, BASE, renderer=renderer)
    client.print_job_info()
    client.print_quota_info()
    assert TOKEN not in repr((renderer.job_tables, renderer.quotas))
    [(user, [job])] = renderer.job_tables
    assert user == "***@evil.example" and TOKEN not in repr(job.raw)


def test_masking_leaves_records_without_the_token_as_they_are() -> None:
    info = JobInfo(PID, "success", user_email="me@lab.org", raw={"pid": PID, "n": [1, 2]})
    assert masked(info, TOKEN) is info
    assert masked([info], "ab") == [info]  # too short to mask
    assert mask_secret(f"x{TOKEN}y{TOKEN}", TOKEN) == "x***y***"


@pytest.mark.parametrize("inline", [False, True], ids=["download", "inline-frequencies"])
def test_a_failed_jobs_logs_do_not_show_an_echoed_token(inline: bool) -> None:
    # Before: the error message quoted the server's stderr, token and all.
    def handler(request: MockRequest) -> object:
        if request.operation == "get_job":
            return job_answer(PID, "error", stderr=f"auth failed for token {TOKEN}")
        if request.operation == "download":
            return request.error(404, "no downloads here") if inline else error_archive()
        raise request.error(404, "not here")

    renderer = RecordingRenderer()
    job = QiboJob(
        PID,
        BASE,
        {"x-api-token": TOKEN},
        transport=MockTransport(handler),
        result_store=MemoryResultStore(),
        renderer=renderer,
    )
    assert job.result(verbose=False, timeout=30) is None
    [(level, text)] = renderer.messages
    assert level == "error" and "auth failed for token ***" in text and TOKEN not in text
