"""Case 5, local overhead: a 20-qubit, 100-gate circuit through ``local://`` versus qibo directly.

One process of ours, warm (qibo imported, the embedded server's worker
started), alternating a direct call of the circuit with
``run_circuit(...).result()`` on ``local://``.
"""

from __future__ import annotations

from harness.context import Bench
from harness.report import Row, median, seconds

FULL = {"nqubits": 20, "ngates": 100, "repeats": 9}
SMOKE = {"nqubits": 8, "ngates": 20, "repeats": 2}
TARGET = 0.10
NEEDS_SERVER = False


def run(bench: Bench) -> list[Row]:
    args = SMOKE if bench.smoke else FULL
    answer = bench.drive_ours("local", args)
    direct, local = median(answer["direct"]), median(answer["local"])
    # Each local:// run is paired with the direct call just before it, so a slow spell of the
    # shared machine weighs on both sides of a pair: the median of the pairs' ratios.
    overhead = median([b / a for a, b in zip(answer["direct"], answer["local"], strict=True)]) - 1
    bench.note(
        "local direct qibo: seconds "
        + ", ".join(f"{v:.3f}" for v in answer["direct"])
        + "; local://: seconds "
        + ", ".join(f"{v:.3f}" for v in answer["local"])
    )
    return [
        Row(
            f"5. local:// ({args['nqubits']} qubits, {args['ngates']} gates)",
            "result() vs circuit(), median of paired ratios",
            "no local://",
            seconds(local),
            f"qibo directly {seconds(direct)}; ratio of medians {local / direct - 1:+.0%}",
            f"{overhead * 100:+.0f}%",
            f"<= +{TARGET * 100:.0f}%",
            overhead <= TARGET,
        )
    ]
