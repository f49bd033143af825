"""The variational loop on Amazon Braket's ``LocalSimulator``, in Braket's own environment.

``python braket_task.py variational`` (its arguments, JSON, in
``$QIBO_BENCH_ARGS``) runs ``spsa_loop`` with the circuits built in Braket
and prints one JSON line, as ``client_task.py`` does. Braket is imported
before the clock starts; the simulator is made inside it, as the client is
on our side.
"""

from __future__ import annotations

import json
import os
import sys
import time
from typing import Any

import spsa_loop

MARK = "BENCH-RESULT "
ARGS_ENV = "QIBO_BENCH_ARGS"


def task_variational(args: dict[str, Any]) -> dict[str, Any]:
    from braket.circuits import Circuit
    from braket.devices import LocalSimulator

    nqubits, layers, nshots = args["nqubits"], args["layers"], args["nshots"]
    gates = spsa_loop.ansatz(nqubits, layers)

    def build(angles: list[float]) -> Any:
        circuit = Circuit()
        for name, a, b in gates:
            if name == "ry":
                circuit.ry(a, angles[b])
            else:
                circuit.cz(a, b)
        return circuit  # Braket measures every qubit when the circuit names none

    started = time.perf_counter()
    device = LocalSimulator()

    def evaluate(angles: list[float]) -> dict[str, int]:
        counts = dict(device.run(build(angles), shots=nshots).result().measurement_counts)
        if sum(counts.values()) != nshots:
            raise RuntimeError(f"{sum(counts.values())} shots came back, not {nshots}")
        return counts

    loop = spsa_loop.run(evaluate, spsa_loop.parameter_count(gates), args["iterations"])
    loop["total"] = time.perf_counter() - started
    return {"braket": loop}


TASKS = {"variational": task_variational}


def main() -> None:
    task, raw = sys.argv[1], os.environ.pop(ARGS_ENV)
    answer = TASKS[task](json.loads(raw))
    print(MARK + json.dumps(answer), flush=True)


if __name__ == "__main__":
    main()
