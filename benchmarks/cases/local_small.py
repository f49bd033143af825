"""Case 6, a small sampling circuit through ``local://``: per job warm, and the first job.

Fresh processes of ours (qibo and ``qibo_client`` imported, the circuit
built, before any clock). Each makes ``Client("", "local://")`` and runs its
first job inside one clock, then alternates the circuit in qibo directly
with ``run_circuit(...).result(verbose=False)`` through ``local://``. Every
other process calls the circuit in qibo first, for qibo's own first call.
"""

from __future__ import annotations

from typing import Any

from harness.context import Bench
from harness.report import Row, median, seconds

CIRCUIT = {"nqubits": 4, "layers": 3, "nshots": 1000}
#: Fresh processes (half start with local://, half with qibo), warm pairs in each.
FULL_PROCESSES, FULL_PAIRS = 8, 30
SMOKE_PROCESSES, SMOKE_PAIRS = 1, 3
WARM_TARGET = 2.0
FIRST_TARGET = 5.0
NEEDS_SERVER = False


def run(bench: Bench) -> list[Row]:
    processes, pairs = (
        (SMOKE_PROCESSES, SMOKE_PAIRS) if bench.smoke else (FULL_PROCESSES, FULL_PAIRS)
    )
    answers: list[dict[str, Any]] = []
    for index in range(processes):
        first = "local" if index % 2 == 0 else "direct"
        answers.append(bench.drive_ours("local_small", {**CIRCUIT, "first": first, "pairs": pairs}))
    direct = [v for a in answers for v in a["direct"]]
    local = [v for a in answers for v in a["local"]]
    # Each local:// job is paired with the direct call just before it, in the same process.
    warm = median([b / a for a, b in zip(direct, local, strict=True)])
    # The first job of a process whose qibo has not run a circuit yet (the client made just
    # before it, outside the job's clock) against that process's warm job; and the same
    # with the client's making inside the clock. qibo's own first call against its warm one,
    # in the other processes, says what any first circuit of a process costs.
    local_first = [a for a in answers if a["first"] == "local"]
    firsts = [a["first_job"] for a in local_first]
    first_ratio = median([a["first_job"] / median(a["local"]) for a in local_first])
    with_client = median([a["first_local"] / median(a["local"]) for a in local_first])
    made = median([a["client_made"] for a in answers])
    direct_first = [a for a in answers if "first_direct" in a]
    qibo_firsts = [a["first_direct"] for a in direct_first]
    qibo_ratio = (
        median([a["first_direct"] / median(a["direct"]) for a in direct_first])
        if direct_first
        else None
    )
    for number, answer in enumerate(answers, 1):
        bench.note(
            f"local small, process {number} (first: {answer['first']}): "
            + (
                f"qibo's first call {answer['first_direct'] * 1e3:.1f} ms, "
                if "first_direct" in answer
                else ""
            )
            + f"Client made {answer['client_made'] * 1e3:.1f} ms, first local:// job (with it)"
            f" {answer['first_local'] * 1e3:.1f} ms; warm direct ms "
            + ", ".join(f"{v * 1e3:.2f}" for v in answer["direct"])
            + "; warm local:// ms "
            + ", ".join(f"{v * 1e3:.2f}" for v in answer["local"])
        )
    label = (
        f"6. local:// small ({CIRCUIT['nqubits']} qubits, {CIRCUIT['layers']} layers, "
        f"{CIRCUIT['nshots']} shots)"
    )
    qibo_first = (
        f"; qibo's own first call {seconds(median(qibo_firsts))} = {qibo_ratio:.1f}x its warm call"
        if qibo_firsts and qibo_ratio is not None
        else ""
    )
    return [
        Row(
            label,
            "warm job vs circuit(nshots), median of paired ratios",
            "no local://",
            seconds(median(local)),
            f"qibo directly {seconds(median(direct))}; ratio of medians "
            f"{median(local) / median(direct):.1f}x",
            f"{warm:.1f}x qibo",
            f"<= {WARM_TARGET:g}x",
            warm <= WARM_TARGET,
        ),
        Row(
            label,
            "first job of a fresh process (Client made just before) vs a warm one",
            "no local://",
            seconds(median(firsts)),
            f"warm job {seconds(median(local))}; Client(\"\", \"local://\") {seconds(made)}, "
            f"with it {with_client:.1f}x warm{qibo_first}",
            f"{first_ratio:.1f}x warm",
            f"<= {FIRST_TARGET:g}x",
            first_ratio <= FIRST_TARGET,
        ),
    ]
