"""The published qibo-client 0.2.4 sees a cancelled job end (extension ``cancel``).

A cancelled job ends with status ``error`` (and ``"cancelled": true``, which
the published client ignores): its ``result()`` stops waiting, logs the error
and returns ``None``. Run in the published client's own virtual environment,
as ``test_published_client.py`` does.
"""

from __future__ import annotations

import subprocess
import textwrap
import time

import pytest
import requests
from tests.support.serve import TOKEN1, serve
from tests.support.server import SCRIPTED_RUNNER
from tests.test_published_client import _clean_env, published_python  # noqa: F401 - a fixture

from qibo_client.protocol.wire import cancel_path

pytestmark = [pytest.mark.slow, pytest.mark.network]

SCRIPT = textwrap.dedent(
    """
    import sys
    import time

    from qibo import Circuit, gates
    from qibo_client import Client

    class Sleeping(Circuit):
        @property
        def raw(self):
            return {**super().raw, "test_action": "sleep", "seconds": 120}

    url, token = sys.argv[1], sys.argv[2]
    circuit = Sleeping(1)
    circuit.add(gates.H(0))
    circuit.add(gates.M(0))
    job = Client(token, url).run_circuit(circuit, device="numpy", nshots=10)
    print("PID", job.pid, flush=True)
    started = time.monotonic()
    result = job.result(wait=0.2, verbose=False)
    print("RESULT", result, flush=True)
    print("STATUS", job.status().name, flush=True)
    print("SECONDS", round(time.monotonic() - started, 1), flush=True)
    """
)


def test_the_published_client_sees_a_cancelled_job_end(published_python, tmp_path):  # noqa: F811
    script = tmp_path / "cancelled.py"
    script.write_text(SCRIPT)
    with serve(tmp_path / "server", extra=("--runner", SCRIPTED_RUNNER)) as server:
        process = subprocess.Popen(
            [str(published_python), str(script), server.url, TOKEN1],
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            cwd=tmp_path,
            env=_clean_env(RESULTS_BASE_FOLDER=str(tmp_path / "results")),
        )
        try:
            assert process.stdout is not None
            seen = []
            while not (seen and seen[-1].startswith("PID ")):
                line = process.stdout.readline()
                assert line, "".join(seen)  # the script ended before it printed the pid
                seen.append(line)
            pid = seen[-1].split()[1]
            headers = {"x-api-token": TOKEN1}
            deadline = time.monotonic() + 60
            while (
                requests.get(f"{server.url}/api/jobs/{pid}/", headers=headers, timeout=30).json()[
                    "status"
                ]
                != "running"
            ):
                assert time.monotonic() < deadline
                time.sleep(0.1)
            cancelled = requests.post(
                f"{server.url}/api/{cancel_path(pid)}", headers=headers, timeout=30
            )
            assert cancelled.json()["cancelled"] is True
            output, _ = process.communicate(timeout=60)
        finally:
            process.kill()
    lines = dict(line.split(" ", 1) for line in output.splitlines() if " " in line)
    assert lines["RESULT"] == "None", output
    assert lines["STATUS"] == "ERROR"
    assert float(lines["SECONDS"]) < 30
