"""Case 7, a variational loop: SPSA on a 4-qubit ansatz, ours through ``local://`` against Braket.

Each iteration runs two 1000-shot circuits (``drivers/spsa_loop.py``). Ours:
a fresh process makes ``Client("", "local://")`` (default settings) inside
the clock and runs the loop with ``run_circuit(...).result(verbose=False)``;
then, in the same process, the loop with qibo directly (a reference).
Braket: a fresh process of Braket's own venv (``--braket``) makes a
``LocalSimulator`` inside the clock and runs the same loop. The figure per
iteration is the whole loop's wall time over the iterations (the first one,
with the client's or simulator's start, included); the median of the steady
iterations is shown beside it.
"""

from __future__ import annotations

from typing import Any

from harness.context import Bench
from harness.report import Row, median, seconds

LOOP = {"nqubits": 4, "layers": 3, "nshots": 1000}
FULL_ITERATIONS, FULL_REPEATS = 20, 5
SMOKE_ITERATIONS, SMOKE_REPEATS = 3, 1
NEEDS_SERVER = False


def per_iteration(loop: dict[str, Any]) -> float:
    return float(loop["total"]) / len(loop["steps"])


def steady(loops: list[dict[str, Any]]) -> float:
    """The median iteration, leaving out each loop's first."""
    return median([step for loop in loops for step in loop["steps"][1:]] or [0.0])


def run(bench: Bench) -> list[Row]:
    iterations, repeats = (
        (SMOKE_ITERATIONS, SMOKE_REPEATS) if bench.smoke else (FULL_ITERATIONS, FULL_REPEATS)
    )
    args = {**LOOP, "iterations": iterations}
    ours: list[dict[str, Any]] = []
    direct: list[dict[str, Any]] = []
    braket: list[dict[str, Any]] = []
    for _ in range(repeats):
        answer = bench.drive_ours("variational", args)
        ours.append(answer["local"])
        direct.append(answer["direct"])
        if bench.braket is not None:
            braket.append(bench.drive_braket("variational", args)["braket"])
    for label, loops in (("ours local://", ours), ("qibo directly", direct), ("Braket", braket)):
        for loop in loops:
            bench.note(
                f"variational {label}: loop {loop['total']:.3f} s, last cost {loop['cost']:.2f};"
                " iterations ms " + ", ".join(f"{v * 1e3:.1f}" for v in loop["steps"])
            )
    mine = median([per_iteration(loop) for loop in ours])
    reference = (
        f"steady iteration {seconds(steady(ours))}; qibo directly "
        f"{seconds(median([per_iteration(loop) for loop in direct]))}/iteration"
    )
    label = (
        f"7. variational loop ({iterations} SPSA iterations x 2 jobs, "
        f"{LOOP['nqubits']} qubits, {LOOP['nshots']} shots)"
    )
    if not braket:
        return [
            Row(
                label,
                "per iteration, local:// vs Braket LocalSimulator",
                "no local://",
                seconds(mine),
                f"Braket: not run (use --braket); {reference}",
                "-",
                "< 1x Braket (faster)",
                None,
            )
        ]
    theirs = median([per_iteration(loop) for loop in braket])
    return [
        Row(
            label,
            "per iteration, local:// vs Braket LocalSimulator",
            "no local://",
            seconds(mine),
            f"Braket {seconds(theirs)} (steady {seconds(steady(braket))}); ours {reference}",
            f"{mine / theirs:.2f}x Braket",
            "< 1x Braket (faster)",
            mine < theirs,
        )
    ]
