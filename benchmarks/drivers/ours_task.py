"""Tasks only our client can do, each run in a fresh interpreter of this repository's environment.

``python ours_task.py TASK`` (its arguments, JSON, in ``$QIBO_BENCH_ARGS``)
does one task on ``local://`` or on the in-process server and prints one JSON
line on stdout, as ``client_task.py`` does. qibo and ``qibo_client`` are
imported and the circuits built before any clock starts: a user's script has
done that before it asks for a job.
"""

from __future__ import annotations

import json
import os
import random
import statistics
import sys
import tempfile
import time
from typing import Any

import spsa_loop
from client_task import ARGS_ENV, MARK


def _sampling_circuit(qibo: Any, angles: list[float], nqubits: int, layers: int) -> Any:
    """The variational ansatz of ``spsa_loop`` in qibo, measured on every qubit."""
    from qibo import gates

    circuit = qibo.Circuit(nqubits)
    for name, a, b in spsa_loop.ansatz(nqubits, layers):
        circuit.add(gates.RY(a, theta=angles[b]) if name == "ry" else gates.CZ(a, b))
    circuit.add(gates.M(*range(nqubits)))
    return circuit


def _counts(result: Any, nshots: int) -> dict[str, int]:
    counts = {str(k): int(v) for k, v in result.frequencies().items()}
    if sum(counts.values()) != nshots:
        raise RuntimeError(f"{sum(counts.values())} shots came back, not {nshots}")
    return counts


def task_local(args: dict[str, Any]) -> dict[str, Any]:
    """A circuit called directly in qibo versus through ``local://``, alternating, warm."""
    import qibo
    from qibo import gates

    from qibo_client import Client

    qibo.set_backend("numpy")
    rng = random.Random(args.get("seed", 7))
    nqubits, ngates = args["nqubits"], args["ngates"]
    circuit = qibo.Circuit(nqubits)
    for index in range(ngates):
        if index % 4 == 3:
            a, b = rng.sample(range(nqubits), 2)
            circuit.add(gates.CNOT(a, b))
        else:
            circuit.add(gates.U3(rng.randrange(nqubits), *(rng.uniform(0, 3.14) for _ in range(3))))
    direct: list[float] = []
    local: list[float] = []
    with Client("", "local://") as client:
        client.run_circuit(circuit, device="numpy").result(verbose=False)  # warm the worker
        circuit()  # and this process
        for _ in range(args["repeats"]):
            started = time.perf_counter()
            state = circuit()
            state.state()
            direct.append(time.perf_counter() - started)
            started = time.perf_counter()
            result = client.run_circuit(circuit, device="numpy").result(verbose=False)
            result.state()
            local.append(time.perf_counter() - started)
    return {"direct": direct, "local": local}


def task_local_small(args: dict[str, Any]) -> dict[str, Any]:
    """A small sampling circuit: the first ``local://`` job of this process, then warm pairs.

    ``first`` says what this fresh process does first: ``"local"`` (the
    client is made and its first job run inside the clock) or ``"direct"``
    (qibo's own first call, then the client's first job). Then ``pairs``
    times: the circuit in qibo directly, and through ``local://``.
    """
    import qibo

    from qibo_client import Client

    qibo.set_backend("numpy")
    nqubits, layers, nshots = args["nqubits"], args["layers"], args["nshots"]
    rng = random.Random(5)
    nparams = spsa_loop.parameter_count(spsa_loop.ansatz(nqubits, layers))
    circuit = _sampling_circuit(qibo, [rng.uniform(0, 3) for _ in range(nparams)], nqubits, layers)
    answer: dict[str, Any] = {"first": args["first"]}

    def direct_call() -> float:
        started = time.perf_counter()
        _counts(circuit(nshots=nshots), nshots)
        return time.perf_counter() - started

    def local_call(client: Any) -> float:
        started = time.perf_counter()
        job = client.run_circuit(circuit, device="numpy", nshots=nshots)
        _counts(job.result(verbose=False), nshots)
        return time.perf_counter() - started

    if args["first"] == "direct":
        answer["first_direct"] = direct_call()
    started = time.perf_counter()
    client = Client("", "local://")
    answer["client_made"] = time.perf_counter() - started
    answer["first_job"] = local_call(client)
    answer["first_local"] = answer["client_made"] + answer["first_job"]
    for _ in range(args.get("warmup", 2)):
        direct_call()
        local_call(client)
    answer["direct"], answer["local"] = [], []
    for _ in range(args["pairs"]):
        answer["direct"].append(direct_call())
        answer["local"].append(local_call(client))
    client.close()
    return answer


def task_variational(args: dict[str, Any]) -> dict[str, Any]:
    """The SPSA loop of ``spsa_loop`` through ``local://`` (the client made inside the clock),
    then the same loop with qibo directly, in this process."""
    import qibo

    from qibo_client import Client

    qibo.set_backend("numpy")
    nqubits, layers, nshots = args["nqubits"], args["layers"], args["nshots"]
    nparams = spsa_loop.parameter_count(spsa_loop.ansatz(nqubits, layers))

    def build(angles: list[float]) -> Any:
        return _sampling_circuit(qibo, angles, nqubits, layers)

    started = time.perf_counter()
    client = Client("", "local://")

    def through_local(angles: list[float]) -> dict[str, int]:
        job = client.run_circuit(build(angles), device="numpy", nshots=nshots)
        return _counts(job.result(verbose=False), nshots)

    local = spsa_loop.run(through_local, nparams, args["iterations"])
    local["total"] = time.perf_counter() - started
    client.close()

    started = time.perf_counter()
    direct = spsa_loop.run(
        lambda angles: _counts(build(angles)(nshots=nshots), nshots), nparams, args["iterations"]
    )
    direct["total"] = time.perf_counter() - started
    return {"local": local, "direct": direct}


def _bell(qibo: Any, index: int) -> Any:
    from qibo import gates

    circuit = qibo.Circuit(2)
    circuit.add(gates.RX(0, theta=0.001 * index))
    circuit.add(gates.H(0))
    circuit.add(gates.CNOT(0, 1))
    circuit.add(gates.M(0, 1))
    return circuit


def _server_pace(
    server_class: Any, workers: int, bodies: list[dict[str, Any]], *, lane: bool = False
) -> float:
    """Seconds for a fresh, warm in-process server to take every body and answer its counts.

    ``lane``: the server ``local://`` makes (small jobs run in this process).
    """
    token = "bench-pace"
    folder = tempfile.mkdtemp(prefix="qibo-pace-")
    server = server_class(folder, workers=workers, in_process=lane, keep=not lane)
    try:
        server.start()
        server.add_user(token)
        server.submit(token, bodies[0])  # the workers import qibo: not part of the pace
        server.wait_idle(timeout=120)
        started = time.perf_counter()
        pids = [server.submit(token, body)["pid"] for body in bodies]
        if not server.wait_idle(timeout=600):
            raise RuntimeError("the server did not finish the jobs in 600 s")
        counts = [server.get_job(token, pid)["frequencies"] for pid in pids]
        seconds = time.perf_counter() - started
    finally:
        server.remove_data()
    nshots = bodies[0]["nshots"]
    whole = sum(1 for c in counts if c and sum(c.values()) == nshots)
    if whole != len(bodies):
        raise RuntimeError(f"{whole} of {len(bodies)} jobs answered their counts whole")
    return seconds


def task_server_pace(args: dict[str, Any]) -> dict[str, Any]:
    """Tiny jobs: qibo in a loop, the in-process ``QiboServer`` (by worker count), ``local://``.

    Interleaved repeat by repeat in this one process. The server's figure is
    from the first submission to every job's counts read back from its job
    object; ``local://``'s is ``run_circuits`` then ``results`` (our public
    batch API), with the default settings of ``Client("", "local://")``.
    """
    import qibo

    from qibo_client import Client
    from qibo_client.server.core import QiboServer

    qibo.set_backend("numpy")
    count, nshots = args["n"], args["nshots"]
    circuits = [_bell(qibo, index) for index in range(count)]
    bodies = [
        {"circuit": c.raw, "nshots": nshots, "device": "numpy", "project": "personal",
         "verbatim": False}
        for c in circuits
    ]  # fmt: skip
    found: dict[str, list[float]] = {"qibo": [], "local": []}
    found.update({f"server {w}": [] for w in args["workers"]})
    found["server lane"] = []
    with Client("", "local://") as client:
        _counts(
            client.run_circuit(circuits[0], "numpy", nshots=nshots).result(verbose=False), nshots
        )
        for _ in range(args["repeats"]):
            started = time.perf_counter()
            for circuit in circuits:
                _counts(circuit(nshots=nshots), nshots)
            found["qibo"].append(time.perf_counter() - started)
            for workers in args["workers"]:
                found[f"server {workers}"].append(_server_pace(QiboServer, workers, bodies))
            found["server lane"].append(_server_pace(QiboServer, 1, bodies, lane=True))
            client.delete_all_jobs()
            started = time.perf_counter()
            jobs = client.run_circuits(circuits, device="numpy", nshots=nshots)
            results = client.results(jobs, verbose=False)
            found["local"].append(time.perf_counter() - started)
            for result in results:
                _counts(result, nshots)
    return {"seconds": found, "median": {k: statistics.median(v) for k, v in found.items()}}


TASKS = {
    "local": task_local,
    "local_small": task_local_small,
    "variational": task_variational,
    "server_pace": task_server_pace,
}


def main() -> None:
    task, raw = sys.argv[1], os.environ.pop(ARGS_ENV)
    answer = TASKS[task](json.loads(raw))
    print(MARK + json.dumps(answer), flush=True)


if __name__ == "__main__":
    main()
