"""A loopback HTTP proxy that breaks requests on purpose, for fault-injection tests.

It forwards each request to an upstream server and, with a seeded random
choice per request, instead (or as well) drops the connection, resets it,
stalls or delays, truncates the body at a random point, or answers 500, 503 or
an HTML 502 page. Every request and the fault done to it are recorded (with
whether the upstream saw the request), so a test can say what it survived and
count how many submissions reached the upstream.

Where a fault strikes:

- ``drop``/``reset`` of a GET or DELETE: before forwarding (the server never
  sees it); of a POST: after forwarding (the server queued the job, the client
  never hears so).
- ``500``/``503``: before forwarding, for every method (an overloaded gateway).
- ``html``: an nginx-style 502 page; before forwarding for GET and DELETE,
  after forwarding for POST (the gateway lost the upstream's answer).
- ``truncate``: the upstream's answer with its full ``Content-Length`` but
  only part of the body, then a reset.
- ``delay``: ``delay_seconds`` before forwarding; ``stall``: ``stall_seconds``
  before forwarding (longer than a client's read timeout, so it gives up).
"""

from __future__ import annotations

import collections
import contextlib
import http.client
import random
import socket
import struct
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import urlsplit

FAULTS = ("drop", "reset", "delay", "stall", "truncate", "500", "503", "html")
HOP_HEADERS = {"connection", "keep-alive", "transfer-encoding", "content-length", "host"}
HTML_502 = (
    b"<html>\r\n<head><title>502 Bad Gateway</title></head>\r\n<body>\r\n"
    b"<center><h1>502 Bad Gateway</h1></center>\r\n<hr><center>nginx</center>\r\n"
    b"</body>\r\n</html>\r\n"
)


@dataclass(frozen=True)
class Record:
    """One request through the proxy: what was asked, what was done, did upstream see it."""

    method: str
    path: str
    fault: str
    forwarded: bool


@dataclass
class FaultPlan:
    """How often to break things, and the record of what was broken.

    ``rate`` is the chance that a request gets a fault, ``faults`` the ones to
    choose from (uniformly); the same ``seed`` gives the same sequence of
    choices (which request gets which still depends on thread timing).
    """

    rate: float = 0.3
    seed: int = 1234
    faults: tuple[str, ...] = FAULTS
    delay_seconds: float = 0.3
    stall_seconds: float = 3.0
    log: list[Record] = field(default_factory=list)

    def __post_init__(self) -> None:
        unknown = set(self.faults) - set(FAULTS)
        if unknown:
            raise ValueError(f"unknown faults {sorted(unknown)}; choose from {FAULTS}")
        self._random = random.Random(self.seed)
        self._lock = threading.Lock()

    def pick(self) -> tuple[str | None, float]:
        """The fault for the next request (``None``: none), and where to cut a truncation."""
        with self._lock:
            fault = None
            if self._random.random() < self.rate:
                fault = self._random.choice(self.faults)
            return fault, self._random.random()

    def record(self, method: str, path: str, fault: str | None, forwarded: bool) -> None:
        with self._lock:
            self.log.append(Record(method, path, fault or "ok", forwarded))

    @property
    def forwarded_posts(self) -> int:
        """How many job submissions reached the upstream."""
        return sum(1 for r in self.log if r.method == "POST" and r.forwarded)

    def counts(self) -> dict[str, int]:
        """How many requests got each fault (``ok``: none)."""
        return dict(collections.Counter(r.fault for r in self.log))

    def summary(self) -> str:
        """One line for reports: requests, faults by kind, submissions forwarded."""
        counts = self.counts()
        faulted = sum(n for name, n in counts.items() if name != "ok")
        kinds = ", ".join(f"{name} {counts[name]}" for name in FAULTS if name in counts)
        return (
            f"{len(self.log)} requests, {faulted} faulted ({kinds or 'none'}); "
            f"{self.forwarded_posts} submissions reached the server"
        )


def _handler(upstream: str, plan: FaultPlan) -> type[BaseHTTPRequestHandler]:
    target = urlsplit(upstream)

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, format: str, *args: object) -> None:
            pass

        def _hang_up(self, reset: bool) -> None:
            if reset:  # RST instead of FIN: the client sees "connection reset by peer"
                self.connection.setsockopt(
                    socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0)
                )
            self.connection.close()
            self.close_connection = True

        def _answer(self, status: int, body: bytes, content_type: str) -> None:
            self.send_response(status)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def _injected(self, fault: str) -> None:
            if fault == "html":
                self._answer(502, HTML_502, "text/html")
            else:
                body = b'{"detail": "injected fault"}'
                self._answer(int(fault), body, "application/json")

        def _upstream(self, body: bytes | None) -> tuple[int, list[tuple[str, str]], bytes]:
            headers = {k: v for k, v in self.headers.items() if k.lower() not in HOP_HEADERS}
            connection = http.client.HTTPConnection(target.hostname, target.port, timeout=120)
            try:
                connection.request(self.command, self.path, body=body, headers=headers)
                answer = connection.getresponse()
                return answer.status, answer.getheaders(), answer.read()
            finally:
                connection.close()

        def handle(self) -> None:
            # The client gave up first (its read timeout), or reset a kept-alive socket.
            with contextlib.suppress(BrokenPipeError, ConnectionResetError):
                super().handle()

        def _forward(self) -> None:
            fault, cut = plan.pick()
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length) if length else None
            post = self.command == "POST"
            before = fault in {"500", "503"} or (not post and fault in {"drop", "reset", "html"})
            plan.record(self.command, self.path, fault, forwarded=not before)
            if before:
                if fault in {"drop", "reset"}:
                    self._hang_up(reset=fault == "reset")
                else:
                    self._injected(fault)  # type: ignore[arg-type]
                return
            if fault in {"delay", "stall"}:
                time.sleep(plan.delay_seconds if fault == "delay" else plan.stall_seconds)
            try:
                status, headers, payload = self._upstream(body)
            except OSError:
                self._answer(502, HTML_502, "text/html")
                return
            # Faults after forwarding: the upstream acted, the client does not learn the outcome.
            if fault in {"drop", "reset"}:
                self._hang_up(reset=fault == "reset")
                return
            if fault == "html":
                self._answer(502, HTML_502, "text/html")
                return
            self.send_response(status)
            for key, value in headers:
                if key.lower() not in HOP_HEADERS:
                    self.send_header(key, value)
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            if fault == "truncate" and len(payload) > 1:
                self.wfile.write(payload[: max(1, int(len(payload) * cut))])
                self.wfile.flush()
                self._hang_up(reset=True)
                return
            self.wfile.write(payload)

        do_GET = do_POST = do_DELETE = _forward

    return Handler


@contextmanager
def faulty_proxy(upstream: str, plan: FaultPlan) -> Iterator[str]:
    """Run the proxy on 127.0.0.1 for the ``with`` block; yields its base URL."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(upstream, plan))
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
