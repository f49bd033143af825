"""Helpers for the HTTP transport tests: protocol-shaped answers, a recording renderer,
a result archive written by qibo, and a tiny loopback server that misbehaves on cue."""

from __future__ import annotations

import contextlib
import io
import json
import socket
import tarfile
import threading
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from qibo_client.domain.records import DiskQuota, JobInfo, ProjectQuota
from qibo_client.ports import JobSnapshot, ProgressView, Renderer

# -- protocol-shaped JSON ------------------------------------------------------------


def project_quota(project: str = "personal", device: str = "numpy") -> dict[str, Any]:
    """A project-quota object with every field the protocol lists."""
    return {
        "project": project,
        "partition": {
            "name": device,
            "max_num_qubits": 30,
            "hardware_type": "simulator",
            "description": "numpy simulator",
            "status": "available",
        },
        "seconds_left": 3500.0,
        "shots_left": 99000,
        "jobs_left": 98,
        "max_num_shots": 100000,
        "max_walltime_seconds": 3600,
        "seconds_max": 3600,
        "shots_max": 100000,
        "jobs_max": 100,
        "prealloc_seconds": 0,
        "prealloc_shots": 0,
        "prealloc_jobs": 0,
    }


def job_object(pid: str, status: str, *, email: str = "me@lab.org", **extra: Any) -> dict[str, Any]:
    """A job object with the protocol's required fields, plus ``extra``."""
    return {
        "pid": pid,
        "user": {"email": email},
        "projectquota": project_quota(),
        "circuit": {"nqubits": 1, "queue": []},
        "status": status,
        "created_at": "2026-11-23T10:00:00Z",
        "updated_at": "2026-11-23T10:00:05Z",
        "nshots": 100,
        "result_path": f"/results/{pid}.tar.gz",
        **extra,
    }


def disk_quota_answer(email: str = "me@lab.org") -> list[dict[str, Any]]:
    return [{"user": {"email": email}, "kbs_left": 9000.5, "kbs_max": 10000}]


def version_answer(server: str = "0.3.2", minimum: str = "0.2.8") -> dict[str, str]:
    return {"server_qibo_version": server, "minimum_client_qibo_version": minimum}


# -- a result archive as a server would send it ----------------------------------------


def qibo_result_archive(folder: Path, nshots: int | None = 50) -> tuple[bytes, Path]:
    """Run a small circuit with qibo, dump its result, pack it as the server would.

    Returns the ``.tar.gz`` bytes and the path of the ``results.npy`` that went in,
    so a test can compare with ``qibo.result.load_result`` on the same file.
    """
    import qibo
    from qibo import gates

    qibo.set_backend("numpy")
    circuit = qibo.Circuit(2)
    circuit.add(gates.H(0))
    circuit.add(gates.CNOT(0, 1))
    if nshots is not None:
        circuit.add(gates.M(0, 1))
    result = circuit(nshots=nshots) if nshots is not None else circuit()
    if nshots is not None:
        result.samples()  # draw the shots now, so the file holds them and not only probabilities
    folder.mkdir(parents=True, exist_ok=True)
    results = folder / "results.npy"
    result.dump(results)
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as archive:
        archive.add(results, arcname="results.npy")
    return buffer.getvalue(), results


def logs_archive() -> bytes:
    """What an errored job's download holds: its logs."""
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as archive:
        content = b"Traceback: the device caught fire\n"
        info = tarfile.TarInfo("stderr.log")
        info.size = len(content)
        archive.addfile(info, io.BytesIO(content))
    return buffer.getvalue()


# -- a renderer that remembers what it was asked to show ------------------------------


@dataclass
class RecordingView(ProgressView):
    updates: list[JobSnapshot] = field(default_factory=list)
    finished: list[JobSnapshot] = field(default_factory=list)

    def update(self, snapshot: JobSnapshot) -> None:
        self.updates.append(snapshot)

    def finish(self, snapshot: JobSnapshot, *, results_folder: str | None = None) -> None:
        self.finished.append(snapshot)


@dataclass
class RecordingRenderer(Renderer):
    messages: list[tuple[str, str]] = field(default_factory=list)
    quotas: list[tuple[DiskQuota, list[ProjectQuota]]] = field(default_factory=list)
    job_tables: list[tuple[str, list[JobInfo]]] = field(default_factory=list)
    errors: list[BaseException] = field(default_factory=list)
    views: list[RecordingView] = field(default_factory=list)

    def start_progress(self, snapshot: JobSnapshot) -> ProgressView:
        view = RecordingView([snapshot])
        self.views.append(view)
        return view

    def show_quota(self, disk: DiskQuota, projects: Sequence[ProjectQuota]) -> None:
        self.quotas.append((disk, list(projects)))

    def show_jobs(self, user: str, jobs: Sequence[JobInfo]) -> None:
        self.job_tables.append((user, list(jobs)))

    def show_error(self, error: BaseException) -> None:
        self.errors.append(error)

    def show_message(self, text: str, *, level: str = "info") -> None:
        self.messages.append((text, level))


# -- a loopback server that misbehaves on cue -----------------------------------------


@dataclass
class SeenRequest:
    method: str
    path: str
    headers: dict[str, str]
    body: bytes


#: Called with the request handler and the 0-based index of the request.
Behaviour = Callable[[BaseHTTPRequestHandler, int], None]


def reply(
    handler: BaseHTTPRequestHandler,
    status: int,
    body: Any = b"",
    headers: dict[str, str] | None = None,
) -> None:
    """Answer normally; a non-bytes body is sent as JSON."""
    data = body if isinstance(body, bytes) else json.dumps(body).encode()
    handler.send_response(status)
    kind = "application/octet-stream" if isinstance(body, bytes) else "application/json"
    handler.send_header("Content-Type", kind)
    handler.send_header("Content-Length", str(len(data)))
    for name, value in (headers or {}).items():
        handler.send_header(name, value)
    handler.end_headers()
    handler.wfile.write(data)


def hang_up(handler: BaseHTTPRequestHandler) -> None:
    """Close the connection without answering (the request was read in full)."""
    handler.close_connection = True
    with contextlib.suppress(OSError):
        handler.connection.shutdown(socket.SHUT_RDWR)


def cut_off(handler: BaseHTTPRequestHandler, data: bytes, sent: int) -> None:
    """Promise ``len(data)`` bytes, send ``sent`` of them, then close."""
    handler.send_response(200)
    handler.send_header("Content-Type", "application/gzip")
    handler.send_header("Content-Length", str(len(data)))
    handler.end_headers()
    handler.wfile.write(data[:sent])
    handler.wfile.flush()
    hang_up(handler)


class FaultServer:
    """A threaded HTTP/1.1 server on 127.0.0.1 that answers each request with ``behaviour``."""

    def __init__(self, behaviour: Behaviour) -> None:
        self.behaviour = behaviour
        self.seen: list[SeenRequest] = []
        self._lock = threading.Lock()
        server = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def _handle(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else b""
                with server._lock:
                    index = len(server.seen)
                    server.seen.append(
                        SeenRequest(self.command, self.path, dict(self.headers), body)
                    )
                server.behaviour(self, index)

            do_GET = do_POST = do_DELETE = _handle

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True
        )

    @property
    def url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}"

    def __enter__(self) -> FaultServer:
        self._thread.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)


@contextlib.contextmanager
def refusing_url() -> Iterator[str]:
    """A loopback URL whose port is bound but not listening: connections are refused."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    try:
        sock.bind(("127.0.0.1", 0))
        yield f"http://127.0.0.1:{sock.getsockname()[1]}"
    finally:
        sock.close()
