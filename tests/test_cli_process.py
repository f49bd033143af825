"""``qibo-client`` as a separate process: a closed pipe, Ctrl-C, and the README's and examples' commands."""

from __future__ import annotations

import contextlib
import os
import queue
import re
import shlex
import signal
import subprocess
import sys
import threading
from pathlib import Path

import pytest
import qibo  # noqa: F401 - qibo's log handler binds to stderr on import: not to one test's capture
from tests.support.cli import bell_script, command_line, run_cli, slow_json

from qibo_client.adapters.local_transport import LocalServerTransport

REPO = Path(__file__).resolve().parents[1]


def _readme_cli_lines() -> list[str]:
    """The commands in the README's "The command line" section, comments left off."""
    text = (REPO / "README.md").read_text(encoding="utf-8")
    section = text.split("## The command line", 1)[1].split("\n## ", 1)[0]
    block = section.split("```bash", 1)[1].split("```", 1)[0]
    return [line.split("#", 1)[0].strip() for line in block.splitlines() if line.strip()]


@pytest.fixture
def url(tmp_path):
    address = f"local://{tmp_path / 'server'}"
    keeper = LocalServerTransport(address, "")
    yield address
    keeper.close()


# -- | head -1 ----------------------------------------------------------------------------


def test_jobs_json_into_a_pipe_closed_early_exits_0_quietly(capsys, url, tmp_path):
    for _ in range(2):
        assert run_cli(capsys, "run", bell_script(tmp_path), "--url", url, "--no-wait").code == 0
    reader, writer = os.pipe()
    os.close(reader)  # as `| head -1` does once it has its line: nobody reads any more
    try:
        done = subprocess.run(
            command_line("jobs", "--json", "--url", url),
            stdout=writer,
            stderr=subprocess.PIPE,
            text=True,
            timeout=120,
            check=False,
        )
    finally:
        os.close(writer)
    assert done.returncode == 0, done.stderr
    assert "BrokenPipe" not in done.stderr and "Exception ignored" not in done.stderr
    assert "error" not in done.stderr


def test_jobs_json_piped_into_head_gives_one_line_and_status_0(capsys, url, tmp_path):
    for _ in range(3):
        assert run_cli(capsys, "run", bell_script(tmp_path), "--url", url, "--no-wait").code == 0
    command = shlex.join(command_line("jobs", "--json", "--url", url))
    done = subprocess.run(
        ["bash", "-c", f"set -o pipefail; {command} | head -1"],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert len(done.stdout.splitlines()) == 1 and '"pid"' in done.stdout
    assert "BrokenPipe" not in done.stderr


# -- Ctrl-C -------------------------------------------------------------------------------


@pytest.mark.slow
def test_ctrl_c_while_a_job_runs_says_once_how_to_resume_and_exits_130(url, tmp_path):
    process = subprocess.Popen(
        command_line("run", slow_json(tmp_path), "--url", url, "--ui", "logging"),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,  # a process group of its own, as a terminal's foreground job
    )
    lines: queue.Queue[str] = queue.Queue()
    seen: list[str] = []

    def drain() -> None:
        assert process.stderr is not None
        for line in process.stderr:
            lines.put(line)

    threading.Thread(target=drain, daemon=True).start()
    try:
        while not any(re.search(r"Job \S+ (QUEUEING|PENDING|RUNNING)", line) for line in seen):
            seen.append(lines.get(timeout=120))  # the wait has begun
        os.killpg(process.pid, signal.SIGINT)  # Ctrl-C reaches the whole foreground group
        code = process.wait(timeout=60)
    finally:
        with contextlib.suppress(ProcessLookupError):  # the command, or a worker left behind
            os.killpg(process.pid, signal.SIGKILL)
        process.wait()
    while not lines.empty():
        seen.append(lines.get())
    err = "".join(seen)
    assert code == 130, err
    said = [line for line in seen if "interrupted" in line]
    assert len(said) == 1 and said[0].startswith("qibo-client: interrupted; job ")
    pid = said[0].split("qibo-client result ")[1].split()[0]
    assert re.fullmatch(r"[0-9a-f-]{36}", pid)
    for noise in ("get_job", "Traceback", "KeyboardInterrupt", "Pick it up"):
        assert noise not in err


# -- the example and the README's CLI section --------------------------------------------


def test_the_readme_runs_a_file_that_exists():
    runs = [shlex.split(line) for line in _readme_cli_lines() if line.startswith("qibo-client run")]
    assert runs, "the README's CLI section shows no 'qibo-client run'"
    for words in runs:
        assert (REPO / words[2]).is_file(), f"README runs {words[2]}, which does not exist"


def test_the_readmes_run_line_sends_one_job_and_prints_one_result(capsys, monkeypatch, url):
    line = next(line for line in _readme_cli_lines() if line.startswith("qibo-client run"))
    monkeypatch.chdir(REPO)
    done = run_cli(capsys, *shlex.split(line)[1:], "--url", url, "--json")
    assert done.code == 0, done.err
    record = done.json()  # stdout holds the command's result and nothing the script printed
    assert record["kind"] == "frequencies" and set(record["frequencies"]) <= {"00", "11"}
    listed = run_cli(capsys, "jobs", "--url", url, "--json").json_lines()
    assert [job["pid"] for job in listed] == [record["pid"]]


def test_the_bell_example_sends_no_job_of_its_own_under_qibo_client_run(
    capsys, url, _isolated_user_state
):
    done = run_cli(capsys, "run", REPO / "examples" / "bell.py", "--url", url, "--json")
    assert done.code == 0, done.err
    assert done.json()["pid"]
    embedded = _isolated_user_state / "data" / "qibo-client" / "local-server"
    assert not embedded.exists()  # the script's own Client(url="local://") never started


@pytest.mark.slow
def test_the_bell_example_still_runs_as_a_script(tmp_path):
    env = {**os.environ, "XDG_DATA_HOME": str(tmp_path / "data")}
    done = subprocess.run(
        [sys.executable, str(REPO / "examples" / "bell.py")],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
        env=env,
    )
    assert done.returncode == 0, done.stderr
    assert len(done.stdout.splitlines()) == 1 and " on numpy: {" in done.stdout
