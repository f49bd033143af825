"""Case 5, local overhead: a 20-qubit, 100-gate circuit through ``local://`` versus qibo directly.

One process of ours, warm (qibo imported, the embedded server's worker
started), alternating a direct call of the circuit with
``run_circuit(...).result()`` on ``local://``.
"""

from __future__ import annotations

from harness.context import Bench
from harness.environment import run_driver
from harness.report import Row, median, seconds

FULL = {"nqubits": 20, "ngates": 100, "repeats": 7}
SMOKE = {"nqubits": 8, "ngates": 20, "repeats": 2}
TARGET = 0.10
NEEDS_SERVER = False


def run(bench: Bench) -> list[Row]:
    args = SMOKE if bench.smoke else FULL
    answer = run_driver(
        bench.ours, "local", args, env={"RESULTS_BASE_FOLDER": str(bench.results_dir())}
    )
    direct, local = median(answer["direct"]), median(answer["local"])
    overhead = local / direct - 1.0
    bench.note(
        "local direct qibo: seconds "
        + ", ".join(f"{v:.3f}" for v in answer["direct"])
        + "; local://: seconds "
        + ", ".join(f"{v:.3f}" for v in answer["local"])
    )
    return [
        Row(
            f"5. local:// ({args['nqubits']} qubits, {args['ngates']} gates)",
            "run_circuit().result() vs circuit()",
            "no local://",
            seconds(local),
            f"qibo directly {seconds(direct)}",
            f"{overhead * 100:+.0f}%",
            f"<= +{TARGET * 100:.0f}%",
            overhead <= TARGET,
        )
    ]
