"""Fault injection end to end: our client through a proxy that breaks ~30% of requests.

``serve`` runs the jobs; :mod:`tests.support.faulty_proxy` sits between it and
the client and drops, resets, stalls, delays and truncates connections and
answers 500/503/HTML pages at random (seeded) points. Every job must end with
its correct result or with one of our exception types, the server must hold
exactly one job per circuit, and the results folder must hold no temp folders.

Run as a script for the figures in docs/reliability.md, for our client and
for the published qibo-client 0.2.4 (in its cached venv)::

    .venv/bin/python -m tests.test_reliability_faults [--published]
"""

from __future__ import annotations

import argparse
import concurrent.futures
import contextlib
import json
import os
import subprocess
import sys
import tempfile
import textwrap
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler
from pathlib import Path
from typing import Any

import pytest
import requests
from tests.support.faulty_proxy import FaultPlan, faulty_proxy
from tests.support.http import FaultServer, cut_off, job_object, reply
from tests.support.results import ChunkStream, files_archive, fixture_bytes
from tests.support.serve import serve

from qibo_client import Client, QiboJob
from qibo_client.adapters.filesystem_store import FilesystemResultStore
from qibo_client.adapters.http_transport import HttpTransport
from qibo_client.exceptions import (
    IncompleteDownloadError,
    JobPostServerError,
    JobTimeoutError,
    MalformedResponseError,
    QiboApiError,
    SubmissionOutcomeUnknownError,
)
from qibo_client.testing.fakes import RecordingRenderer

#: What a job may end in besides its result: our exception types, nothing raw.
OURS = (QiboApiError, MalformedResponseError, JobPostServerError, JobTimeoutError)
SEEDS = (11, 23, 37)
JOBS = 12
SUBMIT_ATTEMPTS = 5
TIMEOUT = 45.0
#: The client's read timeout in the fault runs; a "stall" outlasts it.
READ_TIMEOUT = 3.0
#: Statuses after which a submission is sent again (with the same idempotency key).
RESUBMIT_STATUSES = frozenset({0, 500, 502, 503, 504})


def fault_plan(seed: int) -> FaultPlan:
    """~30% of requests broken, uniformly among every fault the proxy knows."""
    return FaultPlan(rate=0.3, seed=seed, delay_seconds=0.3, stall_seconds=READ_TIMEOUT + 0.5)


def user_for(seed: int) -> tuple[str, str]:
    """A token and email per seed, so each scenario has its own job list."""
    return f"fault-token-{seed}-7c1d2e", f"seed{seed}@x"


# -- circuits and checks ------------------------------------------------------------------


def circuits(count: int) -> list[tuple[Any, int | None]]:
    """Bell circuits with distinct shot counts, and every third a state-vector circuit."""
    from qibo import Circuit, gates

    made: list[tuple[Any, int | None]] = []
    for index in range(count):
        circuit = Circuit(2)
        if index % 3 == 2:
            circuit.add(gates.RX(0, theta=0.1 * (index + 1)))
            circuit.add(gates.CNOT(0, 1))
            made.append((circuit, None))
        else:
            circuit.add(gates.H(0))
            circuit.add(gates.CNOT(0, 1))
            circuit.add(gates.M(0, 1))
            made.append((circuit, 40 + index))
    return made


def check_result(circuit: Any, nshots: int | None, result: Any) -> str | None:
    """``None`` when ``result`` is what qibo itself gives for the circuit, else what is off."""
    import numpy as np

    if result is None:
        return "result() returned None"
    if nshots is not None:
        frequencies = {str(k): int(v) for k, v in result.frequencies().items()}
        if not set(frequencies) <= {"00", "11"} or sum(frequencies.values()) != nshots:
            return f"Bell frequencies {frequencies} for {nshots} shots"
        return None
    expected = circuit().state()
    if not np.allclose(np.asarray(result.state()), np.asarray(expected)):
        return "state vector differs from qibo's direct simulation"
    return None


def identity(circuit: dict[str, Any] | str, nshots: int | None) -> str:
    """What tells one submitted circuit from another in a server's job list."""
    if isinstance(circuit, str):
        circuit = json.loads(circuit)
    queue = circuit.get("queue", []) if isinstance(circuit, dict) else []
    return json.dumps([nshots, queue], sort_keys=True, default=str)


# -- one scenario ----------------------------------------------------------------------------


@dataclass
class Outcome:
    """How one job ended, as the user of the client sees it."""

    index: int
    pid: str | None = None
    error: BaseException | None = None
    wrong: str | None = None
    submissions: int = 0
    outcome_unknown: int = 0
    result_calls: int = 0
    result_errors: list[str] = field(default_factory=list)

    @property
    def completed(self) -> bool:
        return self.error is None and self.wrong is None


@dataclass
class Scenario:
    """Everything a fault run produced: outcomes, the proxy's log, the server's job list."""

    seed: int
    plan: FaultPlan
    outcomes: list[Outcome]
    server_jobs: list[dict[str, Any]]
    leftovers: list[str]
    seconds: float
    reused_without_request: bool
    token_leaks: list[str] = field(default_factory=list)

    def figures(self) -> dict[str, Any]:
        errors = Counter(type(o.error).__name__ for o in self.outcomes if o.error is not None)
        return {
            "seed": self.seed,
            "jobs": len(self.outcomes),
            "completed": sum(o.completed for o in self.outcomes),
            "errors": dict(errors),
            "error_messages": [str(o.error) for o in self.outcomes if o.error is not None],
            "resubmissions": sum(max(o.submissions - 1, 0) for o in self.outcomes),
            "outcome_unknown": sum(o.outcome_unknown for o in self.outcomes),
            "second_result_calls": sum(max(o.result_calls - 1, 0) for o in self.outcomes),
            "result_errors": [e for o in self.outcomes for e in o.result_errors],
            "server_jobs": len(self.server_jobs),
            "proxy": self.plan.summary(),
            "faults": self.plan.counts(),
            "seconds": round(self.seconds, 1),
        }


def run_job(client: Client, circuit: Any, nshots: int | None, key: str, outcome: Outcome) -> None:
    """Submit (resubmitting with the same key when the outcome is unknown) and fetch the result.

    This is the user-level pattern the docs recommend: a submission that got
    no confirmed answer is sent again with the same idempotency key, which a
    server supporting keys answers with the same pid.
    """
    job = None
    for attempt in range(1, SUBMIT_ATTEMPTS + 1):
        outcome.submissions += 1
        try:
            job = client.run_circuit(circuit, "numpy", nshots=nshots, idempotency_key=key)
            break
        except SubmissionOutcomeUnknownError as error:
            assert error.idempotency_key == key
            outcome.outcome_unknown += 1
            if attempt == SUBMIT_ATTEMPTS:
                raise
        except QiboApiError as error:
            if error.status not in RESUBMIT_STATUSES or attempt == SUBMIT_ATTEMPTS:
                raise
    assert job is not None
    outcome.pid = job.pid
    # result() itself tolerates transient failures while polling and downloading; a
    # failure it reports is a clear error of ours, and calling it again picks the job up.
    for attempt in range(1, 3):
        outcome.result_calls += 1
        try:
            result = job.result(verbose=False, timeout=TIMEOUT)
            break
        except QiboApiError as error:
            outcome.result_errors.append(f"{type(error).__name__}({error.status}): {error}")
            if error.status not in RESUBMIT_STATUSES or attempt == 2:
                raise
    outcome.wrong = check_result(circuit, nshots, result)


def server_job_list(url: str, token: str) -> list[dict[str, Any]]:
    """The job list straight from serve (not through the proxy)."""
    answer = requests.get(f"{url}/api/jobs/", headers={"x-api-token": token}, timeout=30)
    answer.raise_for_status()
    jobs = answer.json()
    assert isinstance(jobs, list)
    return jobs


def fault_scenario(
    server_url: str, seed: int, results: Path, *, jobs: int = JOBS, threads: int = 4
) -> Scenario:
    """Run ``jobs`` jobs through a fresh faulty proxy in front of ``server_url``."""
    token, _ = user_for(seed)
    plan = fault_plan(seed)
    made = circuits(jobs)
    outcomes = [Outcome(index) for index in range(jobs)]
    store = FilesystemResultStore(results)
    started = time.monotonic()
    with faulty_proxy(server_url, plan) as proxy:

        def one(index: int) -> None:
            transport = HttpTransport(
                proxy, token, connect_timeout=2, read_timeout=READ_TIMEOUT, backoff_factor=0.2
            )
            with Client(token, proxy, transport=transport, result_store=store) as client:
                circuit, nshots = made[index]
                try:
                    run_job(client, circuit, nshots, f"seed{seed}-job{index}", outcomes[index])
                except BaseException as error:  # recorded and judged by the caller
                    outcomes[index].error = error

        with concurrent.futures.ThreadPoolExecutor(threads) as pool:
            list(pool.map(one, range(jobs)))
        seconds = time.monotonic() - started

        # result() again on a finished job: the complete local copy, no request at all.
        done = next((o for o in outcomes if o.completed and o.pid), None)
        reused = False
        if done is not None:
            before = len(plan.log)
            transport = HttpTransport(proxy, token)
            again = QiboJob(done.pid, proxy, transport=transport, result_store=store).result(
                verbose=False
            )
            transport.close()
            reused = len(plan.log) == before and again is not None
    leftovers = [p.name for p in results.rglob(".*")]
    leaks = [
        f"{type(o.error).__name__}: {o.error}"
        for o in outcomes
        if o.error is not None and token in f"{o.error!r} {o.error}"
    ]
    leaks += [
        str(path)
        for path in results.rglob("*")
        if path.is_file() and token.encode() in path.read_bytes()
    ]
    return Scenario(
        seed, plan, outcomes, server_job_list(server_url, token), leftovers, seconds, reused, leaks
    )


def warm_up(url: str, results: Path) -> None:
    """One job straight to serve (a warm-up user), so its workers have imported qibo.

    Otherwise the first submissions of a loaded machine can outlast the short read
    timeout of the fault runs, which says more about the machine than the client.
    """
    token, _ = user_for(0)
    with Client(token, url, result_store=FilesystemResultStore(results)) as client:
        circuit, nshots = circuits(1)[0]
        assert client.run_circuit(circuit, "numpy", nshots=nshots).result(verbose=False)


@contextlib.contextmanager
def fault_server(data_dir: Path, seeds: tuple[int, ...] = SEEDS) -> Iterator[str]:
    users = [f"{t}={e}" for t, e in map(user_for, (0, *seeds))]
    with serve(data_dir, users=users, extra=["--workers", "2"]) as server:
        warm_up(server.url, data_dir / "warm-up")
        yield server.url
    for token, _ in map(user_for, seeds):
        assert token not in server.output


# -- the tests ------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def server_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    with fault_server(tmp_path_factory.mktemp("fault-server")) as url:
        yield url


@pytest.mark.slow
@pytest.mark.parametrize("seed", SEEDS)
def test_every_job_survives_the_faults_or_fails_clearly(
    server_url: str, seed: int, tmp_path: Path
) -> None:
    scenario = fault_scenario(server_url, seed, tmp_path / "results")
    print(json.dumps(scenario.figures()))

    faulted = [r for r in scenario.plan.log if r.fault != "ok"]
    assert len(faulted) >= 0.15 * len(scenario.plan.log), scenario.plan.summary()
    for outcome in scenario.outcomes:
        if outcome.error is not None:
            assert isinstance(outcome.error, OURS), (
                f"job {outcome.index} ended in a raw {type(outcome.error).__name__}: "
                f"{outcome.error!r}"
            )
        assert outcome.wrong is None, f"job {outcome.index}: {outcome.wrong}"
    # At a 30% fault rate, with retries and resubmission, nearly every job completes.
    assert sum(o.completed for o in scenario.outcomes) >= len(scenario.outcomes) - 1

    # Nothing submitted twice: one job per circuit on the server, and it is the one we hold.
    by_circuit = Counter(identity(j["circuit"], j.get("nshots")) for j in scenario.server_jobs)
    assert all(count == 1 for count in by_circuit.values()), by_circuit
    known = {o.pid for o in scenario.outcomes if o.pid}
    assert known <= {j["pid"] for j in scenario.server_jobs}
    assert scenario.plan.forwarded_posts >= len(scenario.server_jobs)

    assert scenario.leftovers == []  # no partial download folders
    assert scenario.reused_without_request
    assert scenario.token_leaks == []


@pytest.mark.slow
def test_a_proxy_without_faults_changes_nothing(server_url: str, tmp_path: Path) -> None:
    token, _ = user_for(SEEDS[0])
    plan = FaultPlan(rate=0.0)
    circuit, nshots = circuits(1)[0]
    store = FilesystemResultStore(tmp_path / "results")
    with faulty_proxy(server_url, plan) as proxy, Client(token, proxy, result_store=store) as c:
        result = c.run_circuit(circuit, "numpy", nshots=nshots).result(verbose=False)
    assert check_result(circuit, nshots, result) is None
    assert plan.counts() == {"ok": len(plan.log)} and plan.forwarded_posts == 1


# -- a download that ends early is retried by the transport (a loopback server) -----------


def sample_archive() -> bytes:
    return files_archive({"results.npy": fixture_bytes("circuit_samples-np2.npy")})


@pytest.mark.parametrize("announce", [True, False])
def test_a_download_that_ends_early_is_incomplete_not_hostile(
    tmp_path: Path, announce: bool
) -> None:
    data = sample_archive()
    half = data[: len(data) // 2]
    store = FilesystemResultStore(tmp_path / "base")
    stream = ChunkStream(half, content_length=len(data) if announce else None)
    with pytest.raises(IncompleteDownloadError, match="download truncated"):
        store.save("http://unused", "job-1", stream)
    assert store.lookup("http://unused", "job-1") is None
    assert list((tmp_path / "base").glob("*/*")) == []  # only the server's (empty) folder


class ShortThenWhole:
    """A server whose result download is cut short ``short`` times, then whole.

    With ``announce`` the answer promises the whole length and the connection
    drops halfway (the transport sees the cut); without, it is a complete HTTP
    answer holding half an archive (the store sees the cut, by the gzip trailer).
    """

    def __init__(self, data: bytes, short: int, announce: bool) -> None:
        self.data, self.short, self.announce, self.opened = data, short, announce, 0

    def __call__(self, handler: BaseHTTPRequestHandler, index: int) -> None:
        if not handler.path.rstrip("/").endswith("/download"):
            reply(handler, 200, job_object("job-1", "success"))
            return
        self.opened += 1
        if self.opened > self.short:
            reply(handler, 200, self.data)
        elif self.announce:
            cut_off(handler, self.data, sent=len(self.data) // 2)
        else:
            reply(handler, 200, self.data[: len(self.data) // 2])


@pytest.mark.parametrize("announce", [True, False])
@pytest.mark.parametrize("short", [1, 3])
def test_the_transport_retries_a_download_that_ended_early(
    tmp_path: Path, short: int, announce: bool
) -> None:
    source = ShortThenWhole(sample_archive(), short, announce)
    store = FilesystemResultStore(tmp_path / "base")
    with FaultServer(source) as server:
        transport = HttpTransport(server.url, "tok-faults", retries=5, backoff_factor=0.01)
        job = QiboJob("job-1", server.url, transport=transport, result_store=store)
        result = job.result(verbose=False)
        transport.close()
    assert source.opened == short + 1
    assert result is not None and sum(result.frequencies().values()) > 0
    assert [p.name for p in (tmp_path / "base").glob("*/*")] == ["job-1"]


def test_a_download_cut_more_often_than_the_retries_fails_clearly(tmp_path: Path) -> None:
    source = ShortThenWhole(sample_archive(), short=10, announce=True)
    store = FilesystemResultStore(tmp_path / "base")
    with FaultServer(source) as server:
        transport = HttpTransport(server.url, "tok-faults", retries=2, backoff_factor=0.01)
        job = QiboJob("job-1", server.url, transport=transport, result_store=store)
        with pytest.raises(IncompleteDownloadError):
            job.result(verbose=False)
        transport.close()
    assert source.opened == 3  # one try and two retries: one layer
    assert list((tmp_path / "base").glob("*/*")) == []


def test_a_hostile_download_is_not_retried(tmp_path: Path) -> None:
    downloads: list[int] = []

    def html_download(handler: BaseHTTPRequestHandler, index: int) -> None:
        if handler.path.rstrip("/").endswith("/download"):
            downloads.append(index)
            # Labelled an archive, so only the store can tell it is not one.
            reply(handler, 200, b"<html><title>login</title></html>")
        else:
            reply(handler, 200, job_object("job-1", "success"))

    store = FilesystemResultStore(tmp_path / "base")
    renderer = RecordingRenderer()
    with FaultServer(html_download) as server:
        transport = HttpTransport(server.url, "tok-faults", retries=5, backoff_factor=0.01)
        job = QiboJob(
            "job-1", server.url, transport=transport, result_store=store, renderer=renderer
        )
        assert job.result(verbose=False) is None
        transport.close()
    assert len(downloads) == 1
    assert renderer.errors and isinstance(renderer.errors[0], MalformedResponseError)


# -- the published client under the same faults (figures for the docs, not CI) -----------

PUBLISHED_SCRIPT = textwrap.dedent(
    """
    import json, sys, traceback
    from qibo import Circuit, gates
    from qibo_client import Client, QiboJob

    url, token, jobs = sys.argv[1], sys.argv[2], int(sys.argv[3])
    client = Client(token, url)
    for index in range(jobs):
        circuit = Circuit(2)
        if index % 3 == 2:
            circuit.add(gates.RX(0, theta=0.1 * (index + 1)))
            circuit.add(gates.CNOT(0, 1))
            nshots = None
        else:
            circuit.add(gates.H(0))
            circuit.add(gates.CNOT(0, 1))
            circuit.add(gates.M(0, 1))
            nshots = 40 + index
        line = {"index": index}
        try:
            job = client.run_circuit(circuit, device="numpy", nshots=nshots)
            line["pid"] = job.pid
            result = job.result(wait=0.2, verbose=False)
            if result is None:
                line["error"] = "result() returned None"
            elif nshots is not None:
                freq = {str(k): int(v) for k, v in result.frequencies().items()}
                ok = set(freq) <= {"00", "11"} and sum(freq.values()) == nshots
                line["ok"] = ok
            else:
                import numpy as np
                line["ok"] = bool(np.allclose(result.state(), circuit().state()))
        except BaseException as error:
            line["error"] = type(error).__module__ + "." + type(error).__name__
            line["message"] = str(error)[:200]
        print("JOB " + json.dumps(line), flush=True)
    """
)


def published_python() -> Path:
    """The cached venv of tests/test_published_client.py (or $QIBO_CLIENT_PUBLISHED_VENV)."""
    given = os.environ.get("QIBO_CLIENT_PUBLISHED_VENV")
    folder = Path(given or Path.home() / ".cache/qibo-client-tests/published-0.2.4").expanduser()
    python = folder / "bin" / "python"
    if not python.exists():
        raise SystemExit(
            f"no published client venv at {folder}: run "
            "`pytest tests/test_published_client.py` once to build it"
        )
    return python


def published_fault_scenario(
    server_url: str, seed: int, python: Path, workdir: Path, *, user: int, jobs: int = JOBS
) -> dict[str, Any]:
    """The published 0.2.4 client, one job after another, through the same faults.

    ``user`` picks the token (see :func:`user_for`), so its jobs are counted apart.
    """
    token, _ = user_for(user)
    plan = fault_plan(seed)
    script = workdir / "published_faults.py"
    script.write_text(PUBLISHED_SCRIPT)
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV")}
    env["RESULTS_BASE_FOLDER"] = str(workdir / "results")
    started = time.monotonic()
    with faulty_proxy(server_url, plan) as proxy:
        done = subprocess.run(
            [str(python), str(script), proxy, token, str(jobs)],
            capture_output=True,
            text=True,
            env=env,
            cwd=workdir,
            timeout=900,
        )
    lines = [json.loads(x[4:]) for x in done.stdout.splitlines() if x.startswith("JOB ")]
    server_jobs = server_job_list(server_url, token)
    known = {line.get("pid") for line in lines} - {None}
    return {
        "seed": seed,
        "jobs": jobs,
        "completed": sum(1 for line in lines if line.get("ok")),
        "errors": dict(Counter(line["error"] for line in lines if "error" in line)),
        "messages": [line.get("message", "") for line in lines if "error" in line],
        "server_jobs": len(server_jobs),
        "orphans": len({j["pid"] for j in server_jobs} - known),
        "proxy": plan.summary(),
        "seconds": round(time.monotonic() - started, 1),
        "exit": done.returncode,
    }


PUBLISHED_HOSTILE_SCRIPT = textwrap.dedent(
    """
    import json, sys, pathlib, traceback
    import qibo
    from qibo_client.qibo_job import _save_and_unpack_stream_response_to_folder

    corpus, base, sentinel = (pathlib.Path(a) for a in sys.argv[1:4])
    for path in sorted(corpus.glob("*.bin")):
        folder = base / path.stem
        folder.mkdir(parents=True)  # as QiboJob.result does before extracting
        line = {"name": path.stem}
        try:
            _save_and_unpack_stream_response_to_folder(iter([path.read_bytes()]), folder)
            if (folder / "results.npy").is_file():
                qibo.result.load_result(folder / "results.npy")
                line["outcome"] = "loaded"
            else:
                line["outcome"] = "extracted"
        except BaseException as error:
            line["outcome"] = type(error).__module__ + "." + type(error).__name__
        line["left_in_folder"] = sorted(str(p.relative_to(folder)) for p in folder.rglob("*"))
        line["code_ran"] = sentinel.exists()
        sentinel.unlink(missing_ok=True)
        print("HOSTILE " + json.dumps(line), flush=True)
    """
)


def hostile_corpus(folder: Path, sentinel: Path) -> dict[str, bytes]:
    """tests/test_results_hostile.py's archives, a code-running pickle and a truncated download."""
    from tests.support.results import code_payloads
    from tests.test_results_hostile import ARCHIVES, NPY, genuine_archive

    corpus: dict[str, bytes] = {}
    for name, (data, _) in ARCHIVES.items():
        corpus[name] = data(files_archive({"results.npy": NPY})) if callable(data) else data
    payloads = code_payloads(sentinel, folder / "inner.npy")
    for name in ("builtins.exec", "os.system", "exec via protocol 2"):
        corpus[f"pickle runs {name}"] = files_archive({"results.npy": payloads[name]})
    whole = genuine_archive()
    corpus["truncated download (half)"] = whole[: len(whole) // 2]
    return corpus


def published_hostile_figures(python: Path, root: Path) -> list[dict[str, Any]]:
    """Feed the hostile corpus to the published client's extraction and qibo's load_result."""
    sentinel = root / "pwned"
    corpus_dir = root / "corpus"
    corpus_dir.mkdir()
    corpus = hostile_corpus(root, sentinel)
    names = {}
    for index, (name, data) in enumerate(corpus.items()):
        (corpus_dir / f"{index:03d}.bin").write_bytes(data)
        names[f"{index:03d}"] = name
    script = root / "published_hostile.py"
    script.write_text(PUBLISHED_HOSTILE_SCRIPT)
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV")}
    env["TMPDIR"] = str(root / "tmp")  # where its downloads are spooled
    (root / "tmp").mkdir()
    done = subprocess.run(
        [str(python), str(script), str(corpus_dir), str(root / "base"), str(sentinel)],
        capture_output=True,
        text=True,
        env=env,
        cwd=root,
        timeout=600,
    )
    lines = [json.loads(x[8:]) for x in done.stdout.splitlines() if x.startswith("HOSTILE ")]
    for line in lines:
        line["name"] = names[line["name"]]
    lines.append(
        {
            "beside_the_corpus": sorted(p.name for p in root.iterdir()),
            "temp_files_left": len(list((root / "tmp").iterdir())),
            "exit": done.returncode,
            "stderr": done.stderr[-500:],
        }
    )
    return lines


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--published", action="store_true", help="also run qibo-client 0.2.4")
    parser.add_argument("--seeds", type=int, nargs="*", default=list(SEEDS))
    parser.add_argument(
        "--published-hostile",
        action="store_true",
        help="only feed the hostile download corpus to qibo-client 0.2.4's extraction",
    )
    options = parser.parse_args(argv)
    seeds = tuple(options.seeds)
    with tempfile.TemporaryDirectory() as scratch:
        root = Path(scratch)
        if options.published_hostile:
            for line in published_hostile_figures(published_python(), root):
                print("published-hostile", json.dumps(line), flush=True)
            return
        with fault_server(root / "server", seeds=seeds + tuple(s + 1000 for s in seeds)) as url:
            for seed in seeds:
                figures = fault_scenario(url, seed, root / f"results-{seed}").figures()
                print("ours", json.dumps(figures), flush=True)
            if options.published:
                python = published_python()
                for seed in seeds:
                    workdir = root / f"published-{seed}"
                    workdir.mkdir()
                    # the same fault sequence (seed), its own user (seed + 1000)
                    figures = published_fault_scenario(url, seed, python, workdir, user=seed + 1000)
                    print("published", json.dumps(figures), flush=True)


if __name__ == "__main__":
    sys.exit(main())
