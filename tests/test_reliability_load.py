"""Load: 20 concurrent clients x 20 jobs against ``serve``; nothing lost, nothing duplicated.

Each client is its own user (``--token T=email`` repeated), in its own thread,
with its own :class:`Client`. Half wait with ``Client.results`` (one job-list
request per round), half with ``job.result()`` each (long-poll). Every one of
the 400 results must be right, each user's job list must hold exactly that
user's 20 jobs, and no user may see another's.

Run as a script for the figures in docs/reliability.md::

    .venv/bin/python -m tests.test_reliability_load
"""

from __future__ import annotations

import concurrent.futures
import json
import sys
import tempfile
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import requests
from tests.support.serve import serve

from qibo_client import Client
from qibo_client.adapters.filesystem_store import FilesystemResultStore

CLIENTS = 20
JOBS_EACH = 20
TIMEOUT = 240.0


def token_for(index: int) -> str:
    return f"load-token-{index:02d}-4e9b"


def email_for(index: int) -> str:
    return f"user{index:02d}@load"


@dataclass
class ClientRun:
    """What one client did: its pids, the shots it asked for, and what came back."""

    index: int
    pids: list[str] = field(default_factory=list)
    shots: dict[str, int] = field(default_factory=dict)
    wrong: list[str] = field(default_factory=list)
    checked: int = 0
    error: BaseException | None = None


def bell() -> Any:
    from qibo import Circuit, gates

    circuit = Circuit(2)
    circuit.add(gates.H(0))
    circuit.add(gates.CNOT(0, 1))
    circuit.add(gates.M(0, 1))
    return circuit


def one_client(url: str, index: int, results: Path, jobs: int) -> ClientRun:
    run = ClientRun(index)
    try:
        store = FilesystemResultStore(results / f"client-{index:02d}")
        with Client(token_for(index), url, result_store=store) as client:
            submitted = []
            for j in range(jobs):
                nshots = 5 + j  # distinct per job: the shot count identifies the result
                job = client.run_circuit(bell(), "numpy", nshots=nshots)
                submitted.append((job, nshots))
                run.pids.append(job.pid)
                run.shots[job.pid] = nshots
            if index % 2:
                outcomes = client.results([job for job, _ in submitted], wait=0.3, timeout=TIMEOUT)
            else:
                outcomes = [job.result(verbose=False, timeout=TIMEOUT) for job, _ in submitted]
            for (job, nshots), result in zip(submitted, outcomes, strict=True):
                run.checked += 1
                frequencies = {str(k): int(v) for k, v in result.frequencies().items()}
                if not set(frequencies) <= {"00", "11"} or sum(frequencies.values()) != nshots:
                    run.wrong.append(f"{job.pid}: {frequencies} for {nshots} shots")
    except BaseException as error:  # judged by the caller
        run.error = error
    return run


def ask(url: str, index: int, path: str) -> Any:
    """A GET straight to serve with user ``index``'s token."""
    answer = requests.get(
        f"{url}/api/{path}", headers={"x-api-token": token_for(index)}, timeout=60
    )
    answer.raise_for_status()
    return answer.json()


def job_list(url: str, index: int) -> list[dict[str, Any]]:
    return ask(url, index, "jobs/")


def load_run(
    url: str, results: Path, *, clients: int = CLIENTS, jobs: int = JOBS_EACH
) -> tuple[list[ClientRun], float]:
    started = time.monotonic()
    with concurrent.futures.ThreadPoolExecutor(clients) as pool:
        runs = list(pool.map(lambda i: one_client(url, i, results, jobs), range(clients)))
    return runs, time.monotonic() - started


def figures(runs: list[ClientRun], seconds: float) -> dict[str, Any]:
    done = sum(run.checked for run in runs)
    return {
        "clients": len(runs),
        "jobs": sum(len(run.pids) for run in runs),
        "results_checked": done,
        "wrong": sum(len(run.wrong) for run in runs),
        "client_errors": sum(run.error is not None for run in runs),
        "seconds": round(seconds, 1),
        "jobs_per_second": round(done / seconds, 1) if seconds else None,
    }


def users(clients: int = CLIENTS) -> list[str]:
    return [f"{token_for(i)}={email_for(i)}" for i in range(clients)]


@pytest.mark.slow
def test_twenty_clients_twenty_jobs_each_nothing_lost_or_duplicated(tmp_path: Path) -> None:
    with serve(tmp_path / "server", users=users(), extra=["--workers", "2"]) as server:
        runs, seconds = load_run(server.url, tmp_path / "results")
        print(json.dumps(figures(runs, seconds)))
        lists = {run.index: job_list(server.url, run.index) for run in runs}
        disks = {run.index: ask(server.url, run.index, "disk_quota/") for run in runs}
        quotas = {run.index: ask(server.url, run.index, "projectquotas/") for run in runs}
        foreign = requests.get(
            f"{server.url}/api/jobs/{runs[1].pids[0]}/",
            headers={"x-api-token": token_for(0)},
            timeout=30,
        )
        foreign_download = requests.get(
            f"{server.url}/api/jobs/{runs[1].pids[0]}/download/",
            headers={"x-api-token": token_for(0)},
            timeout=30,
        )

    for run in runs:
        assert run.error is None, f"client {run.index}: {run.error!r}"
        assert run.wrong == [], run.wrong
        assert len(run.pids) == run.checked == JOBS_EACH  # nothing lost

        listed = lists[run.index]
        assert len(listed) == JOBS_EACH  # nothing duplicated
        assert sorted(j["pid"] for j in listed) == sorted(run.pids)
        assert {j["user"]["email"] for j in listed} == {email_for(run.index)}
        assert all(j["status"] == "success" for j in listed)
        assert Counter(j["nshots"] for j in listed) == Counter(run.shots.values())

        # Quotas are the user's own: each spent exactly its 20 jobs, whatever the others did.
        assert [d["user"]["email"] for d in disks[run.index]] == [email_for(run.index)]
        numpy = next(q for q in quotas[run.index] if q["partition"]["name"] == "numpy")
        assert numpy["jobs_max"] - numpy["jobs_left"] == JOBS_EACH
        assert numpy["shots_max"] - numpy["shots_left"] == sum(run.shots.values())

    every_pid = [pid for run in runs for pid in run.pids]
    assert len(every_pid) == len(set(every_pid)) == CLIENTS * JOBS_EACH
    # A token sees only its own jobs, even when it names another user's pid.
    assert foreign.status_code in (403, 404) and foreign_download.status_code in (403, 404)


def main() -> None:
    with tempfile.TemporaryDirectory() as scratch:
        root = Path(scratch)
        with serve(root / "server", users=users(), extra=["--workers", "2"]) as server:
            runs, seconds = load_run(server.url, root / "results")
        print(json.dumps(figures(runs, seconds)))
        for run in runs:
            if run.error is not None or run.wrong:
                print(run.index, repr(run.error), run.wrong[:3])


if __name__ == "__main__":
    sys.exit(main())
