"""Case 1, big results: ``result()`` of a state vector of 2^20, 2^22 and 2^24 amplitudes.

Wall time and peak RSS of ``result()`` (download, extract, load) on a job
that is already done, each client in a fresh process per repeat; the floor is
``curl`` of the same download piped into ``tar xz``.
"""

from __future__ import annotations

import os
import random
import shutil
import subprocess
import tempfile
import time
from typing import Any

from harness.context import Bench
from harness.report import Row, median, mib, seconds, times

#: qubits -> repeats of (0.2.4, ours and the floor). 0.2.4 takes minutes at 2^24: once.
FULL = {20: (3, 5), 22: (2, 3), 24: (1, 3)}
SMOKE = {8: (1, 1)}
TIMES_FASTER = 50.0
#: ours at most this many times the ``curl | tar xz`` floor: under it.
FLOOR_SLACK = 1.0
RSS_SLACK_MIB = 100


def state_circuit(nqubits: int) -> Any:
    """A product state of random single-qubit rotations: amplitudes that do not compress."""
    import qibo
    from qibo import gates

    rng = random.Random(nqubits)
    circuit = qibo.Circuit(nqubits)
    for qubit in range(nqubits):
        circuit.add(gates.U3(qubit, *(rng.uniform(0.1, 3.0) for _ in range(3))))
    return circuit


def floor_seconds(bench: Bench, pid: str) -> float:
    """``curl URL | tar xz`` into a fresh folder: the least a download-and-extract can take."""
    folder = bench.results_dir()
    handle, header_file = tempfile.mkstemp(dir=bench.scratch)
    with os.fdopen(handle, "w", encoding="ascii") as header:  # keeps the token off ps
        header.write(f"x-api-token: {bench.server.token}\n")
    url = f"{bench.server.url}/api/jobs/{pid}/download/"
    pipeline = f'curl -sSf -H @"{header_file}" "{url}" | tar xzf - -C "{folder}"'
    try:
        started = time.perf_counter()
        subprocess.run(["bash", "-o", "pipefail", "-c", pipeline], check=True)
        return time.perf_counter() - started
    finally:
        os.unlink(header_file)
        shutil.rmtree(folder, ignore_errors=True)


def run(bench: Bench) -> list[Row]:
    sizes = SMOKE if bench.smoke else FULL
    rows: list[Row] = []
    client = bench.client()
    for nqubits, repeats in sizes.items():
        size_mib = 2**nqubits * 16 / 2**20
        size = f"{size_mib:g} MiB" if size_mib >= 1 else f"{2**nqubits * 16 // 1024} KiB"
        label = f"1. big result 2^{nqubits} ({size})"
        job = client.run_circuit(state_circuit(nqubits), device="numpy")
        job.wait(verbose=False)
        bench.log(f"  2^{nqubits}: job done; measuring 0.2.4 {repeats[0]}x, ours {repeats[1]}x")
        args = {"url": bench.server.url, "token": bench.server.token, "pid": job.pid}
        runs: dict[str, list[dict[str, Any]]] = {"published": [], "ours": []}
        floors = []
        for index in range(max(repeats)):
            for which, wanted in zip(runs, repeats, strict=True):
                if index >= wanted:
                    continue
                answer = bench.drive(which, "result", args)
                if answer.get("amplitudes") != 2**nqubits:
                    raise RuntimeError(f"{which} client's result() gave {answer}, not the state")
                runs[which].append(answer)
            if index < repeats[1]:
                floors.append(floor_seconds(bench, job.pid))
        wall = {w: median([r["seconds"] for r in runs[w]]) for w in runs}
        rss = {w: median([r["peak_delta_kib"] for r in runs[w]]) for w in runs}
        floor = median(floors)
        faster = wall["published"] / wall["ours"]
        of_floor = wall["ours"] / floor
        rows.append(
            Row(
                label,
                "result() wall time",
                seconds(wall["published"]),
                seconds(wall["ours"]),
                f"floor {seconds(floor)}; ours = {of_floor:.2f}x floor",
                times(faster),
                f">= {TIMES_FASTER:g}x; <= {FLOOR_SLACK:g}x floor",
                faster >= TIMES_FASTER and of_floor <= FLOOR_SLACK,
            )
        )
        limit_kib = (size_mib + RSS_SLACK_MIB) * 1024
        rows.append(
            Row(
                label,
                "result() peak RSS added",
                mib(rss["published"]),
                mib(rss["ours"]),
                f"result {size}",
                times(rss["published"] / max(rss["ours"], 1)),
                f"<= {size_mib + RSS_SLACK_MIB:.0f} MiB",
                rss["ours"] <= limit_kib,
            )
        )
        for which in runs:
            bench.note(
                f"big 2^{nqubits} {which}: seconds "
                + ", ".join(f"{r['seconds']:.3f}" for r in runs[which])
                + "; peak RSS added MiB "
                + ", ".join(f"{r['peak_delta_kib'] / 1024:.0f}" for r in runs[which])
            )
        bench.note(
            f"big 2^{nqubits} floor (curl | tar xz): seconds "
            + ", ".join(f"{f:.3f}" for f in floors)
        )
        job.delete()
    client.close()
    return rows
