"""Case 2, many jobs: 200 small circuits submitted and every result collected.

Three ways: 0.2.4 the published way (a loop of ``run_circuit``, then
``result()`` each), ours the very same way, and ours with its public batch
API (``run_circuits``, then ``results``: ``drivers/client_task.py``'s
``batch_submit_and_collect``). Whether the batch API sent one request per
circuit or the server's ``batch`` extension (``POST /api/jobs/batch/``) is the
client's choice; the row names the path it took, read from the requests it sent.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from harness.context import Bench
from harness.report import Row, median, times

FULL_JOBS, FULL_REPEATS = 200, 3
SMOKE_JOBS, SMOKE_REPEATS = 4, 1
NSHOTS = 100
#: ``wait`` as published: seconds between status checks (and between job-list rounds).
WAIT = 0.5
PUBLISHED_WAY_TARGET = 5.0
BATCH_TARGET = 20.0

WAYS = (
    ("published", "published-way", "0.2.4, loop of run_circuit then result()"),
    ("ours", "published-way", "ours, the same loop"),
    ("ours", "batch", "ours, run_circuits + results"),
)


def server_span(client: Any) -> float:
    """Seconds from the first job's creation to the last one's end, as the server stamped them."""
    infos = client.transport.list_jobs()
    first = min(datetime.fromisoformat(info.created_at).timestamp() for info in infos)
    last = max(datetime.fromisoformat(info.updated_at).timestamp() for info in infos)
    return last - first


def run(bench: Bench) -> list[Row]:
    count, repeats = (SMOKE_JOBS, SMOKE_REPEATS) if bench.smoke else (FULL_JOBS, FULL_REPEATS)
    client = bench.client()
    runs: dict[str, list[dict[str, Any]]] = {way[2]: [] for way in WAYS}
    for _ in range(repeats):
        for which, mode, label in WAYS:
            client.delete_all_jobs()  # every way starts from the same, empty job list
            args = {
                "url": bench.server.url,
                "token": bench.server.token,
                "n": count,
                "nshots": NSHOTS,
                "mode": mode,
                "wait": WAIT,
            }
            answer = bench.drive(which, "many", args)
            if answer["ok"] != count:
                raise RuntimeError(f"{label}: {answer['ok']} of {count} results came back whole")
            answer["server_seconds"] = server_span(client)
            runs[label].append(answer)
    client.delete_all_jobs()
    client.close()

    rate = {label: count / median([r["seconds"] for r in runs[label]]) for label in runs}
    published = rate[WAYS[0][2]]
    # The server's pace under our batch API: first job created to last job done, by its stamps.
    server = count / median([r["server_seconds"] for r in runs[WAYS[2][2]]])
    paths = sorted({r["path"] for r in runs[WAYS[2][2]]})
    rows = [
        Row(
            f"2. many jobs ({count})",
            "throughput, published way",
            f"{published:.1f} jobs/s",
            f"{rate[WAYS[1][2]]:.1f} jobs/s",
            f"server pace {server:.1f} jobs/s",
            times(rate[WAYS[1][2]] / published),
            f">= {PUBLISHED_WAY_TARGET:g}x",
            rate[WAYS[1][2]] / published >= PUBLISHED_WAY_TARGET,
        ),
        Row(
            f"2. many jobs ({count})",
            "throughput, our batch API",
            f"{published:.1f} jobs/s",
            f"{rate[WAYS[2][2]]:.1f} jobs/s",
            f"server pace {server:.1f} jobs/s; path: {' / '.join(paths)}",
            times(rate[WAYS[2][2]] / published),
            f">= {BATCH_TARGET:g}x",
            rate[WAYS[2][2]] / published >= BATCH_TARGET,
        ),
    ]
    for label, answers in runs.items():
        requests = median([a["requests"] for a in answers])
        bench.note(
            f"many {label}: seconds "
            + ", ".join(f"{a['seconds']:.2f}" for a in answers)
            + "; server first-created to last-done seconds "
            + ", ".join(f"{a['server_seconds']:.2f}" for a in answers)
            + f"; requests (median) {requests:.0f}: {answers[-1]['by']}"
            + (
                f"; path: {answers[-1]['path']}; server extensions: {answers[-1]['extensions']}"
                if "path" in answers[-1]
                else ""
            )
        )
    return rows
