"""The contrib/ plugins, installed into this venv: discovered through entry points, working.

Each check runs in a fresh interpreter, because entry points are read once
per process and the packages are installed by this very test.
"""

from __future__ import annotations

import ast
import textwrap

import pytest
from tests.support.contrib import (
    CONTRIB,
    ensure_installed,
    json_lines,
    local_server_available,
    run_python,
)

pytestmark = pytest.mark.slow

needs_local_server = pytest.mark.skipif(
    not local_server_available(),
    reason="the local:// transport (qibo_client/adapters/local_transport.py) is not there yet",
)


@pytest.fixture(scope="module", autouse=True)
def _installed() -> None:
    ensure_installed("qibo-client-jsonl")
    ensure_installed("qibo-client-backend")


def test_both_plugins_are_discovered_through_the_entry_point_group() -> None:
    code = textwrap.dedent(
        """
        from qibo_client.bootstrap import build_renderer
        from qibo_client.plugins import get_plugin_manager, list_plugins, renderer_plugins
        from qibo_client_jsonl import JsonLinesRenderer

        assert type(build_renderer("jsonl")) is JsonLinesRenderer
        # no detect function: chosen by name only, never automatically
        print("DETECT", [p.detect for p in renderer_plugins() if p.name == "jsonl"])
        rows = {(p.kind, p.name): p.package for p in list_plugins()}
        print("JSONL", rows[("renderer", "jsonl")])
        print("BACKEND", get_plugin_manager().get_plugin("qibo_backend").__name__)
        """
    )
    done = run_python(code)
    assert done.returncode == 0, done.stderr
    assert "JSONL qibo-client-jsonl 0.1.0" in done.stdout
    assert "DETECT [None]" in done.stdout
    assert "BACKEND qibo_client_backend.plugin" in done.stdout


def test_qibo_client_plugins_lists_the_built_ins_and_both_contrib_plugins() -> None:
    done = run_python(
        "import sys; from qibo_client.cli.main import main; sys.exit(main(['plugins']))"
    )
    assert done.returncode == 0, done.stderr
    rows = {tuple(line.split()[:3]) for line in done.stdout.splitlines()[2:]}
    for row in [
        ("transport", "http", "qibo-client"),
        ("transport", "local", "qibo-client"),
        ("renderer", "rich", "qibo-client"),
        ("renderer", "logging", "qibo-client"),
        ("result", "store", "filesystem"),
        ("renderer", "jsonl", "qibo-client-jsonl"),
        ("plugin", "qibo_backend", "qibo-client-backend"),
    ]:
        assert row in rows, (row, done.stdout)


@needs_local_server
def test_a_local_job_emits_json_lines() -> None:
    code = textwrap.dedent(
        """
        from qibo import Circuit, gates
        from qibo_client import Client

        circuit = Circuit(2)
        circuit.add(gates.H(0))
        circuit.add(gates.CNOT(0, 1))
        circuit.add(gates.M(0, 1))
        with Client("anything", "local://") as client:
            result = client.run_circuit(circuit, device="numpy", nshots=50).result()
            client.print_job_info()
        """
    )
    done = run_python(code, env={"QIBO_CLIENT_UI": "jsonl"})
    assert done.returncode == 0, done.stderr
    events = json_lines(done.stdout)
    kinds = [event["event"] for event in events]
    assert kinds[0] == "progress"
    assert "finish" in kinds and "jobs" in kinds
    finish = next(event for event in events if event["event"] == "finish")
    assert finish["status"] == "success"
    assert all(event["ts"].endswith("Z") for event in events)
    jobs = next(event for event in events if event["event"] == "jobs")
    assert [job["pid"] for job in jobs["jobs"]] == [finish["pid"]]
    assert "anything" not in done.stdout


@needs_local_server
def test_qibo_set_backend_runs_a_bell_circuit_on_the_local_server() -> None:
    code = textwrap.dedent(
        """
        import qibo
        from qibo import Circuit, gates

        qibo.set_backend("qibo-client-backend", verbose=False)
        backend = qibo.get_backend()
        circuit = Circuit(2)
        circuit.add(gates.H(0))
        circuit.add(gates.CNOT(0, 1))
        circuit.add(gates.M(0, 1))
        frequencies = circuit(nshots=100).frequencies()
        print("BACKEND", backend)
        print("JOB", backend.client.pid)
        print("FREQ", dict(frequencies))
        backend.close()
        """
    )
    done = run_python(code, env={"QIBO_CLIENT_URL": "local://", "QIBO_CLIENT_DEVICE": "numpy"})
    assert done.returncode == 0, done.stderr
    lines = dict(line.split(" ", 1) for line in done.stdout.splitlines() if " " in line)
    assert lines["BACKEND"] == "qibo-client-backend (numpy)"
    assert lines["JOB"] not in ("", "None")
    frequencies = ast.literal_eval(lines["FREQ"])
    assert sum(frequencies.values()) == 100
    assert set(frequencies) <= {"00", "11"}


def test_the_contrib_packages_own_tests_pass_installed() -> None:
    code = (
        "import sys, pytest\n"
        f"sys.exit(pytest.main(['-q', '-p', 'no:cacheprovider', '{CONTRIB / 'qibo-client-jsonl'}',"
        f" '{CONTRIB / 'qibo-client-backend'}']))\n"
    )
    done = run_python(code)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "skipped" not in done.stdout.splitlines()[-1], done.stdout
