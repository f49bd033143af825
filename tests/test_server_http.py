"""The local server's HTTP face, over real loopback HTTP: routes, statuses, headers, bodies.

One ``python -m qibo_client.server`` serves the module (slow tests); the
in-process tests at the end check what a real server cannot be made to do on
cue (a crash inside a route) and the ``serve`` flags.
"""

from __future__ import annotations

import argparse
import io
import json
import logging
import os
import stat
import subprocess
import sys
import tarfile
import time
import uuid
from typing import Any

import pytest
import requests
from pydantic import TypeAdapter
from tests.support.serve import TOKEN1, TOKEN2, serve
from tests.support.server import ANNOUNCED, body, wide_raw

from qibo_client.protocol import schemas

LIMIT = 200_000  # --max-request-bytes of the module's server
MAX_QUBITS = 12  # --device numpy:12
AUTHED_ROUTES = [
    ("GET", "/api/jobs/"),
    ("GET", "/api/jobs/some-pid/"),
    ("GET", "/api/jobs/some-pid/download/"),
    ("DELETE", "/api/jobs/some-pid/"),
    ("DELETE", "/api/jobs/bulk_delete/"),
    ("GET", "/api/disk_quota/"),
    ("GET", "/api/projectquotas/"),
]


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    with serve(
        tmp_path_factory.mktemp("served"),
        users=(f"{TOKEN1}=a@x", f"{TOKEN2}=b@x", "t3-bulk-token=c@x"),
        extra=("--max-request-bytes", str(LIMIT), "--device", f"numpy:{MAX_QUBITS}"),
    ) as served:
        yield served
    for token in (TOKEN1, TOKEN2, "t3-bulk-token"):
        assert token not in served.output, "a token was printed in the server's output"


@pytest.fixture(scope="module")
def url(server) -> str:
    return server.url


def call(url: str, method: str, path: str, token: str | None = TOKEN1, **kwargs: Any):
    headers = dict(kwargs.pop("headers", {}))
    if token is not None:
        headers["x-api-token"] = token
    headers.setdefault("x-qibo-client-version", "0.2.4")
    return requests.request(method, url + path, headers=headers, timeout=90, **kwargs)


def submit(url: str, token: str = TOKEN1, **fields: Any) -> str:
    answer = call(url, "POST", "/api/jobs/", token, json=body(**fields))
    assert answer.status_code == 200, answer.text
    return answer.json()["pid"]


def wait_final(url: str, pid: str, token: str = TOKEN1, timeout: float = 90) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    job = call(url, "GET", f"/api/jobs/{pid}/", token).json()
    while job["status"] not in ("success", "error"):
        assert time.monotonic() < deadline, f"job {pid} still {job['status']}"
        params = {"wait": 20, "status": job["status"]}
        job = call(url, "GET", f"/api/jobs/{pid}/", token, params=params).json()
    return job


@pytest.fixture(scope="module")
def finished(url) -> dict[str, Any]:
    """A Bell job of TOKEN1's, run to success."""
    return wait_final(url, submit(url))


# -- routes, as the protocol has them ---------------------------------------------------


@pytest.mark.slow
def test_version_needs_no_token_and_announces_the_extensions(url):
    answer = call(url, "GET", "/api/qibo_version/", token=None)
    assert answer.status_code == 200
    assert set(answer.json()) == {
        "server_qibo_version",
        "minimum_client_qibo_version",
        "minimum_qibo_version",
        "minimum_client_version",
    }
    schemas.ServerVersion.model_validate(answer.json())
    assert answer.headers["X-Qibo-Extensions"] == ANNOUNCED
    assert answer.headers["Content-Type"] == "application/json"


@pytest.mark.slow
def test_a_job_runs_and_every_read_route_answers_protocol_objects(url, finished):
    assert finished["status"] == "success"
    job = TypeAdapter(schemas.Job).validate_python(finished)
    assert job.user.email == "a@x" and sum(job.frequencies.values()) == 100
    assert set(job.frequencies) <= {"00", "11"}

    listed = call(url, "GET", "/api/jobs/")
    assert listed.status_code == 200
    TypeAdapter(list[schemas.Job]).validate_python(listed.json())
    assert finished["pid"] in [j["pid"] for j in listed.json()]

    quotas = call(url, "GET", "/api/projectquotas/").json()
    [numpy] = [q for q in TypeAdapter(list[schemas.ProjectQuota]).validate_python(quotas)]
    assert numpy.partition.name == "numpy" and numpy.jobs_left < numpy.jobs_max
    assert numpy.partition.max_num_qubits == MAX_QUBITS

    [disk] = TypeAdapter(list[schemas.DiskQuota]).validate_python(
        call(url, "GET", "/api/disk_quota/").json()
    )
    assert disk.user.email == "a@x" and 0 < disk.kbs_left < disk.kbs_max


@pytest.mark.slow
def test_download_is_a_gzip_tar_with_results_npy(url, finished):
    answer = call(url, "GET", f"/api/jobs/{finished['pid']}/download/", stream=True)
    assert answer.status_code == 200
    assert answer.headers["Content-Type"] == "application/gzip"
    assert answer.headers["X-Qibo-Extensions"] == ANNOUNCED
    data = answer.raw.read(decode_content=False)
    assert int(answer.headers["Content-Length"]) == len(data)
    with tarfile.open(fileobj=io.BytesIO(data), mode="r:gz") as archive:
        assert "results.npy" in archive.getnames()
        payload = archive.extractfile("results.npy").read()
    assert payload.startswith(b"\x93NUMPY")


@pytest.mark.slow
def test_delete_one_job_then_it_is_gone(url):
    pid = submit(url)
    wait_final(url, pid)
    deleted = call(url, "DELETE", f"/api/jobs/{pid}/")
    assert deleted.status_code == 200
    schemas.Deleted.model_validate(deleted.json())
    assert call(url, "GET", f"/api/jobs/{pid}/").status_code == 404
    assert pid not in [j["pid"] for j in call(url, "GET", "/api/jobs/").json()]


@pytest.mark.slow
def test_bulk_delete_is_not_read_as_a_pid(url):
    token = "t3-bulk-token"
    pids = {submit(url, token), submit(url, token)}
    answer = call(url, "DELETE", "/api/jobs/bulk_delete/", token)
    assert answer.status_code == 200
    assert set(answer.json()["deleted"]) == pids
    assert call(url, "GET", "/api/jobs/", token).json() == []
    # the other users' jobs are untouched
    assert call(url, "GET", "/api/jobs/", TOKEN1).json()


# -- who may do what ----------------------------------------------------------------------


@pytest.mark.slow
@pytest.mark.parametrize(("method", "path"), [*AUTHED_ROUTES, ("POST", "/api/jobs/")])
def test_a_missing_token_is_401_and_an_unknown_one_403(url, method, path):
    kwargs = {"json": body()} if method == "POST" else {}
    missing = call(url, method, path, token=None, **kwargs)
    assert missing.status_code == 401
    assert isinstance(missing.json()["detail"], str) and missing.json()["detail"]
    unknown = call(url, method, path, token="nobody-" + uuid.uuid4().hex, **kwargs)
    assert unknown.status_code == 403
    assert "nobody-" not in unknown.json()["detail"]
    assert unknown.headers["X-Qibo-Extensions"] == ANNOUNCED


@pytest.mark.slow
def test_another_users_job_is_404_everywhere(url, finished):
    pid = finished["pid"]
    for method, path in [
        ("GET", f"/api/jobs/{pid}/"),
        ("GET", f"/api/jobs/{pid}/download/"),
        ("DELETE", f"/api/jobs/{pid}/"),
    ]:
        answer = call(url, method, path, TOKEN2)
        assert answer.status_code == 404, (method, path)
        assert pid in answer.json()["detail"]
    assert pid not in [j["pid"] for j in call(url, "GET", "/api/jobs/", TOKEN2).json()]
    assert call(url, "GET", f"/api/jobs/{pid}/").status_code == 200  # still there


@pytest.mark.slow
def test_unknown_paths_and_methods_answer_a_detail(url):
    missing = call(url, "GET", "/api/nothing/")
    assert missing.status_code == 404 and "/api/nothing/" in missing.json()["detail"]
    assert missing.headers["X-Qibo-Extensions"] == ANNOUNCED
    wrong = call(url, "PUT", "/api/jobs/")
    assert wrong.status_code == 405 and "PUT" in wrong.json()["detail"]


# -- refusals and malformed requests ------------------------------------------------------


@pytest.mark.slow
@pytest.mark.parametrize(
    ("fields", "said"),
    [
        ({"device": "no-such-device"}, "no-such-device"),
        ({"nshots": 0}, "nshots"),
        ({"project": "elsewhere"}, "elsewhere"),
        ({"circuit": {"queue": "not a circuit"}}, "circuit"),
        ({"circuit": "too wide"}, f"at most {MAX_QUBITS}"),
    ],
)
def test_a_refused_job_is_200_with_a_detail_and_no_pid(url, fields, said):
    """The 0.2 contract: the published client's way of posting (slash, version header)."""
    if fields.get("circuit") == "too wide":
        fields = {"circuit": wide_raw(MAX_QUBITS + 1)}
    before = len(call(url, "GET", "/api/jobs/", TOKEN2).json())
    answer = call(url, "POST", "/api/jobs/", TOKEN2, json=body(**fields))
    assert answer.status_code == 200
    assert "pid" not in answer.json() and said in answer.json()["detail"]
    assert len(call(url, "GET", "/api/jobs/", TOKEN2).json()) == before


@pytest.mark.slow
@pytest.mark.parametrize(
    ("payload", "said"),
    [
        (b"[1, 2]", "JSON object"),
        (b"{not json", "not valid JSON"),
        (json.dumps(body(nshots="many")).encode(), "'nshots'"),
        (json.dumps(body(verbatim="yes")).encode(), "'verbatim'"),
        (json.dumps({"nshots": 10, "device": "numpy"}).encode(), "'circuit'"),
    ],
)
def test_a_malformed_request_is_422_with_a_human_detail(url, payload, said):
    headers = {"Content-Type": "application/json"}
    answer = call(url, "POST", "/api/jobs/", data=payload, headers=headers)
    assert answer.status_code == 422
    shape = schemas.ValidationDetail.model_validate(answer.json())
    assert said in shape.detail and shape.errors
    assert "input" not in shape.errors[0]


@pytest.mark.slow
def test_a_bad_wait_parameter_is_422(url, finished):
    answer = call(url, "GET", f"/api/jobs/{finished['pid']}/", params={"wait": "-3"})
    assert answer.status_code == 422 and "'wait'" in answer.json()["detail"]


@pytest.mark.slow
def test_a_body_over_the_limit_is_413_by_length_and_by_bytes_read(url):
    big = json.dumps(body(padding="x" * LIMIT)).encode()
    declared = call(
        url, "POST", "/api/jobs/", data=big, headers={"Content-Type": "application/json"}
    )
    assert declared.status_code == 413 and str(LIMIT) in declared.json()["detail"]

    def chunks():  # no Content-Length: the server must count
        for start in range(0, len(big), 16_384):
            yield big[start : start + 16_384]

    chunked = call(
        url, "POST", "/api/jobs/", data=chunks(), headers={"Content-Type": "application/json"}
    )
    assert chunked.status_code == 413
    assert chunked.headers["X-Qibo-Extensions"] == ANNOUNCED
    # just under the limit is read and judged on its content
    assert call(url, "POST", "/api/jobs/", json=body(padding="x" * 1000)).status_code == 200


# -- extensions ---------------------------------------------------------------------------


@pytest.mark.slow
def test_long_poll_answers_as_soon_as_the_status_changes(url):
    pid = submit(url)
    start = time.monotonic()
    answer = call(url, "GET", f"/api/jobs/{pid}/", params={"wait": 60, "status": "queueing"})
    assert answer.status_code == 200
    assert answer.headers["X-Qibo-Extensions"] == ANNOUNCED
    assert answer.json()["status"] != "queueing"
    assert time.monotonic() - start < 30
    final = wait_final(url, pid)
    assert final["status"] == "success"


@pytest.mark.slow
def test_long_poll_holds_a_final_job_for_the_wait(url, finished):
    path = f"/api/jobs/{finished['pid']}/"
    start = time.monotonic()
    held = call(url, "GET", path, params={"wait": 1.5, "status": "success"})
    assert held.json()["status"] == "success" and time.monotonic() - start >= 1.4
    start = time.monotonic()
    prompt = call(url, "GET", path, params={"wait": 30, "status": "running"})
    assert prompt.json()["status"] == "success" and time.monotonic() - start < 10


@pytest.mark.slow
def test_idempotency_key_gives_the_same_pid_and_one_job(url):
    key = uuid.uuid4().hex
    headers = {"Idempotency-Key": key}
    first = call(url, "POST", "/api/jobs/", TOKEN2, json=body(), headers=headers).json()
    count = len(call(url, "GET", "/api/jobs/", TOKEN2).json())
    again = call(url, "POST", "/api/jobs/", TOKEN2, json=body(), headers=headers).json()
    assert again == first
    assert len(call(url, "GET", "/api/jobs/", TOKEN2).json()) == count
    other = call(url, "POST", "/api/jobs/", TOKEN2, json=body(nshots=7), headers=headers)
    assert other.status_code == 422 and "idempotency key" in other.json()["detail"]
    # another user's key space is their own
    theirs = call(url, "POST", "/api/jobs/", TOKEN1, json=body(), headers=headers).json()
    assert theirs["pid"] != first["pid"]


# -- OpenAPI ------------------------------------------------------------------------------


@pytest.mark.slow
def test_the_openapi_document_describes_every_route(url):
    document = call(url, "GET", "/openapi.json", token=None).json()
    paths = document["paths"]
    expected = {
        "/api/qibo_version/": {"get"},
        "/api/jobs/": {"get", "post"},
        "/api/jobs/dry_run/": {"post"},
        "/api/jobs/batch/": {"post"},
        "/api/jobs/{pid}/": {"get", "delete"},
        "/api/jobs/{pid}/download/": {"get"},
        "/api/jobs/{pid}/cancel/": {"post"},
        "/api/jobs/bulk_delete/": {"delete"},
        "/api/disk_quota/": {"get"},
        "/api/projectquotas/": {"get"},
    }
    assert {path: set(methods) for path, methods in paths.items()} == expected
    components = document["components"]["schemas"]
    assert {"Job", "ProjectQuota", "DiskQuota", "Detail", "ValidationDetail"} <= set(components)
    job_get = paths["/api/jobs/{pid}/"]["get"]
    assert job_get["responses"]["200"]["content"]["application/json"]["schema"] == {
        "$ref": "#/components/schemas/Job"
    }
    assert {"wait", "status"} <= {p["name"] for p in job_get["parameters"]}
    assert (
        "application/gzip"
        in paths["/api/jobs/{pid}/download/"]["get"]["responses"]["200"]["content"]
    )
    assert document["components"]["securitySchemes"]["APIKeyHeader"]["name"] == "x-api-token"


# -- our own client over HTTP -------------------------------------------------------------


@pytest.mark.slow
def test_our_client_runs_a_bell_circuit_over_http(url):
    from qibo import Circuit, gates

    import qibo_client

    circuit = Circuit(2)
    circuit.add(gates.H(0))
    circuit.add(gates.CNOT(0, 1))
    circuit.add(gates.M(0, 1))
    client = qibo_client.Client(TOKEN1, url)
    job = client.run_circuit(circuit, device="numpy", nshots=64)
    result = job.result()
    frequencies = dict(result.frequencies())
    assert sum(frequencies.values()) == 64 and set(frequencies) <= {"00", "11"}
    assert client.get_job(job.pid).status().name == "SUCCESS"


# -- in process: what a real server cannot be made to do on cue ----------------------------


class ExplodingServer:
    """Stands in for QiboServer: every call fails in an unexpected way, naming the token."""

    def __getattr__(self, name: str):
        def explode(*args: Any, **kwargs: Any) -> Any:
            raise RuntimeError(f"boom with {args!r}")

        return explode


@pytest.mark.filterwarnings("ignore:Using `httpx` with `starlette.testclient`")
def test_an_unexpected_error_is_500_internal_error_and_logged_without_the_token(caplog):
    from fastapi.testclient import TestClient

    from qibo_client.server.app import create_app

    client = TestClient(create_app(ExplodingServer()), raise_server_exceptions=False)  # type: ignore[arg-type]
    with caplog.at_level(logging.ERROR, logger="qibo_client.server"):
        answer = client.get("/api/jobs/", headers={"x-api-token": "secret-token-xyz"})
    assert answer.status_code == 500
    assert answer.json() == {"detail": "internal error"}
    assert answer.headers["X-Qibo-Extensions"] == ANNOUNCED
    assert "GET /api/jobs/" in caplog.text and "RuntimeError" in caplog.text
    assert "secret-token-xyz" not in caplog.text


# -- the serve command's flags ------------------------------------------------------------


def parse(*argv: str) -> argparse.Namespace:
    from qibo_client.cli.serve import add_serve_arguments

    parser = argparse.ArgumentParser()
    add_serve_arguments(parser)
    return parser.parse_args(argv)


def test_serve_flags_read_users_devices_and_defaults():
    args = parse("--token", "abc==", "--token", "tok=ada@lab.org", "--device", "numpy:12")
    assert args.token == [("abc==", None), ("tok", "ada@lab.org")]
    assert args.devices == [("numpy", 12)]
    assert (args.host, args.port, args.workers) == ("127.0.0.1", 8000, 1)
    assert args.max_request_bytes == 10 * 1024 * 1024


@pytest.mark.parametrize(
    "argv",
    [
        ("--workers", "0"),
        ("--port", "70000"),
        ("--device", "numpy:lots"),
        ("--token", "has space"),
        ("--max-request-bytes", "-1"),
    ],
)
def test_bad_serve_flags_exit_2(argv, capsys):
    with pytest.raises(SystemExit) as stop:
        parse(*argv)
    assert stop.value.code == 2
    assert "has space" not in capsys.readouterr().err


def test_serve_parses_repeated_tokens_through_the_qibo_client_command():
    from qibo_client.cli.main import build_parser

    argv = ["serve", "--token", "a=a@x", "--token", "b", "--debug"]
    args = build_parser(argv).parse_args(argv)
    assert args.token == [("a", "a@x"), ("b", None)]
    # other commands keep the client's single --token
    argv = ["jobs", "--token", "x"]
    assert build_parser(argv).parse_args(argv).token == "x"


def test_device_flags_choose_the_devices_offered(tmp_path):
    from qibo_client.cli.serve import _load_config

    config = _load_config(tmp_path, [("numpy", 7)])
    assert [(d.name, d.max_num_qubits) for d in config.devices] == [("numpy", 7)]
    with pytest.raises(ValueError, match="no-such-backend"):
        _load_config(tmp_path, [("no-such-backend", None)])
    assert len(_load_config(tmp_path, None).devices) >= 1


def test_stored_token_is_made_once_with_mode_0600_and_reused(tmp_path, capsys):
    from qibo_client.cli.serve import _users

    args = argparse.Namespace(token=None)
    [(token, email)] = _users(args, tmp_path)
    first = capsys.readouterr().out
    assert token in first and str(tmp_path / "token") in first and email is None
    assert stat.S_IMODE((tmp_path / "token").stat().st_mode) == 0o600
    assert _users(args, tmp_path) == [(token, None)]
    assert token not in capsys.readouterr().out


@pytest.mark.skipif(os.name == "nt", reason="POSIX process handling")
def test_serve_without_the_server_extra_exits_2_with_the_pip_hint(tmp_path):
    code = (
        "import sys; sys.modules['fastapi'] = None\n"
        "from qibo_client.server.__main__ import main\n"
        f"sys.exit(main(['--port', '0', '--data-dir', {str(tmp_path)!r}, '--token', 'x']))"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert done.returncode == 2
    assert "pip install 'qibo-client[server]'" in done.stderr


@pytest.mark.slow
def test_serve_without_tokens_prints_a_new_one_once_and_stops_on_sigterm(tmp_path):
    data = tmp_path / "data"
    with serve(data, users=()) as first:
        stored = (data / "token").read_text().strip()
        assert stored in first.output and "will not be shown again" in first.output
        version = requests.get(first.url + "/api/projectquotas/", headers={"x-api-token": stored})
        assert version.status_code == 200
        assert first.stop() == 0
    assert not first.group_alive()
    with serve(data, users=()) as second:
        assert stored not in second.output and "Using the API token stored in" in second.output
        answer = requests.get(second.url + "/api/disk_quota/", headers={"x-api-token": stored})
        assert answer.status_code == 200


@pytest.mark.slow
def test_sigterm_lets_a_held_long_poll_answer_and_the_server_exit_0(tmp_path):
    import threading

    with serve(tmp_path / "data") as served:
        pid = submit(served.url)
        wait_final(served.url, pid)
        answers: list[requests.Response] = []
        path = f"/api/jobs/{pid}/"
        params = {"wait": 60, "status": "success"}  # held: the job will not change
        holder = threading.Thread(
            target=lambda: answers.append(call(served.url, "GET", path, params=params))
        )
        holder.start()
        time.sleep(2.0)  # let the request reach the server and be held
        start = time.monotonic()
        assert served.stop() == 0
        holder.join(30)
        assert time.monotonic() - start < 15
        [answer] = answers
        assert answer.status_code == 200 and answer.json()["status"] == "success"
    assert not served.group_alive()


@pytest.mark.slow
def test_serve_on_a_port_in_use_exits_1_naming_the_port(tmp_path):
    import socket

    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        command = [sys.executable, "-m", "qibo_client.server", "--port", str(port)]
        done = subprocess.run(
            [*command, "--data-dir", str(tmp_path), "--token", "some-token"],
            capture_output=True,
            text=True,
            timeout=120,
        )
    assert done.returncode == 1
    assert f"127.0.0.1:{port}" in done.stderr and "--port" in done.stderr
    assert "some-token" not in done.stdout + done.stderr
