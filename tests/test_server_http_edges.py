"""The HTTP face's edges over loopback: slow and surplus connections, deep bodies, tokens
kept off the command line, hostile gate names, long-polls shared fairly between users."""

from __future__ import annotations

import argparse
import asyncio
import os
import socket
import threading
import time
from pathlib import Path

import httpx
import pytest
import requests
from tests.support.serve import TOKEN1, TOKEN2, serve
from tests.support.server import bell_raw, body

from qibo_client.cli.serve import add_serve_arguments
from qibo_client.cli.serve_users import TOKENS_ENV, given_users
from qibo_client.server.app import create_app
from qibo_client.server.config import DeviceConfig, ServerConfig
from qibo_client.server.core import QiboServer

TIMEOUT = 2.0  # --request-timeout of the module's server
PER_CLIENT = 8  # --max-waiting-per-client
SETATTR = {"_class": "__setattr__", "init_args": ["H", None], "init_kwargs": {}}
PRODUCT = {"_class": "product", "init_args": [[0]], "init_kwargs": {"repeat": 150_000_000}}


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory):
    folder = tmp_path_factory.mktemp("edges")
    extra = (
        "--request-timeout",
        str(TIMEOUT),
        "--max-waiting-per-client",
        str(PER_CLIENT),
        "--max-connections",
        "64",
    )
    with serve(folder / "data", extra=extra) as server:
        yield server


def headers(token: str = TOKEN1) -> dict[str, str]:
    return {"x-api-token": token, "x-qibo-client-version": "0.2.4"}


def open_files(pid: int) -> int:
    return len(os.listdir(f"/proc/{pid}/fd"))


def rss_bytes(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) * 1024
    raise AssertionError("no VmRSS")


def half_sent(url: str, head: bytes) -> socket.socket:
    host, port = url.removeprefix("http://").split(":")
    sock = socket.create_connection((host, int(port)), timeout=10)
    sock.sendall(head)
    return sock


def closed_by_server(sock: socket.socket, within: float) -> bytes | None:
    """What the server sent before closing ``sock`` within ``within`` s, else ``None``."""
    sock.settimeout(within)
    received = b""
    try:
        while chunk := sock.recv(4096):
            received += chunk
    except TimeoutError:
        return None
    except ConnectionResetError:
        pass
    return received


# -- slow and surplus connections -------------------------------------------------------------


@pytest.mark.slow
def test_half_sent_requests_are_dropped_and_real_ones_still_answer(served):
    pid = served.process.pid
    before = open_files(pid)
    attackers = [
        half_sent(served.url, b"GET /api/qibo_version/ HTTP/1.1\r\nHost: x\r\nX-Slow: ")
        for _ in range(200)
    ]
    try:
        time.sleep(0.3)
        assert open_files(pid) <= before + PER_CLIENT + 4
        started = time.monotonic()
        answer = requests.get(f"{served.url}/api/qibo_version/", timeout=10)
        assert answer.status_code == 200 and time.monotonic() - started < 1.0
        last = attackers[-1]  # still waiting: dropped when its time is up, with a 408
        said = closed_by_server(last, within=TIMEOUT + 2)
        assert said is not None and b"408" in said.split(b"\r\n", 1)[0]
        assert open_files(pid) <= before + 4
    finally:
        for sock in attackers:
            sock.close()
    assert served.output.count("dropped") <= 3  # one log line per 30 s, not one per connection


@pytest.mark.slow
def test_a_trickled_body_is_cut_off_with_a_408(served):
    sock = half_sent(
        served.url,
        b"POST /api/jobs/ HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
        + f"x-api-token: {TOKEN1}\r\nContent-Length: 1000\r\n\r\n{{".encode(),
    )
    stop = threading.Event()

    def trickle() -> None:
        while not stop.wait(0.3):
            try:
                sock.sendall(b" ")
            except OSError:
                return

    threading.Thread(target=trickle, daemon=True).start()
    try:
        started = time.monotonic()
        said = closed_by_server(sock, within=TIMEOUT + 3)
        assert said is not None and b"408" in said.split(b"\r\n", 1)[0]
        assert time.monotonic() - started < TIMEOUT + 2
    finally:
        stop.set()
        sock.close()


@pytest.mark.slow
def test_a_connection_that_never_speaks_is_closed(served):
    sock = half_sent(served.url, b"")
    try:
        assert closed_by_server(sock, within=TIMEOUT + 3) == b""
    finally:
        sock.close()


@pytest.mark.slow
def test_long_polls_and_keep_alive_connections_are_not_dropped(served):
    with requests.Session() as session:
        pid = session.post(
            f"{served.url}/api/jobs/", json=body(), headers=headers(), timeout=30
        ).json()["pid"]
        job = session.get(f"{served.url}/api/jobs/{pid}/", headers=headers(), timeout=30).json()
        while job["status"] not in ("success", "error"):
            params = {"wait": 5, "status": job["status"]}
            url = f"{served.url}/api/jobs/{pid}/"
            job = session.get(url, headers=headers(), params=params, timeout=30).json()
        assert job["status"] == "success"
        # held for longer than the request timeout: a whole request is never cut off
        started = time.monotonic()
        held = session.get(
            f"{served.url}/api/jobs/{pid}/",
            headers=headers(),
            params={"wait": TIMEOUT + 1, "status": "success"},
            timeout=30,
        )
        assert held.status_code == 200 and time.monotonic() - started >= TIMEOUT + 0.9


# -- bodies -----------------------------------------------------------------------------------


@pytest.mark.slow
def test_a_100000_deep_json_body_is_a_400_saying_what_is_wrong(served):
    deep = b'{"circuit": ' + b"[" * 100_000 + b"]" * 100_000 + b', "device": "numpy"}'
    answer = requests.post(
        f"{served.url}/api/jobs/",
        data=deep,
        headers={**headers(), "Content-Type": "application/json"},
        timeout=30,
    )
    assert answer.status_code == 400
    assert "nests JSON arrays and objects 100001 deep" in answer.json()["detail"]
    assert "RecursionError" not in served.output


@pytest.mark.slow
def test_the_job_list_carries_frequencies_only_when_asked(served):
    with requests.Session() as session:
        pid = session.post(
            f"{served.url}/api/jobs/", json=body(nshots=20), headers=headers(TOKEN2), timeout=30
        ).json()["pid"]
        url = f"{served.url}/api/jobs/{pid}/"
        job = session.get(url, headers=headers(TOKEN2), timeout=30).json()
        while job["status"] not in ("success", "error"):
            params = {"wait": 5, "status": job["status"]}
            job = session.get(url, headers=headers(TOKEN2), params=params, timeout=30).json()
        listed = session.get(f"{served.url}/api/jobs/", headers=headers(TOKEN2), timeout=30)
        assert all("frequencies" not in entry for entry in listed.json())
        full = session.get(
            f"{served.url}/api/jobs/",
            headers=headers(TOKEN2),
            params={"frequencies": 1},
            timeout=30,
        ).json()
        assert sum(next(e for e in full if e["pid"] == pid)["frequencies"].values()) == 20


# -- the two gate-name attacks, over HTTP ------------------------------------------------------


@pytest.mark.slow
def test_gate_name_attacks_leave_serve_working_for_every_user(served):
    pid = served.process.pid
    rss_before = rss_bytes(pid)
    for gate in (SETATTR, PRODUCT):
        raw = {"nqubits": 1, "density_matrix": False, "queue": [gate]}
        answer = requests.post(
            f"{served.url}/api/jobs/", json=body(raw), headers=headers(), timeout=30
        )
        assert (
            answer.status_code == 200
            and "is not a gate this server runs" in (answer.json()["detail"])
        )
    assert rss_bytes(pid) - rss_before < 64 << 20
    for token in (TOKEN2, TOKEN1):
        pid_ = requests.post(
            f"{served.url}/api/jobs/", json=body(bell_raw()), headers=headers(token), timeout=30
        ).json()["pid"]
        url = f"{served.url}/api/jobs/{pid_}/"
        job = requests.get(url, headers=headers(token), timeout=30).json()
        while job["status"] not in ("success", "error"):
            params = {"wait": 5, "status": job["status"]}
            job = requests.get(url, headers=headers(token), params=params, timeout=30).json()
        assert job["status"] == "success", job["stderr"]


# -- tokens off the command line ----------------------------------------------------------------


def parse(*argv: str) -> argparse.Namespace:
    parser = argparse.ArgumentParser()
    add_serve_arguments(parser)
    return parser.parse_args(list(argv))


def test_tokens_come_from_a_file_and_the_environment(tmp_path, monkeypatch, capsys):
    tokens = tmp_path / "tokens"
    tokens.write_text("# users\nfile-token=f@x\n\nsecond-token  # a comment\n")
    os.chmod(tokens, 0o600)
    monkeypatch.setenv(TOKENS_ENV, "env-token=e@x, other-env")
    users = given_users(parse("--token-file", str(tokens)))
    assert users == [
        ("file-token", "f@x"),
        ("second-token", None),
        ("env-token", "e@x"),
        ("other-env", None),
    ]
    assert capsys.readouterr().err == ""


def test_a_token_argument_works_with_a_warning_and_an_open_file_is_warned_about(
    tmp_path, monkeypatch, capsys
):
    monkeypatch.delenv(TOKENS_ENV, raising=False)
    tokens = tmp_path / "tokens"
    tokens.write_text("file-token\n")
    os.chmod(tokens, 0o644)
    users = given_users(parse("--token", "cli-token", "--token-file", str(tokens)))
    assert users == [("cli-token", None), ("file-token", None)]
    err = capsys.readouterr().err
    assert "other users of this machine can read it (ps)" in err
    assert "can be read by other users; chmod 600" in err
    assert "cli-token" not in err and "file-token" not in err


def test_a_bad_token_file_is_refused_naming_the_line(tmp_path, monkeypatch):
    monkeypatch.delenv(TOKENS_ENV, raising=False)
    tokens = tmp_path / "tokens"
    tokens.write_text("ok-token\nbad\x07token\n")
    with pytest.raises(ValueError, match="line 2"):
        given_users(parse("--token-file", str(tokens)))


@pytest.mark.slow
def test_serve_takes_tokens_from_the_environment_and_keeps_them_off_its_command_line(
    tmp_path, monkeypatch
):
    secret = "env-only-token-4c1e"
    monkeypatch.setenv(TOKENS_ENV, f"{secret}=env@x")
    with serve(tmp_path / "data", users=()) as server:
        cmdline = Path(f"/proc/{server.process.pid}/cmdline").read_bytes()
        assert secret.encode() not in cmdline
        answer = requests.get(f"{server.url}/api/disk_quota/", headers=headers(secret), timeout=30)
        assert answer.status_code == 200 and answer.json()[0]["user"]["email"] == "env@x"
        assert secret not in server.output


# -- long-polls: one user's many do not hold up another's ----------------------------------------


def test_one_users_many_long_polls_do_not_delay_anothers(tmp_path):
    config = ServerConfig(devices=[DeviceConfig("numpy", 4, "numpy")])
    core = QiboServer(tmp_path / "core", config=config)  # never started: jobs stay queued
    core.add_user("alice")
    core.add_user("bob")
    app = create_app(core)

    async def scenario() -> tuple[float, list[float]]:
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
            alice = core.submit("alice", body())["pid"]
            bob = core.submit("bob", body())["pid"]

            async def poll(token: str, pid: str) -> float:
                started = time.monotonic()
                answer = await client.get(
                    f"/api/jobs/{pid}/",
                    params={"wait": 4, "status": "queueing"},
                    headers={"x-api-token": token},
                )
                assert answer.status_code == 200
                return time.monotonic() - started

            crowd = [asyncio.ensure_future(poll("alice", alice)) for _ in range(300)]
            await asyncio.sleep(0.5)
            bobs = asyncio.ensure_future(poll("bob", bob))
            await asyncio.sleep(0.3)
            await asyncio.to_thread(core.cancel_job, "bob", bob)  # bob's job changes now
            return await bobs, list(await asyncio.gather(*crowd))

    try:
        bob_waited, alice_waited = asyncio.run(scenario())
    finally:
        core.close()
    assert bob_waited < 1.5  # answered when his job changed, not after alice's polls
    assert max(alice_waited) < 4 + 1.5  # every one of alice's answered by its wait
