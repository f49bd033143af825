"""Connections that cannot hold the server: whole requests in time, few waiting per client.

uvicorn drops an idle keep-alive connection after a few seconds, but it waits
forever for a request that arrives a byte at a time, and it counts
connections only once a request's head has arrived. 1,200 half-sent requests
once locked every real request out (1,024 open files). So each connection
here, while it is *waiting* (open, without a whole request to answer), has
``request_timeout`` seconds to send one, head and body (else 408 and
closed), and a client address may keep only ``per_client`` connections
waiting, the whole server ``total``: past that, the oldest waiting one is
closed. Long-polls and other requests being answered are not waiting, so
they are never dropped; uvicorn's ``limit_concurrency`` bounds those (503).
On loopback every local user shares one address: the oldest-first rule lets
a real request (sent at once) in while a slow one is dropped.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import OrderedDict
from typing import Any

from uvicorn.protocols.http.h11_impl import H11Protocol

log = logging.getLogger("qibo_client.server.http")

#: Seconds between two log lines about dropped connections (a flood must not flood the log).
LOG_EVERY = 30.0
_TIMEOUT_BODY = b'{"detail": "the request did not arrive in time; send it whole, at once"}'


class ConnectionGuard:
    """The waiting connections of one server, per client address and in all, oldest first."""

    def __init__(self, *, request_timeout: float, per_client: int, total: int) -> None:
        self.request_timeout = request_timeout
        self.per_client = per_client
        self.total = total
        self._waiting: OrderedDict[GuardedH11Protocol, str] = OrderedDict()
        self._per_host: dict[str, int] = {}
        self.dropped = 0
        self._logged_at = 0.0
        self._logged_count = 0

    def waiting(self, connection: GuardedH11Protocol, host: str) -> None:
        """``connection`` waits for a request; close the oldest waiting ones past the bounds."""
        if connection in self._waiting:
            return
        self._waiting[connection] = host
        self._per_host[host] = self._per_host.get(host, 0) + 1
        if self._per_host[host] > self.per_client:
            oldest = next(c for c, h in self._waiting.items() if h == host)
            oldest.drop("too many connections waiting from one address")
        if len(self._waiting) > self.total:
            oldest = next(iter(self._waiting))
            oldest.drop("too many connections waiting")

    def busy(self, connection: GuardedH11Protocol) -> None:
        """``connection`` has a whole request (or is gone): it no longer waits."""
        host = self._waiting.pop(connection, None)
        if host is not None:
            left = self._per_host[host] - 1
            if left:
                self._per_host[host] = left
            else:
                del self._per_host[host]

    def count_drop(self, why: str) -> None:
        self.dropped += 1
        now = time.monotonic()
        if now - self._logged_at >= LOG_EVERY:
            log.warning(
                "dropped %d slow or surplus connection(s) since the last report (%s)",
                self.dropped - self._logged_count,
                why,
            )
            self._logged_at, self._logged_count = now, self.dropped


class GuardedH11Protocol(H11Protocol):
    """uvicorn's h11 protocol, with the :class:`ConnectionGuard` of its server."""

    guard: ConnectionGuard

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self._deadline: asyncio.TimerHandle | None = None
        self._host = self.client[0] if self.client else ""
        self._wait()

    def _wait(self) -> None:
        self._disarm()
        self._deadline = self.loop.call_later(self.guard.request_timeout, self._too_slow)
        self.guard.waiting(self, self._host)

    def _disarm(self) -> None:
        deadline = getattr(self, "_deadline", None)
        if deadline is not None:
            deadline.cancel()
            self._deadline = None

    def handle_events(self) -> None:
        super().handle_events()
        cycle = self.cycle
        if cycle is not None and not cycle.more_body and not cycle.response_complete:
            self._disarm()  # a whole request: it is being answered
            self.guard.busy(self)

    def on_response_complete(self) -> None:
        super().on_response_complete()
        cycle = self.cycle  # a pipelined request may already be on its way
        if not self.transport.is_closing() and (cycle is None or cycle.response_complete):
            self._wait()

    def connection_lost(self, exc: Exception | None) -> None:
        self._disarm()
        self.guard.busy(self)
        super().connection_lost(exc)

    def _too_slow(self) -> None:
        self._deadline = None
        self.drop("a request did not arrive whole in time")

    def drop(self, why: str) -> None:
        """Close this waiting connection: 408 if a request had begun, silently if idle."""
        self._disarm()
        self.guard.busy(self)
        self.guard.count_drop(why)
        if self.transport.is_closing():
            return
        cycle: Any = self.cycle
        begun = (cycle is not None and not cycle.response_complete) or bool(
            getattr(self.conn, "trailing_data", (b"",))[0]
        )
        if begun and not (cycle is not None and cycle.response_started):
            head = (
                "HTTP/1.1 408 Request Timeout\r\ncontent-type: application/json\r\n"
                f"content-length: {len(_TIMEOUT_BODY)}\r\nconnection: close\r\n\r\n"
            )
            self.transport.write(head.encode("ascii") + _TIMEOUT_BODY)
        if cycle is not None:
            cycle.disconnected = True
            cycle.message_event.set()
        self.transport.close()


def guarded_protocol(
    *, request_timeout: float, per_client: int, total: int
) -> type[GuardedH11Protocol]:
    """A protocol class for ``uvicorn.Config(http=...)``, sharing one new guard."""
    guard = ConnectionGuard(request_timeout=request_timeout, per_client=per_client, total=total)
    return type("GuardedH11Protocol", (GuardedH11Protocol,), {"guard": guard})
