"""AsyncClient: many jobs awaited in one event loop, on local:// and over loopback HTTP.

Plain tests drive their coroutines with ``asyncio.run``. What is shown: 20 jobs
awaited at once finish without the loop ever stalling; closing leaves no
thread of ours behind; a timeout raises JobTimeoutError and leaves the job;
the httpx transport retries and keeps deadlines exactly as the requests one
does; the blocking client still works when called inside a running loop.
"""

from __future__ import annotations

import asyncio
import re
import threading
import time
import warnings
from collections.abc import Awaitable, Callable, Iterator
from http.server import BaseHTTPRequestHandler
from pathlib import Path
from typing import Any, TypeVar

import httpx
import pytest
from tests.support.http import FaultServer, job_object, refusing_url, reply

from qibo_client import AsyncClient, Client
from qibo_client.adapters.filesystem_store import FilesystemResultStore
from qibo_client.adapters.http_transport import HttpTransport
from qibo_client.adapters.httpx_transport import AsyncHttpTransport
from qibo_client.adapters.threaded_transport import ThreadedAsyncTransport
from qibo_client.aio import AsyncJob
from qibo_client.bootstrap import build_async_transport
from qibo_client.domain.records import DryRunReport, JobSubmission
from qibo_client.domain.status import QiboJobStatus
from qibo_client.exceptions import (
    ConfigurationError,
    JobTimeoutError,
    MalformedResponseError,
    SubmissionOutcomeUnknownError,
    TransientError,
)
from qibo_client.plugins import TransportPlugin, get_plugin_manager, hookimpl
from qibo_client.testing import MemoryResultStore, MockServer, RecordingRenderer
from qibo_client.testing.serve import serve

T = TypeVar("T")

JOBS = 20
NSHOTS = 100
#: How far past its timeout a wait may end (scheduling, one socket read).
SLACK = 2.0
#: The longest the loop may go without running a 10 ms heartbeat; a blocked loop stalls for
#: seconds (a held long-poll, importing qibo), scheduling noise for milliseconds.
STALL_LIMIT = 1.0
PREFIXES = ("qibo-client-", "qibo-server-")


def bell() -> Any:
    from qibo import Circuit, gates

    circuit = Circuit(2)
    circuit.add(gates.H(0))
    circuit.add(gates.CNOT(0, 1))
    circuit.add(gates.M(0, 1))
    return circuit


def our_threads() -> set[threading.Thread]:
    """Threads started by our pools and by the embedded server."""
    return {t for t in threading.enumerate() if t.name.startswith(PREFIXES)}


def run_watched(main: Callable[[], Awaitable[T]]) -> tuple[T, float]:
    """``asyncio.run(main())``, and the longest the loop went without a 10 ms heartbeat."""
    longest = 0.0

    async def heartbeat() -> None:
        nonlocal longest
        last = time.monotonic()
        while True:
            await asyncio.sleep(0.01)
            now = time.monotonic()
            longest = max(longest, now - last)
            last = now

    async def watched() -> T:
        beat = asyncio.create_task(heartbeat())
        try:
            return await main()
        finally:
            beat.cancel()

    return asyncio.run(watched()), longest


async def twenty_results(client: AsyncClient, circuit: Any, timeout: float) -> list[Any]:
    """Submit 20 jobs at once, then await all their results at once, within ``timeout``."""
    jobs = await asyncio.gather(
        *(client.run_circuit(circuit, "numpy", nshots=NSHOTS) for _ in range(JOBS))
    )
    assert len({job.pid for job in jobs}) == JOBS
    return await asyncio.gather(*(job.result(timeout=timeout) for job in jobs))


def check_counts(results: list[Any]) -> None:
    assert len(results) == JOBS
    for result in results:
        counts = result.frequencies()
        assert sum(counts.values()) == NSHOTS
        assert set(counts) <= {"00", "11"}


# -- 20 jobs at once ----------------------------------------------------------------------


def test_twenty_jobs_awaited_concurrently_on_local(tmp_path: Path) -> None:
    circuit = bell()  # qibo imported before the loop starts
    before = our_threads()
    renderer = RecordingRenderer()

    async def main() -> list[Any]:
        url = f"local://{tmp_path / 'server'}"
        store = FilesystemResultStore(tmp_path / "results")
        async with AsyncClient("me", url, result_store=store, renderer=renderer) as client:
            assert isinstance(client.transport, ThreadedAsyncTransport)
            results = await asyncio.wait_for(twenty_results(client, circuit, 120), 180)
        assert our_threads() <= before, "closing left threads behind"
        return results

    results, stalled = run_watched(main)
    check_counts(results)
    assert stalled < STALL_LIMIT, f"the event loop stalled for {stalled:.2f} s"
    assert not [m for m in renderer.messages if m[1] in ("warning", "error")]
    assert our_threads() <= before


@pytest.mark.slow
def test_twenty_jobs_awaited_concurrently_over_loopback_http(tmp_path: Path) -> None:
    circuit = bell()
    with serve(tmp_path / "serve") as served:
        before = our_threads()

        async def main() -> list[Any]:
            store = FilesystemResultStore(tmp_path / "results")
            renderer = RecordingRenderer()
            async with AsyncClient(
                served.token, served.url, result_store=store, renderer=renderer
            ) as client:
                assert isinstance(client.transport, AsyncHttpTransport)
                results = await asyncio.wait_for(twenty_results(client, circuit, 120), 180)
                assert "long-poll" in client.transport.extensions
                report = await client.run_circuit(circuit, "numpy", nshots=NSHOTS, dry_run=True)
                assert isinstance(report, DryRunReport) and report.nqubits == 2  # nothing queued
                again = await client.jobs(status="success")
                assert len(again) == JOBS
            assert our_threads() <= before, "closing left threads behind"
            return results

        results, stalled = run_watched(main)
    check_counts(results)
    assert stalled < STALL_LIMIT, f"the event loop stalled for {stalled:.2f} s"


# -- offline, through the testing kit ------------------------------------------------------


def mock_client(**server: Any) -> tuple[AsyncClient, MockServer]:
    mock = MockServer(**server)
    client = AsyncClient(
        "t",
        "mock://server",
        transport=ThreadedAsyncTransport(mock.transport()),
        result_store=MemoryResultStore(),
        renderer=RecordingRenderer(),
    )
    return client, mock


def test_as_completed_results_and_the_job_list_offline() -> None:
    circuit = bell()

    async def main() -> None:
        client, mock = mock_client(fail_devices=["broken"])
        async with client:
            good = await client.run_circuits([circuit] * 3, "numpy", nshots=10)
            bad = await client.run_circuit(circuit, "broken", nshots=10)
            seen = [job.pid async for job in client.as_completed([*good, bad], timeout=30)]
            assert sorted(seen) == sorted(job.pid for job in [*good, bad])
            assert await bad.status() is QiboJobStatus.ERROR
            results = await client.results([*good, bad], timeout=30)
            assert results[-1] is None and all(r is not None for r in results[:-1])
            assert {job.pid for job in await client.jobs()} == set(seen)
            again = await client.get_job(good[0].pid)
            assert isinstance(again, AsyncJob) and await again.success()
            await again.delete()
            assert len(await client.jobs()) == 3
        assert len(mock.submissions) == 4

    asyncio.run(main())


def test_a_transport_plugin_without_an_async_adapter_runs_in_threads() -> None:
    mock = MockServer()

    class SyncOnly:
        @staticmethod
        @hookimpl
        def qibo_client_register_transports(register: Callable[[TransportPlugin], None]) -> None:
            register(
                TransportPlugin("sync-only", ("synconly",), lambda url, t: mock.transport(url))
            )

    get_plugin_manager().register(SyncOnly)
    try:
        transport = build_async_transport("synconly://lab", "t")
        assert isinstance(transport, ThreadedAsyncTransport)
        assert isinstance(build_async_transport("local://", "t"), ThreadedAsyncTransport)
        asyncio.run(transport.aclose())
        http = build_async_transport("https://lab.example", "t")
        assert isinstance(http, AsyncHttpTransport)
        asyncio.run(http.aclose())
        with pytest.raises(ConfigurationError, match="no transport serves"):
            build_async_transport("nowhere://x", "t")
    finally:
        get_plugin_manager().unregister(SyncOnly)


# -- timeouts leave the job --------------------------------------------------------------


def always_running(handler: BaseHTTPRequestHandler, index: int) -> None:
    reply(handler, 200, job_object("job-1", "running"))


def test_a_timeout_raises_job_timeout_error_and_leaves_the_job() -> None:
    with FaultServer(always_running) as server:

        async def main() -> None:
            transport = AsyncHttpTransport(server.url, "tok-123456", backoff_factor=0.01)
            async with AsyncClient(
                "tok-123456", server.url, transport=transport, renderer=RecordingRenderer()
            ) as client:
                job = await client.get_job("job-1")
                started = time.monotonic()
                with pytest.raises(JobTimeoutError) as caught:
                    await job.result(timeout=1.5)
                took = time.monotonic() - started
                assert took < 1.5 + SLACK
                assert caught.value.pid == "job-1"
                assert isinstance(caught.value, TimeoutError)
                assert await job.running()  # the handle still works

        asyncio.run(main())
    assert {seen.method for seen in server.seen} == {"GET"}


def test_a_timeout_on_local_leaves_the_job_to_finish(tmp_path: Path) -> None:
    circuit = bell()

    async def main() -> None:
        url = f"local://{tmp_path / 'server'}"
        async with AsyncClient(
            "me", url, result_store=MemoryResultStore(), renderer=RecordingRenderer()
        ) as client:
            report = await client.run_circuit(circuit, "numpy", nshots=NSHOTS, dry_run=True)
            assert isinstance(report, DryRunReport) and report.nqubits == 2  # nothing queued
            assert await client.jobs() == []
            job = await client.run_circuit(circuit, "numpy", nshots=NSHOTS)
            with pytest.raises(JobTimeoutError):
                await job.result(timeout=0)
            result = await job.result(timeout=60)
            assert sum(result.frequencies().values()) == NSHOTS

    asyncio.run(main())


# -- the httpx transport: retries and deadlines as the requests one ---------------------------


def always_502(handler: BaseHTTPRequestHandler, index: int) -> None:
    reply(handler, 502, {"detail": "bad gateway"})


@pytest.mark.parametrize("retries", [0, 2, 5])
def test_retries_count_as_the_sync_transport_counts(retries: int) -> None:
    with FaultServer(always_502) as server:
        sync = HttpTransport(server.url, "tok-123456", retries=retries, backoff_factor=0.01)
        with pytest.raises(TransientError):
            sync.get_job("job-1")
        sync_requests = len(server.seen)
        server.seen.clear()

        async def main() -> TransientError:
            transport = AsyncHttpTransport(
                server.url, "tok-123456", retries=retries, backoff_factor=0.01
            )
            try:
                with pytest.raises(TransientError) as caught:
                    await transport.get_job("job-1")
                return caught.value
            finally:
                await transport.aclose()

        error = asyncio.run(main())
    assert len(server.seen) == sync_requests == retries + 1
    assert error.status == 502
    assert "bad gateway" in str(error)


def retry_after_100(handler: BaseHTTPRequestHandler, index: int) -> None:
    reply(handler, 503, {"detail": "busy"}, headers={"Retry-After": "100"})


def trickle(handler: BaseHTTPRequestHandler, index: int) -> None:
    body = b'{"pid": "job-1", "status": "running"}' + b" " * 200
    handler.send_response(200)
    handler.send_header("Content-Type", "application/json")
    handler.send_header("Content-Length", str(len(body)))
    handler.end_headers()
    try:
        for byte in body:
            handler.wfile.write(bytes([byte]))
            handler.wfile.flush()
            time.sleep(0.5)
    except OSError:
        pass  # the client gave up, as it should


@pytest.mark.parametrize("behaviour", [retry_after_100, trickle], ids=["retry-after", "trickle"])
def test_result_timeout_is_one_deadline(behaviour: Callable[..., None]) -> None:
    with FaultServer(behaviour) as server:

        async def main() -> None:
            transport = AsyncHttpTransport(server.url, "tok-123456")
            job = AsyncJob(
                "job-1",
                AsyncClient(
                    "tok-123456",
                    server.url,
                    transport=transport,
                    result_store=MemoryResultStore(),
                    renderer=RecordingRenderer(),
                ),
            )
            started = time.monotonic()
            try:
                with pytest.raises(JobTimeoutError):
                    await job.result(timeout=3)
            finally:
                await transport.aclose()
            took = time.monotonic() - started
            assert took < 3 + SLACK, f"result(timeout=3) took {took:.1f} s"

        asyncio.run(main())
    assert {seen.method for seen in server.seen} == {"GET"}


# -- the httpx transport's edges, offline (httpx.MockTransport) ------------------------------


def offline(handler: Callable[[httpx.Request], httpx.Response]) -> AsyncHttpTransport:
    return AsyncHttpTransport(
        "https://lab.example",
        "secret-token-77",
        retries=1,
        backoff_factor=0.0,
        transport=httpx.MockTransport(handler),
    )


def test_the_token_stays_home_on_a_redirect_and_extensions_are_noted() -> None:
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        if request.url.host == "lab.example":
            return httpx.Response(302, headers={"Location": "https://elsewhere.example/x"})
        body = job_object("job-1", "success")
        return httpx.Response(200, json=body, headers={"X-Qibo-Extensions": "long-poll, cancel"})

    async def main() -> None:
        transport = offline(handler)
        info = await transport.get_job("job-1")
        assert info.status == "success"
        assert transport.supports_long_poll and "cancel" in transport.extensions
        await transport.aclose()

    asyncio.run(main())
    assert seen[0].headers["x-api-token"] == "secret-token-77"
    assert "x-api-token" not in seen[1].headers


def test_answers_that_are_not_the_protocol_say_so_without_the_token() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        if request.method == "POST":
            return httpx.Response(502, text="upstream secret-token-77 down")
        return httpx.Response(200, text="<html>secret-token-77</html>")

    async def main() -> None:
        transport = offline(handler)
        with pytest.raises(MalformedResponseError) as not_json:
            await transport.list_jobs()
        with pytest.raises(SubmissionOutcomeUnknownError) as unknown:
            await transport.submit_job(JobSubmission({"nqubits": 1}, "numpy"), idempotency_key="k")
        await transport.aclose()
        for error in (not_json.value, unknown.value):
            assert "secret-token-77" not in str(error)
        assert "may or may not be queued" in str(unknown.value)

    asyncio.run(main())


# -- the blocking client inside a running loop (Jupyter) --------------------------------------


@pytest.fixture
def local_client(tmp_path: Path) -> Iterator[Client]:
    with Client(
        "me",
        f"local://{tmp_path / 'server'}",
        renderer=RecordingRenderer(),
        result_store=MemoryResultStore(),
    ) as client:
        yield client


def test_a_sync_result_inside_a_running_loop_works_and_warns_nothing(local_client: Client) -> None:
    circuit = bell()

    async def cell() -> Any:
        # What a notebook cell does: blocking calls while the kernel's loop runs.
        job = local_client.run_circuit(circuit, "numpy", nshots=NSHOTS)
        return job.result(timeout=60)

    with warnings.catch_warnings():
        warnings.simplefilter("error")
        result = asyncio.run(cell())
    assert sum(result.frequencies().values()) == NSHOTS
    levels = {level for _, level in local_client.renderer.messages}  # type: ignore[attr-defined]
    assert not levels & {"warning", "error"}


def test_json_nested_too_deeply_is_refused_before_parsing() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, content=b"[" * 100 + b"]" * 100)

    async def main() -> None:
        transport = offline(handler)
        with pytest.raises(MalformedResponseError, match="nested more than"):
            await transport.list_jobs()
        await transport.aclose()

    asyncio.run(main())


def test_a_refused_connection_is_retried_as_the_sync_transport_retries_it() -> None:
    with refusing_url() as url:
        sync = HttpTransport(url, "tok-123456", backoff_factor=0.0)
        with pytest.raises(TransientError) as sync_error:
            sync.list_jobs()

        async def main() -> TransientError:
            transport = AsyncHttpTransport(url, "tok-123456", backoff_factor=0.0)
            try:
                with pytest.raises(TransientError) as caught:
                    await transport.list_jobs()
                return caught.value
            finally:
                await transport.aclose()

        error = asyncio.run(main())
    tried = re.search(r"tried (\d+) times", str(sync_error.value))
    assert tried is not None
    assert f"tried {tried.group(1)} times" in str(error)


def test_an_async_submission_whose_answer_breaks_off_is_an_unknown_outcome() -> None:
    from qibo_client.exceptions import SubmissionOutcomeUnknownError

    def cut_answer(handler: BaseHTTPRequestHandler, index: int) -> None:
        handler.send_response(200)
        handler.send_header("Content-Type", "application/json")
        handler.send_header("Content-Length", "100")
        handler.end_headers()
        handler.wfile.write(b'{"pid": "p')
        handler.wfile.flush()
        handler.close_connection = True

    async def submit(url: str) -> None:
        transport = AsyncHttpTransport(url, "tok-1234")
        try:
            await transport.submit_job(
                JobSubmission({"nqubits": 1, "queue": []}, "numpy"), idempotency_key="k2"
            )
        finally:
            await transport.aclose()

    with FaultServer(cut_answer) as server, pytest.raises(SubmissionOutcomeUnknownError) as caught:
        asyncio.run(submit(server.url))
    assert len(server.seen) == 1 and caught.value.idempotency_key == "k2"
