"""A worker process of the local server: imports qibo once, then runs job after job.

Started by :class:`qibo_client.server.pool.WorkerProcess` as
``python -m qibo_client.server.worker`` (a fresh interpreter that does not
re-run the user's script, unlike multiprocessing's spawn). It reads an
authentication key on stdin, listens on a private
``multiprocessing.connection`` address that it prints on stdout, and then
speaks small dicts over that connection: a task in (the circuit's raw dict
or OpenQASM text, the shots, a folder), a status out. Results go straight to
disk. Circuits are rebuilt here, not in the server: qibo's QASM reader
evaluates gate arguments with ``eval``, and a worker is a process the server
can kill and replace. Each circuit is checked again as data before qibo reads
it (a job queued by an older server was never checked), and once warm the
worker limits its own address space (``RLIMIT_AS``), so a job that needs
more memory than the server allowed fails with ``MemoryError`` instead of
taking the machine's memory.
"""

from __future__ import annotations

import contextlib
import importlib
import io
import os
import signal
import sys
import time
import traceback
from collections.abc import Callable
from contextlib import redirect_stderr, redirect_stdout
from multiprocessing.connection import Connection, Listener
from pathlib import Path
from typing import Any

from qibo_client.protocol.wire import RESULTS_FILE
from qibo_client.server.circuit_checks import check_qasm, check_raw_circuit
from qibo_client.server.devices import chip_of_backend

#: How much of a job's stdout and stderr is kept (the end of it).
LOG_LIMIT = 64 * 1024
#: The gate bound applied when a task names none.
DEFAULT_MAX_GATES = 50_000

Runner = Callable[[dict[str, Any]], dict[str, Any]]


def rebuild_circuit(
    circuit: dict[str, Any] | str,
    max_qubits: int | None = None,
    max_gates: int = DEFAULT_MAX_GATES,
) -> Any:
    """The qibo Circuit of a submission: ``Circuit.from_dict`` or, for text, ``Circuit.from_qasm``.

    The circuit is checked as data first (:mod:`~qibo_client.server.circuit_checks`);
    ``max_qubits`` is checked against the parsed circuit: the server counted a
    QASM text's qubits without parsing it.
    """
    if isinstance(circuit, str):
        check_qasm(circuit, max_gates=max_gates)
    else:
        check_raw_circuit(circuit, max_gates=max_gates)
    import qibo

    if isinstance(circuit, str):
        rebuilt = qibo.Circuit.from_qasm(circuit)
    else:
        rebuilt = qibo.Circuit.from_dict(circuit)
    if max_qubits is not None and rebuilt.nqubits > max_qubits:
        raise ValueError(
            f"the circuit has {rebuilt.nqubits} qubits but the device simulates at most "
            f"{max_qubits}"
        )
    return rebuilt


def run_circuit_task(task: dict[str, Any]) -> dict[str, Any]:
    """The default runner: rebuild the circuit, run it, dump the result into ``workdir``.

    Returns ``{"frequencies": {...}}`` for measured circuits, else ``{"frequencies": None}``;
    on an emulated chip also ``"transpiled_circuit"`` (:mod:`~qibo_client.server.emulator`).
    """
    import qibo
    from qibo.result import MeasurementOutcomes

    chip = chip_of_backend(task["backend"])
    backend = "numpy" if chip is not None else task["backend"]
    if qibo.get_backend().name != backend:
        qibo.set_backend(backend)
    circuit = rebuild_circuit(
        task["circuit"], task.get("max_qubits"), task.get("max_gates", DEFAULT_MAX_GATES)
    )
    transpiled = None
    if chip is not None:
        from qibo_client.server.emulator import run_on_chip

        circuit, transpiled = run_on_chip(circuit, task["circuit"], chip)
    nshots = task.get("nshots")
    result = circuit(nshots=nshots) if nshots is not None else circuit()
    frequencies = None
    if isinstance(result, MeasurementOutcomes):
        # Draw the shots before dumping: a file without samples is re-sampled on
        # every load, and would disagree with the job's own `frequencies`.
        result.samples()
        frequencies = {str(k): int(v) for k, v in result.frequencies().items()}
    result.dump(str(Path(task["workdir"]) / RESULTS_FILE))
    if transpiled is None:
        return {"frequencies": frequencies}
    return {"frequencies": frequencies, "transpiled_circuit": transpiled}


def _load_runner(path: str | None) -> Runner:
    if not path:
        return run_circuit_task
    module, _, name = path.partition(":")
    return getattr(importlib.import_module(module), name)


def _warm_up() -> str:
    """Import qibo and run a tiny circuit once, so the first real job starts warm."""
    import logging

    import qibo
    from qibo import gates

    logging.getLogger("qibo.config").setLevel(logging.WARNING)
    qibo.set_backend("numpy")
    circuit = qibo.Circuit(2)
    circuit.add(gates.H(0))
    circuit.add(gates.CNOT(0, 1))
    circuit.add(gates.M(0, 1))
    circuit(nshots=8).frequencies()
    return str(qibo.__version__)


def _address_space() -> int | None:
    """This process's virtual memory size in bytes (Linux), else ``None``."""
    try:
        with open("/proc/self/statm", encoding="ascii") as handle:
            pages = int(handle.read().split()[0])
    except (OSError, ValueError, IndexError):
        return None
    return pages * os.sysconf("SC_PAGE_SIZE")


def limit_memory(budget: int | None) -> int | None:
    """Cap this process's address space at what it holds now plus ``budget`` bytes.

    Returns the limit set, or ``None`` where it cannot be set (no ``resource``
    module, no ``/proc``), and then the submission bounds alone hold.
    """
    if not budget:
        return None
    try:
        import resource
    except ImportError:  # pragma: no cover - Windows
        return None
    now = _address_space()
    if now is None:
        return None
    limit = now + int(budget)
    _, hard = resource.getrlimit(resource.RLIMIT_AS)
    if hard != resource.RLIM_INFINITY:
        limit = min(limit, hard)
    resource.setrlimit(resource.RLIMIT_AS, (limit, hard))
    return limit


def _run(runner: Runner, task: dict[str, Any]) -> dict[str, Any]:
    out, err = io.StringIO(), io.StringIO()
    started = time.perf_counter()
    answer: dict[str, Any] = {"event": "done", "pid": task["pid"], "ok": True}
    try:
        with redirect_stdout(out), redirect_stderr(err):
            answer.update(runner(task))
    except MemoryError:
        answer["ok"] = False
        answer["error"] = (
            "MemoryError: the job needed more memory than this server lets a worker use; "
            "use fewer qubits or shots"
        )
        err.write(answer["error"] + "\n")
    except Exception as error:
        answer["ok"] = False
        answer["error"] = f"{type(error).__name__}: {error}"
        err.write(traceback.format_exc())
    answer["runtime"] = time.perf_counter() - started
    answer["stdout"] = out.getvalue()[-LOG_LIMIT:]
    answer["stderr"] = err.getvalue()[-LOG_LIMIT:]
    return answer


def _run_many(runner: Runner, tasks: list[dict[str, Any]]) -> dict[str, Any]:
    """Run a batch of tiny tasks one after another; their answers, in order, in one message.

    Each task has its own folder, made here (the server's process is spared it),
    and emptied of a result an earlier batch left there.
    """
    answers = []
    for task in tasks:
        folder = Path(task["workdir"])
        folder.mkdir(mode=0o700, exist_ok=True)
        with contextlib.suppress(FileNotFoundError):
            (folder / RESULTS_FILE).unlink()
        answers.append(_run(runner, task))
    return {"event": "done_many", "answers": answers}


def serve(conn: Connection) -> None:
    """Answer tasks until told to stop or the server goes away."""
    init = conn.recv()
    for entry in reversed(init.get("sys_path", [])):
        if entry not in sys.path:
            sys.path.insert(0, entry)
    runner = _load_runner(init.get("runner"))
    version = _warm_up()
    limit = limit_memory(init.get("memory_budget"))
    conn.send({"event": "ready", "qibo_version": version, "pid": os.getpid(), "memory": limit})
    while True:
        try:
            message = conn.recv()
        except (EOFError, OSError):
            return
        op = message.get("op")
        try:
            if op == "run":
                conn.send({"event": "running", "pid": message["pid"]})
                conn.send(_run(runner, message))
            elif op == "run_many":
                conn.send(_run_many(runner, message["tasks"]))
            else:
                return
        except OSError:  # the server went away (killed): nobody to answer
            return


def main() -> None:
    # Ctrl-C in the user's terminal reaches the whole process group; the
    # server decides when a worker stops, not the keyboard.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    authkey = bytes.fromhex(sys.stdin.readline().strip())
    with Listener(authkey=authkey) as listener:
        sys.stdout.write(f"{listener.address}\n")
        sys.stdout.flush()
        os.dup2(sys.stderr.fileno(), sys.stdout.fileno())
        conn = listener.accept()
    with conn:
        serve(conn)


if __name__ == "__main__":
    main()
