"""Case 8, server pace: tiny jobs per second through the in-process face, against qibo in a loop.

One fresh process of ours, interleaved repeat by repeat: the same tiny
circuits (Bell, 100 shots) run in qibo directly in a loop; through a fresh,
warm ``QiboServer`` called in-process (every job submitted, the server idle,
every job's counts read back from its job object), with one worker and with
one per core; and through ``Client("", "local://")`` with our batch API
(``run_circuits``, then ``results``).
"""

from __future__ import annotations

import os

from harness.context import Bench
from harness.report import Row, median

FULL_JOBS, FULL_REPEATS = 1000, 3
SMOKE_JOBS, SMOKE_REPEATS = 10, 1
NSHOTS = 100
TARGET = 1000.0  # jobs/s on this machine's two cores
NEEDS_SERVER = False


def fraction(value: float) -> str:
    """A ratio below one with two significant digits: ``0.04``, ``0.0031``."""
    return f"{value:.2f}" if value >= 0.1 else f"{value:.2g}"


def run(bench: Bench) -> list[Row]:
    count, repeats = (SMOKE_JOBS, SMOKE_REPEATS) if bench.smoke else (FULL_JOBS, FULL_REPEATS)
    # One worker, and one per core; the smoke run starts one server only.
    workers = [1] if bench.smoke else sorted({1, os.cpu_count() or 1})
    args = {"n": count, "nshots": NSHOTS, "repeats": repeats, "workers": workers}
    answer = bench.drive_ours("server_pace", args, timeout=1800)
    found = answer["seconds"]
    rate = {way: count / median(values) for way, values in found.items()}
    for way, values in found.items():
        bench.note(
            f"server pace, {way}: seconds for {count} jobs "
            + ", ".join(f"{v:.3f}" for v in values)
            + f" ({rate[way]:.0f} jobs/s)"
        )
    by_workers = {w: rate[f"server {w}"] for w in workers if f"server {w}" in rate}
    best = max(by_workers, key=lambda w: by_workers[w])
    qibo = rate["qibo"]
    per_worker = "; ".join(
        f"{w} worker{'s' if w > 1 else ''} {r:.0f} jobs/s" for w, r in by_workers.items()
    )
    label = f"8. server pace ({count} tiny jobs)"
    return [
        Row(
            label,
            "QiboServer in-process: submit all, counts read back",
            "-",
            f"{by_workers[best]:.0f} jobs/s",
            f"qibo in a loop {qibo:.0f} jobs/s; {per_worker}",
            f"rate {fraction(by_workers[best] / qibo)}x qibo's",
            f">= {TARGET:.0f} jobs/s",
            by_workers[best] >= TARGET,
        ),
        Row(
            label,
            "QiboServer as local:// makes it (small jobs in this process): submit all, counts read back",
            "-",
            f"{rate['server lane']:.0f} jobs/s",
            f"qibo in a loop {qibo:.0f} jobs/s",
            f"rate {fraction(rate['server lane'] / qibo)}x qibo's",
            f">= {TARGET:.0f} jobs/s",
            rate["server lane"] >= TARGET,
        ),
        Row(
            label,
            "local:// client: run_circuits, then results",
            "no local://",
            f"{rate['local']:.0f} jobs/s",
            f"qibo in a loop {qibo:.0f} jobs/s",
            f"rate {fraction(rate['local'] / qibo)}x qibo's",
            "-",
            None,
        ),
    ]
