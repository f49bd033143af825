"""Helpers for tests of the local server: circuits, bodies, a scripted worker runner."""

from __future__ import annotations

import os
import time
from typing import Any

from qibo_client.server.core import QiboServer
from qibo_client.server.worker import run_circuit_task

#: The runner the test servers use: the real one, unless the circuit asks for a scripted act.
SCRIPTED_RUNNER = "tests.support.server:scripted_runner"

FINAL = ("success", "error")


def scripted_runner(task: dict[str, Any]) -> dict[str, Any]:
    """Runs in the worker. ``circuit["test_action"]`` picks a misbehaviour, else the real run.

    ``sleep`` (``circuit["seconds"]``), ``crash`` (the process dies), ``raise``
    (prints, then raises), ``allocate`` (``circuit["bytes"]`` in one piece),
    ``report`` (prints the worker's qibo limits and address-space limit as JSON);
    qibo ignores the extra keys when it reads the circuit.
    """
    circuit = task["circuit"]
    action = circuit.get("test_action") if isinstance(circuit, dict) else None
    if action == "crash":
        os._exit(3)
    if action == "allocate":
        block = bytearray(int(circuit["bytes"]))
        print("allocated", len(block))
    if action == "report":
        import json
        import resource

        limits = {
            "QIBO_MAX_QUBITS": os.environ.get("QIBO_MAX_QUBITS"),
            "QIBO_MAX_QUBITS_DM": os.environ.get("QIBO_MAX_QUBITS_DM"),
            "RLIMIT_AS": resource.getrlimit(resource.RLIMIT_AS)[0],
        }
        print(json.dumps(limits))
    if action == "raise":
        print("about to fail")
        raise RuntimeError("scripted failure")
    if action == "sleep":
        time.sleep(float(task["circuit"].get("seconds", 1.0)))
    return run_circuit_task(task)


def bell_raw(measure: bool = True) -> dict[str, Any]:
    from qibo import Circuit, gates

    circuit = Circuit(2)
    circuit.add(gates.H(0))
    circuit.add(gates.CNOT(0, 1))
    if measure:
        circuit.add(gates.M(0, 1))
    return circuit.raw


def wide_raw(nqubits: int) -> dict[str, Any]:
    from qibo import Circuit, gates

    circuit = Circuit(nqubits)
    circuit.add(gates.H(0))
    return circuit.raw


def body(circuit: dict[str, Any] | None = None, **fields: Any) -> dict[str, Any]:
    """A ``POST /api/jobs/`` body; ``fields`` override the defaults."""
    return {
        "circuit": bell_raw() if circuit is None else circuit,
        "nshots": 100,
        "device": "numpy",
        "project": "personal",
        "verbatim": False,
        **fields,
    }


def scripted(action: str, **extra: Any) -> dict[str, Any]:
    """A Bell circuit's raw dict that asks :func:`scripted_runner` for ``action``."""
    return {**bell_raw(), "test_action": action, **extra}


def wait_final(server: QiboServer, token: str, pid: str, timeout: float = 60.0) -> dict[str, Any]:
    """Long-poll the job until it is final; the final job object."""
    deadline = time.monotonic() + timeout
    job = server.get_job(token, pid)
    while job["status"] not in FINAL:
        left = deadline - time.monotonic()
        if left <= 0:
            raise AssertionError(f"job {pid} still {job['status']} after {timeout} s")
        job = server.get_job(token, pid, wait=min(left, 10.0), known_status=job["status"])
    return job


def wait_status(
    server: QiboServer, token: str, pid: str, status: str, timeout: float = 60.0
) -> dict[str, Any]:
    """Long-poll until the job reaches ``status`` (or any final one)."""
    deadline = time.monotonic() + timeout
    job = server.get_job(token, pid)
    while job["status"] != status and job["status"] not in FINAL:
        left = deadline - time.monotonic()
        if left <= 0:
            raise AssertionError(f"job {pid} never reached {status}")
        job = server.get_job(token, pid, wait=min(left, 10.0), known_status=job["status"])
    return job
