"""A loopback HTTP proxy that breaks requests on purpose, for fault-injection tests.

It forwards each request to an upstream server and, with a seeded random
choice per request, instead (or as well) drops the connection, resets it,
delays, truncates the body, or answers 500, 503 or an HTML 502 page. Every
request and the fault done to it are recorded, so a test can say what it
survived and count how many submissions reached the upstream.
"""

from __future__ import annotations

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

FAULTS = ("drop", "reset", "delay", "truncate", "500", "503", "html")
HOP_HEADERS = {"connection", "keep-alive", "transfer-encoding", "content-length", "host"}


@dataclass
class FaultPlan:
    """How often to break things; ``before_upstream`` faults never reach the server."""

    rate: float = 0.3
    seed: int = 1234
    faults: tuple[str, ...] = FAULTS
    delay_seconds: float = 0.3
    log: list[tuple[str, str, str]] = field(default_factory=list)
    forwarded_posts: int = 0

    def __post_init__(self) -> None:
        self._random = random.Random(self.seed)
        self._lock = threading.Lock()

    def pick(self) -> str | None:
        with self._lock:
            if self._random.random() >= self.rate:
                return None
            return self._random.choice(self.faults)


def _handler(upstream: str, plan: FaultPlan) -> type[BaseHTTPRequestHandler]:
    target = urlsplit(upstream)

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, format: str, *args: object) -> None:
            pass

        def _reset(self) -> None:
            self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            self.connection.close()
            self.close_connection = True

        def _answer(self, status: int, body: bytes, content_type: str) -> None:
            self.send_response(status)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def _forward(self) -> None:
            fault = plan.pick()
            plan.log.append((self.command, self.path, fault or "ok"))
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length) if length else None
            # Faults decided before forwarding: the upstream never sees the request.
            if fault == "drop" and self.command != "POST":
                self.connection.close()
                self.close_connection = True
                return
            if fault in {"500", "503", "html"} and self.command != "POST":
                if fault == "html":
                    page = b"<html><head><title>502 Bad Gateway</title></head><body>nginx</body></html>"
                    self._answer(502, page, "text/html")
                else:
                    self._answer(int(fault), b'{"detail": "injected fault"}', "application/json")
                return
            if fault == "delay":
                time.sleep(plan.delay_seconds)
            headers = {k: v for k, v in self.headers.items() if k.lower() not in HOP_HEADERS}
            connection = http.client.HTTPConnection(target.hostname, target.port, timeout=120)
            try:
                connection.request(self.command, self.path, body=body, headers=headers)
                answer = connection.getresponse()
                payload = answer.read()
            finally:
                connection.close()
            if self.command == "POST":
                plan.forwarded_posts += 1
            # Faults after forwarding: the upstream acted, the client does not learn the outcome.
            if fault in {"drop", "reset"}:
                self._reset() if fault == "reset" else self.connection.close()
                self.close_connection = True
                return
            self.send_response(answer.status)
            for key, value in answer.getheaders():
                if key.lower() not in HOP_HEADERS:
                    self.send_header(key, value)
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            if fault == "truncate" and len(payload) > 1:
                self.wfile.write(payload[: len(payload) // 2])
                self.wfile.flush()
                self._reset()
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
