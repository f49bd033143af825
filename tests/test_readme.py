"""The README's commands, copied as written, work: the main command, the local server, the CLI.

They run in a copy of the environment's shell (the test's virtual environment
first on PATH, as after ``source .venv/bin/activate``), in a scratch folder,
against the server the README starts on 127.0.0.1:8000.
"""

from __future__ import annotations

import ast
import contextlib
import os
import re
import shlex
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import requests

pytestmark = pytest.mark.slow

REPO = Path(__file__).resolve().parents[1]
README = (REPO / "README.md").read_text(encoding="utf-8")


def block_after(heading: str) -> list[str]:
    """The command lines of the first ```bash block of a README section."""
    section = README.split(f"## {heading}", 1)[1]
    body = section.split("```bash", 1)[1].split("```", 1)[0]
    lines = [line.split("  #", 1)[0].strip() for line in body.strip().splitlines()]
    return [line for line in lines if line]


def shell_env(home: Path) -> dict[str, str]:
    env = dict(os.environ)
    env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}"
    env["HOME"] = str(home)
    return env


def test_the_main_command_prints_a_bell_result() -> None:
    command = README.split("Run the main job", 1)[1].split("```bash", 1)[1].split("```", 1)[0]
    done = subprocess.run(
        command.strip(), shell=True, cwd=REPO, capture_output=True, text=True, timeout=900
    )
    assert done.returncode == 0, done.stderr[-2000:]
    counts = re.search(r"\{[^}]*\}", done.stdout.strip().splitlines()[-1])
    assert counts and set(ast.literal_eval(counts.group(0))) <= {"00", "11"}


def port_free(port: int) -> bool:
    import socket

    with socket.socket() as sock:
        return sock.connect_ex(("127.0.0.1", port)) != 0


@pytest.mark.skipif(not port_free(8000), reason="the README's server port 8000 is taken")
def test_the_server_and_command_line_sections_run_as_written(tmp_path: Path) -> None:
    env = shell_env(tmp_path / "home")
    serve_lines = block_after("The local server")
    assert serve_lines[0].startswith("pip install")
    server = subprocess.Popen(
        serve_lines[1],
        shell=True,
        cwd=tmp_path,
        env=env,
        start_new_session=True,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        deadline = time.monotonic() + 90
        while True:
            with contextlib.suppress(requests.RequestException):
                if requests.get("http://127.0.0.1:8000/api/qibo_version/", timeout=1).ok:
                    break
            assert server.poll() is None and time.monotonic() < deadline, "serve did not start"
            time.sleep(0.3)
        token = re.search(r'QIBO_SERVER_TOKENS="(\w+)=', serve_lines[1]).group(1)
        cli = block_after("The command line")
        # login first, so that the other commands reach the README's server.
        ordered = sorted(cli, key=lambda line: not line.startswith("qibo-client login"))
        for line in ordered:
            done = subprocess.run(
                shlex.split(line),
                cwd=REPO,
                env=env,
                input=f"{token}\n",
                capture_output=True,
                text=True,
                timeout=300,
            )
            assert done.returncode == 0, f"{line!r} failed:\n{done.stdout}\n{done.stderr}"
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(server.pid, signal.SIGTERM)
        try:
            server.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(server.pid, signal.SIGKILL)
            server.wait()


@pytest.mark.parametrize("page", ["README.md", "docs/index.md"])
def test_the_install_line_installs_this_project_not_the_published_one(page: str) -> None:
    text = (REPO / page).read_text(encoding="utf-8")
    assert "pip install -e ." in text
    # A bare `pip install qibo-client` is only ever mentioned as the published 0.2.4.
    for line in text.splitlines():
        if "pip install qibo-client" in line and "0.2.4" not in line:
            neighbourhood = text[text.index(line) - 200 : text.index(line) + 300]
            assert "0.2.4" in neighbourhood, f"{page}: {line.strip()!r}"
