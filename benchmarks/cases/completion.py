"""Case 3, completion latency: from the server marking a job done to ``result()`` returning.

Both clients wait on the same job at the same time, each in its own process,
started and ready (imports done) before the job is submitted. The job sleeps
on the server (``drivers/sleep_runner.py``) rather than burning a core. The
moment the server marked it done is its ``updated_at``; the moment
``result()`` returned is read from the same clock by the waiting process.
Status requests are counted in each waiting process.
"""

from __future__ import annotations

import json
import random
import subprocess
import tempfile
from datetime import datetime
from typing import Any

from harness.context import Bench
from harness.environment import ARGS_ENV, DRIVER, MARK, driver_env, parse_answer
from harness.plain_proxy import PlainProxy
from harness.report import Row, median, seconds, times

FULL_LAG_JOBS, SMOKE_LAG_JOBS = 7, 1
LAG_JOB_SECONDS, SMOKE_LAG_JOB_SECONDS = 2.0, 0.5
LONG_JOB_SECONDS, SMOKE_LONG_JOB_SECONDS = 60.0, 1.0
LAG_TARGET = 0.005
REQUESTS_PER_MINUTE_TARGET = 5.0
#: ``result(wait=...)``: the published default, seconds between status checks without long-poll.
WAIT = 0.5
PLAIN_TOLERANCE = (
    0.8  # at least this share of 60/WAIT requests a minute: wait honoured, not skipped
)


def _bell_raw(sleep: float) -> dict[str, Any]:
    import qibo
    from qibo import gates

    circuit = qibo.Circuit(2)
    circuit.add(gates.H(0))
    circuit.add(gates.CNOT(0, 1))
    circuit.add(gates.M(0, 1))
    return {**circuit.raw, "bench_sleep": sleep}


def wait_together(
    bench: Bench, job_seconds: float, waiters: dict[str, tuple[str, str]]
) -> dict[str, dict[str, Any]]:
    """Waiters (label -> client, server URL) wait on one job of ``job_seconds``; their answers.

    Each answer gains ``lag`` (seconds from done to ``result()`` returning),
    ``waited`` and ``per_minute`` (status requests per minute of waiting).
    """
    waiting: dict[str, Any] = {}
    for label, (which, url) in waiters.items():
        args = {"url": url, "token": bench.server.token, "wait": WAIT}
        stderr = tempfile.TemporaryFile(mode="w+", dir=bench.scratch)  # noqa: SIM115 - closed below
        env = driver_env(
            {"RESULTS_BASE_FOLDER": str(bench.results_dir()), ARGS_ENV: json.dumps(args)}
        )
        process = subprocess.Popen(
            [str(bench.python(which)), str(DRIVER), "wait"],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=stderr, text=True, env=env,
        )  # fmt: skip
        waiting[label] = (process, stderr)
    for label, (process, stderr) in waiting.items():
        line = process.stdout.readline()
        if not line.startswith(MARK):
            process.kill()
            stderr.seek(0)
            raise RuntimeError(f"{label} waiter did not start:\n{line}{stderr.read()[-3000:]}")
    with bench.client() as client:
        job = client.run_circuit(_bell_raw(job_seconds), device="numpy", nshots=10)
        for process, _ in waiting.values():
            process.stdin.write(job.pid + "\n")
            process.stdin.close()
        answers = {}
        for label, (process, stderr) in waiting.items():
            out = process.stdout.read()
            process.wait(timeout=job_seconds + 120)
            stderr.seek(0)
            answers[label] = parse_answer(out, stderr.read(), process.returncode, "wait")
            stderr.close()
        info = client.get_job(job.pid).info
        done_at = datetime.fromisoformat(info.updated_at).timestamp()
        lasted = done_at - datetime.fromisoformat(info.created_at).timestamp()
        job.delete()
    if lasted < job_seconds:
        raise RuntimeError(
            f"the job meant to last {job_seconds:.2f} s ended after {lasted:.2f} s: the server "
            "is not running it with drivers/sleep_runner.py, so no lag measured here means anything"
        )
    for label, answer in answers.items():
        if answer.get("type") is None:
            raise RuntimeError(f"{label} waiter got no result: {answer}")
        answer["lag"] = answer["returned_at"] - done_at
        answer["seen"] = (answer["final_status_at"] or answer["returned_at"]) - done_at
        answer["waited"] = answer["returned_at"] - answer["started_at"]
        answer["per_minute"] = answer["status_requests"] / answer["waited"] * 60.0
    return answers


def run(bench: Bench) -> list[Row]:
    lag_jobs = SMOKE_LAG_JOBS if bench.smoke else FULL_LAG_JOBS
    long_job = SMOKE_LONG_JOB_SECONDS if bench.smoke else LONG_JOB_SECONDS
    lag_job = SMOKE_LAG_JOB_SECONDS if bench.smoke else LAG_JOB_SECONDS
    url = bench.server.url
    pair = {"published": ("published", url), "ours": ("ours", url)}
    lags: dict[str, list[float]] = {label: [] for label in pair}
    seen: dict[str, list[float]] = {label: [] for label in pair}
    # A job length off the 0.5 s polling grid, different each time: polling loops that started
    # with the job must not all happen to ask just after it ends.
    jitter = random.Random(3)
    for _ in range(lag_jobs):
        length = lag_job + jitter.uniform(0.0, WAIT)
        for label, answer in wait_together(bench, length, pair).items():
            lags[label].append(answer["lag"])
            seen[label].append(answer["seen"])
    bench.log(f"  waiting on a {long_job:g} s job (also through a proxy hiding long-poll)")
    with PlainProxy(url) as proxy:
        waiters = {**pair, "ours, no long-poll": ("ours", proxy.url)}
        long = wait_together(bench, long_job, waiters)
    lag = {label: median(values) for label, values in lags.items()}
    for label in waiters:
        bench.note(
            f"completion {label}: "
            + (
                f"lag ms {', '.join(f'{v * 1e3:.1f}' for v in lags[label])}; final status"
                f" answered after ms {', '.join(f'{v * 1e3:.1f}' for v in seen[label])}; "
                if label in lags
                else ""
            )
            + f"on the {long_job:g} s job: {long[label]['status_requests']} status requests"
            f" in {long[label]['waited']:.1f} s, lag {long[label]['lag'] * 1e3:.1f} ms,"
            f" requests {long[label]['by']}"
        )
    rate = {label: long[label]["per_minute"] for label in waiters}
    plain = rate["ours, no long-poll"]
    honoured = PLAIN_TOLERANCE * 60 / WAIT <= plain <= 60 / WAIT
    return [
        Row(
            "3. completion",
            f"lag, done -> result() (median of {lag_jobs})",
            seconds(lag["published"]),
            seconds(lag["ours"]),
            f"final status seen after {seconds(median(seen['published']))} vs "
            f"{seconds(median(seen['ours']))}",
            times(lag["published"] / max(lag["ours"], 1e-6)),
            f"<= {seconds(LAG_TARGET)}",
            lag["ours"] <= LAG_TARGET,
        ),
        Row(
            "3. completion",
            f"status requests per minute, {long_job:g} s job",
            f"{rate['published']:.1f}",
            f"{rate['ours']:.1f}",
            f"{long['published']['status_requests']} vs {long['ours']['status_requests']} requests",
            times(rate["published"] / max(rate["ours"], 1e-6)),
            f"<= {REQUESTS_PER_MINUTE_TARGET:g}",
            rate["ours"] <= REQUESTS_PER_MINUTE_TARGET,
        ),
        Row(
            "3. completion",
            f"same, server without long-poll (wait={WAIT:g} s)",
            f"{rate['published']:.1f}",
            f"{plain:.1f}",
            f"lag {seconds(long['ours, no long-poll']['lag'])}",
            "-",
            f"honours wait: {PLAIN_TOLERANCE * 60 / WAIT:.0f}-{60 / WAIT:.0f}",
            honoured,
        ),
    ]
