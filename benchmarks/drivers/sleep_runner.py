"""A server-side job runner for the benchmarks: sleep first when the circuit asks, then run it.

The local server runs it in its worker processes (``--runner
sleep_runner:run``). A circuit whose raw dict carries ``"bench_sleep":
<seconds>`` stands for a job of that length without burning a core for it;
qibo ignores the extra key when it reads the circuit.
"""

from __future__ import annotations

import time
from typing import Any

from qibo_client.server.worker import run_circuit_task


def run(task: dict[str, Any]) -> dict[str, Any]:
    seconds = float(task["circuit"].get("bench_sleep", 0.0))
    if seconds > 0:
        time.sleep(seconds)
    return run_circuit_task(task)
