"""The published qibo-client 0.2.4, unchanged, against ``qibo-client serve``.

The published client is installed from the package index into a virtual
environment of its own, kept between runs in
``~/.cache/qibo-client-tests/published-0.2.4`` (or ``$QIBO_CLIENT_PUBLISHED_VENV``),
and a script runs its whole API in that environment against our server.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import textwrap
import venv
from pathlib import Path

import pytest
import requests
from tests.support.serve import TOKEN1, serve

pytestmark = [pytest.mark.slow, pytest.mark.network]

PUBLISHED = "0.2.4"
COMPLETE = ".qibo-client-tests-complete"

SCRIPT = textwrap.dedent(
    """
    import json
    import sys

    from qibo import Circuit, gates
    from qibo_client import Client
    from qibo_client.exceptions import JobPostServerError

    url, token = sys.argv[1], sys.argv[2]
    circuit = Circuit(2)
    circuit.add(gates.H(0))
    circuit.add(gates.CNOT(0, 1))
    circuit.add(gates.M(0, 1))

    client = Client(token, url)
    job = client.run_circuit(circuit, device="numpy", nshots=100)
    print("PID", job.pid, flush=True)
    result = job.result(wait=0.2)
    frequencies = {str(k): int(v) for k, v in result.frequencies().items()}
    print("FREQUENCIES", json.dumps(frequencies), flush=True)
    print("RESULTS_PATH", job.results_path, flush=True)
    client.print_quota_info()
    client.print_job_info()
    again = client.get_job(job.pid)
    print("FETCHED", again.pid, again.status().name, flush=True)
    print("DELETED", job.delete().status_code, flush=True)
    try:
        client.run_circuit(circuit, device="no-such-device", nshots=10)
    except JobPostServerError as error:
        print("REFUSED", error, flush=True)
    other = client.run_circuit(circuit, device="numpy", nshots=10)
    other.result(wait=0.2, verbose=False)
    print("BULK", json.dumps(client.delete_all_jobs()), flush=True)
    """
)


def _venv_python(folder: Path) -> Path:
    return folder / ("Scripts/python.exe" if os.name == "nt" else "bin/python")


def _clean_env(**extra: str) -> dict[str, str]:
    """Our environment without what would make the venv see our own package."""
    env = {
        k: v
        for k, v in os.environ.items()
        if k not in ("PYTHONPATH", "PYTHONHOME", "VIRTUAL_ENV", "PYTHONSTARTUP")
    }
    return {**env, **extra}


def _installed_version(python: Path) -> str | None:
    if not python.exists():
        return None
    probe = "import importlib.metadata as m, qibo; print(m.version('qibo-client'))"
    done = subprocess.run(
        [str(python), "-c", probe], capture_output=True, text=True, env=_clean_env(), timeout=300
    )
    return done.stdout.strip() if done.returncode == 0 else None


@pytest.fixture(scope="module")
def published_python() -> Path:
    """The python of a venv holding qibo-client 0.2.4; built once, then reused."""
    given = os.environ.get("QIBO_CLIENT_PUBLISHED_VENV")
    folder = Path(
        given or Path.home() / ".cache" / "qibo-client-tests" / f"published-{PUBLISHED}"
    ).expanduser()
    python = _venv_python(folder)
    ready = (folder / COMPLETE).exists() or given is not None
    if ready and _installed_version(python) == PUBLISHED:
        return python
    if given and folder.exists() and any(folder.iterdir()):
        pytest.fail(
            f"QIBO_CLIENT_PUBLISHED_VENV={given} exists but has no qibo-client {PUBLISHED}; "
            "point it at such a venv, or at a missing folder to have one built there"
        )
    shutil.rmtree(folder, ignore_errors=True)  # a half-built cache from an interrupted run
    folder.parent.mkdir(parents=True, exist_ok=True)
    venv.EnvBuilder(with_pip=True, clear=True).create(folder)
    install = [str(python), "-m", "pip", "install", "--disable-pip-version-check", "--quiet"]
    done = subprocess.run(
        [*install, f"qibo-client=={PUBLISHED}"],
        capture_output=True,
        text=True,
        env=_clean_env(),
        timeout=1800,
    )
    if done.returncode != 0:
        shutil.rmtree(folder, ignore_errors=True)
        pytest.fail(f"pip install qibo-client=={PUBLISHED} failed:\n{done.stderr[-3000:]}")
    assert _installed_version(python) == PUBLISHED
    (folder / COMPLETE).write_text(f"qibo-client=={PUBLISHED}\n")
    return python


def test_the_published_client_runs_its_whole_api_against_serve(published_python, tmp_path):
    script = tmp_path / "published_api.py"
    script.write_text(SCRIPT)
    results = tmp_path / "results"
    with serve(tmp_path / "server") as server:
        done = subprocess.run(
            [str(published_python), str(script), server.url, TOKEN1],
            capture_output=True,
            text=True,
            cwd=tmp_path,
            env=_clean_env(RESULTS_BASE_FOLDER=str(results)),
            timeout=300,
        )
        output = done.stdout + done.stderr
        assert done.returncode == 0, output
        lines = {line.split(" ", 1)[0]: line.split(" ", 1)[1] for line in done.stdout.splitlines()}

        pid = lines["PID"]
        frequencies = json.loads(lines["FREQUENCIES"])
        assert sum(frequencies.values()) == 100 and set(frequencies) <= {"00", "11"}
        assert Path(lines["RESULTS_PATH"]) == results / pid / "results.npy"
        assert (results / pid / "results.npy").is_file()
        # print_quota_info and print_job_info (logged as plain tables when not on a terminal)
        assert "User: a@x" in output and "Disk quota left" in output
        assert "numpy" in output and pid in output and "success" in output
        assert lines["FETCHED"] == f"{pid} SUCCESS"
        assert lines["DELETED"] == "200"
        assert "no-such-device" in lines["REFUSED"]
        assert len(json.loads(lines["BULK"])) == 1

        gone = requests.get(
            f"{server.url}/api/jobs/{pid}/", headers={"x-api-token": TOKEN1}, timeout=30
        )
        assert gone.status_code == 404
        assert (
            requests.get(
                f"{server.url}/api/jobs/", headers={"x-api-token": TOKEN1}, timeout=30
            ).json()
            == []
        )
    assert TOKEN1 not in server.output


def test_the_published_client_is_the_one_from_the_index(published_python):
    location = subprocess.run(
        [str(published_python), "-c", "import qibo_client; print(qibo_client.__file__)"],
        capture_output=True,
        text=True,
        env=_clean_env(),
        timeout=120,
    )
    assert location.returncode == 0, location.stderr
    assert Path(sys.prefix) not in Path(location.stdout.strip()).parents
