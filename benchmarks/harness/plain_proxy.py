"""A loopback proxy that hides the server's extensions: it looks like a server without long-poll.

It forwards every request to the real server, but drops the query string
(so ``?wait=`` is never held) and the ``X-Qibo-Extensions`` header (so a
client sees a plain Qibo server, as the Qibo cloud is). For measuring how
our client waits on such a server.
"""

from __future__ import annotations

import http.client
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import urlsplit

HIDDEN = {"x-qibo-extensions", "connection", "keep-alive", "transfer-encoding"}
CHUNK = 1 << 20


class PlainProxy:
    """Serves on ``127.0.0.1:<free port>``; ``url`` is its base URL. Use as a context manager."""

    def __init__(self, target: str) -> None:
        parts = urlsplit(target)
        host, port = parts.hostname or "127.0.0.1", parts.port or 80

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def _forward(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else None
                headers = {k: v for k, v in self.headers.items() if k.lower() not in HIDDEN}
                upstream = http.client.HTTPConnection(host, port, timeout=120)
                try:
                    upstream.request(self.command, self.path.split("?", 1)[0], body, headers)
                    answer = upstream.getresponse()
                    self.send_response(answer.status, answer.reason)
                    for key, value in answer.getheaders():
                        if key.lower() not in HIDDEN:
                            self.send_header(key, value)
                    if answer.getheader("Content-Length") is None:
                        data = answer.read()
                        self.send_header("Content-Length", str(len(data)))
                        self.end_headers()
                        self.wfile.write(data)
                        return
                    self.end_headers()
                    while chunk := answer.read(CHUNK):
                        self.wfile.write(chunk)
                finally:
                    upstream.close()

            do_GET = do_POST = do_DELETE = _forward

            def log_message(self, format: str, *args: object) -> None:
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}"
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    def __enter__(self) -> PlainProxy:
        self._thread.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self._server.shutdown()
        self._server.server_close()
