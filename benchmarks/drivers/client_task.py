"""One measured task, run in a fresh interpreter of either client's environment.

``python client_task.py TASK`` (its arguments, JSON, in ``$QIBO_BENCH_ARGS``) imports whichever ``qibo_client`` its
interpreter has (ours, or the published 0.2.4), does one task and prints one
JSON line on stdout. It uses only the standard library and the API both
clients share, so the two are measured by the very same code.

Requests are counted by wrapping ``requests.Session.send``: both clients send
every request through it (0.2.4 through ``requests.get``, which opens a
session per call; ours through one pooled session).
"""

from __future__ import annotations

import collections
import contextlib
import json
import os
import re
import resource
import sys
import time
from typing import Any

#: Lines of stdout the harness reads start with this (the clients may print too).
MARK = "BENCH-RESULT "
ARGS_ENV = "QIBO_BENCH_ARGS"

#: A job's own path (the servers measured give uuid4 pids); other paths under jobs/ (a batch
#: extension's, say) keep their own name in the counts.
_PID_PATH = re.compile(r"/api/jobs/[0-9a-fA-F-]{32,36}/")


def _rss_kib() -> int:
    """The current resident set size, in KiB (``VmRSS``)."""
    with open("/proc/self/status", encoding="ascii") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


def _reset_peak() -> bool:
    """Reset the kernel's peak-RSS mark (``VmHWM``) to the current RSS; False if not allowed."""
    try:
        with open("/proc/self/clear_refs", "w", encoding="ascii") as refs:
            refs.write("5")
        return True
    except OSError:
        return False


def _peak_kib() -> int:
    with open("/proc/self/status", encoding="ascii") as status:
        for line in status:
            if line.startswith("VmHWM:"):
                return int(line.split()[1])
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss


class RequestCounter:
    """Counts the HTTP requests this process sends, by method and path shape, and times them."""

    def __init__(self) -> None:
        self.counts: collections.Counter[str] = collections.Counter()
        self.log: list[tuple[str, float, float]] = []  # (shape, sent, answered), wall clock

    def install(self) -> None:
        import requests

        original = requests.Session.send
        counter = self

        def send(session: Any, request: Any, **kwargs: Any) -> Any:
            path = request.path_url.split("?", 1)[0]
            shape = f"{request.method} {_PID_PATH.sub('/api/jobs/<pid>/', path)}"
            counter.counts[shape] += 1
            sent = time.time()
            response = original(session, request, **kwargs)
            counter.log.append((shape, sent, time.time()))
            return response

        requests.Session.send = send  # type: ignore[method-assign]

    def total(self) -> int:
        return sum(self.counts.values())

    def status_requests(self) -> int:
        return self.counts["GET /api/jobs/<pid>/"] + self.counts["GET /api/jobs/"]

    def last_status_answer(self) -> float | None:
        """When the last status request before the download was answered: the end seen."""
        answered = None
        for shape, _, end in self.log:
            if shape.endswith("/download/"):
                break
            if shape in ("GET /api/jobs/<pid>/", "GET /api/jobs/"):
                answered = end
        return answered


def _headers(token: str) -> dict[str, str]:
    import qibo_client

    return {"x-api-token": token, "x-qibo-client-version": qibo_client.__version__}


def _describe(result: Any) -> dict[str, Any]:
    """A small check that a result came back whole: its type and state length."""
    if result is None:
        return {"type": None}
    described: dict[str, Any] = {"type": type(result).__name__}
    state = getattr(result, "state", None)
    if callable(state):
        with contextlib.suppress(Exception):  # a measured result may have no state
            described["amplitudes"] = len(state())
    return described


def task_result(args: dict[str, Any]) -> dict[str, Any]:
    """Time ``QiboJob(pid).result()`` on a finished job; peak RSS added meanwhile."""
    import numpy  # noqa: F401 - both clients need these; their import is not the result's cost
    import qibo  # noqa: F401
    import requests  # noqa: F401

    from qibo_client import QiboJob

    job = QiboJob(pid=args["pid"], base_url=args["url"], headers=_headers(args["token"]))
    before = _rss_kib()
    exact = _reset_peak()
    started = time.perf_counter()
    result = job.result(verbose=False)
    seconds = time.perf_counter() - started
    peak = _peak_kib() if exact else resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return {
        "seconds": seconds,
        "rss_before_kib": before,
        "peak_delta_kib": max(peak - before, 0),
        "exact_peak": exact,
        **_describe(result),
    }


def _bell(qibo: Any, index: int) -> Any:
    from qibo import gates

    circuit = qibo.Circuit(2)
    circuit.add(gates.RX(0, theta=0.001 * index))
    circuit.add(gates.H(0))
    circuit.add(gates.CNOT(0, 1))
    circuit.add(gates.M(0, 1))
    return circuit


def batch_submit_and_collect(
    client: Any, circuits: list[Any], nshots: int, wait: float
) -> list[Any]:
    """Our client's public batch API: submit every circuit, then collect every result.

    The hook for a batch extension: ``run_circuits`` may send many circuits in
    one request and ``results`` collect them from inline frequencies or in one
    transfer, when the server offers it; this code does not choose. Which path
    was taken is read afterwards from the requests counted (``batch_path``).
    """
    jobs = client.run_circuits(circuits, device="numpy", nshots=nshots)
    return client.results(jobs, wait=wait, verbose=False)


def batch_path(counts: collections.Counter[str], n: int) -> str:
    """How the circuits went out: one ``POST /api/jobs/`` each, the ``batch`` extension's
    ``POST /api/jobs/batch/``, or some other mix."""
    posts = counts["POST /api/jobs/"]
    if posts >= n:
        return "one POST per circuit"
    batches = counts["POST /api/jobs/batch/"]
    if batches and not posts:
        return f"batch extension: {batches} POST /api/jobs/batch/ for {n} circuits"
    others = sorted(
        shape for shape in counts if shape.startswith("POST ") and shape != "POST /api/jobs/"
    )
    return f"batched: {posts} POST /api/jobs/" + "".join(f", {counts[s]} {s}" for s in others)


def task_many(args: dict[str, Any]) -> dict[str, Any]:
    """Submit ``n`` small circuits and collect every result; wall time and requests."""
    import qibo

    from qibo_client import Client

    qibo.set_backend("numpy")
    circuits = [_bell(qibo, i) for i in range(args["n"])]
    counter = RequestCounter()
    counter.install()
    client = Client(args["token"], args["url"])
    nshots = args["nshots"]
    started = time.perf_counter()
    if args["mode"] == "published-way":
        jobs = [client.run_circuit(c, device="numpy", nshots=nshots) for c in circuits]
        results = [job.result(wait=args["wait"], verbose=False) for job in jobs]
    else:
        results = batch_submit_and_collect(client, circuits, nshots, args["wait"])
    seconds = time.perf_counter() - started
    ok = sum(1 for r in results if r is not None and sum(r.frequencies().values()) == nshots)
    answer = {"seconds": seconds, "ok": ok, "requests": counter.total(), "by": dict(counter.counts)}
    if args["mode"] == "batch":
        answer["path"] = batch_path(counter.counts, args["n"])
        answer["extensions"] = sorted(getattr(client.transport, "extensions", ()))
    return answer


def task_wait(args: dict[str, Any]) -> dict[str, Any]:
    """Wait on a job (its pid read from stdin) with ``result()``; when it returned, what it asked."""
    import numpy  # noqa: F401
    import qibo  # noqa: F401
    import requests  # noqa: F401

    from qibo_client import QiboJob

    counter = RequestCounter()
    counter.install()
    print(MARK + json.dumps({"ready": True}), flush=True)
    pid = sys.stdin.readline().strip()  # the harness submits the job once every waiter is ready
    job = QiboJob(pid=pid, base_url=args["url"], headers=_headers(args["token"]))
    started = time.time()
    result = job.result(wait=args.get("wait", 0.5), verbose=False)
    returned = time.time()
    return {
        "started_at": started,
        "returned_at": returned,
        "final_status_at": counter.last_status_answer(),
        "status_requests": counter.status_requests(),
        "requests": counter.total(),
        "by": dict(counter.counts),
        **_describe(result),
    }


TASKS = {"result": task_result, "many": task_many, "wait": task_wait}


def main() -> None:
    # The arguments come in the environment, not argv: they carry the token, and argv is public.
    task, raw = sys.argv[1], os.environ.pop(ARGS_ENV)
    answer = TASKS[task](json.loads(raw))
    print(MARK + json.dumps(answer), flush=True)


if __name__ == "__main__":
    main()
