"""Helpers for tests of the local server: circuits, bodies, a scripted worker runner."""

from __future__ import annotations

import os
import time
from pathlib import Path
from typing import Any

from qibo_client.server.core import EXTENSIONS, QiboServer
from qibo_client.server.worker import run_circuit_task

#: The runner the test servers use: the real one, unless the circuit asks for a scripted act.
SCRIPTED_RUNNER = "tests.support.server:scripted_runner"

FINAL = ("success", "error")
#: The X-Qibo-Extensions header every answer of the server carries.
ANNOUNCED = ", ".join(EXTENSIONS)


def scripted_runner(task: dict[str, Any]) -> dict[str, Any]:
    """Runs in the worker. ``circuit["test_action"]`` picks a misbehaviour, else the real run.

    ``sleep`` (``circuit["seconds"]``; with ``circuit["pidfile"]``, the worker's pid
    is written there first), ``crash`` (the process dies), ``raise``
    (prints, then raises), ``allocate`` (``circuit["bytes"]`` in one piece),
    ``report`` (prints the worker's qibo limits and address-space limit as JSON),
    ``fill`` (fills the disk at ``circuit["path"]``, then prints 60 kB and runs);
    qibo ignores the extra keys when it reads the circuit.
    """
    circuit = task["circuit"]
    action = circuit.get("test_action") if isinstance(circuit, dict) else None
    if action == "crash":
        os._exit(3)
    if action == "fill":
        fill_disk(Path(circuit["path"]))
        print("x" * 60_000)
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
    if circuit.get("pidfile") if isinstance(circuit, dict) else None:
        Path(circuit["pidfile"]).write_text(str(os.getpid()))
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


def process_gone(pid: int) -> bool:
    """True once process ``pid`` has ended (a zombie waiting to be reaped counts as ended)."""
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (FileNotFoundError, ProcessLookupError, IndexError):
        return True
    return state in ("Z", "X")


def wait_gone(pid: int, timeout: float) -> float:
    """Seconds until process ``pid`` ended; AssertionError after ``timeout``."""
    started = time.monotonic()
    while not process_gone(pid):
        if time.monotonic() - started > timeout:
            raise AssertionError(f"process {pid} still alive after {timeout} s")
        time.sleep(0.01)
    return time.monotonic() - started


def wait_for_file(path: Path, timeout: float = 60.0) -> str:
    """The text of ``path`` once it exists (a worker writes its pid there)."""
    deadline = time.monotonic() + timeout
    while not path.exists() or not path.read_text():
        if time.monotonic() > deadline:
            raise AssertionError(f"{path} never appeared")
        time.sleep(0.02)
    return path.read_text()


def fill_disk(path: Path) -> None:
    """Write ``path`` until the disk holding it has no room left."""
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
    try:
        for size in (1 << 20, 1 << 12, 1):
            try:
                while True:
                    os.write(descriptor, b"\0" * size)
            except OSError:
                continue
    finally:
        os.close(descriptor)
