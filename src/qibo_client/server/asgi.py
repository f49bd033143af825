"""The ASGI pieces under the HTTP face: the protocol middleware and the held long-polls.

The middleware also makes every protocol path answer with and without its
trailing slash, without a redirect: CUDA-Q posts to ``api/jobs``, the
published client to ``api/jobs/``, and a 307 would make a client send its
token and body twice (or, for some clients, not at all).

Plain ASGI and asyncio, so they work under any FastAPI/Starlette version the
``server`` extra allows.
"""

from __future__ import annotations

import asyncio
import logging
import traceback
from collections.abc import Callable
from typing import TypeVar

import anyio
import anyio.to_thread
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import MutableHeaders
from starlette.exceptions import HTTPException
from starlette.responses import JSONResponse
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from qibo_client.protocol.wire import API_PREFIX, EXTENSIONS_HEADER, TOKEN_HEADER
from qibo_client.server.storage import DISK_FULL_DETAIL, is_disk_full

log = logging.getLogger("qibo_client.server.http")

T = TypeVar("T")

#: Threads reserved for held long-poll requests, apart from the pool every other call uses.
LONG_POLL_THREADS = 256
#: Scope keys set by :class:`ProtocolMiddleware` on a path that came without its trailing slash.
SLASHLESS = "qibo_client.slashless"
ORIGINAL_PATH = "qibo_client.original_path"


def sent_without_slash(scope: Scope) -> bool:
    """True when the request named its path without the trailing slash (``api/jobs``)."""
    return bool(scope.get(SLASHLESS))


def with_trailing_slash(scope: Scope) -> Scope:
    """``scope`` with a slash added to a protocol path that lacks it (noted in the scope).

    Only paths under ``/api/`` are touched: ``/docs`` and ``/openapi.json`` stay as they are.
    """
    path = scope["path"]
    if path.endswith("/") or not (path + "/").startswith(API_PREFIX):
        return scope
    scope = {**scope, "path": path + "/", SLASHLESS: True, ORIGINAL_PATH: path}
    raw = scope.get("raw_path")
    if isinstance(raw, bytes) and not raw.endswith(b"/"):
        scope["raw_path"] = raw + b"/"
    return scope


class _BodyTooLarge(HTTPException):
    """Raised while reading a body past the limit; an HTTPException so FastAPI lets it through."""

    def __init__(self, limit: int) -> None:
        super().__init__(
            413, f"the request body is larger than this server accepts ({limit} bytes)"
        )


class ProtocolMiddleware:
    """Adds ``X-Qibo-Extensions`` to every answer, bounds request bodies, hides crashes.

    A protocol path without its trailing slash is served as if it had one
    (:func:`with_trailing_slash`). A body over ``max_body`` bytes (by its ``Content-Length`` or by the bytes
    actually received) answers 413; a full disk answers 507 saying so; any other
    unexpected exception is logged (method and path only) and answers 500
    ``{"detail": "internal error"}``.
    """

    def __init__(self, app: ASGIApp, *, extensions: str, max_body: int) -> None:
        self.app = app
        self.extensions = extensions
        self.max_body = max_body

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        scope = with_trailing_slash(scope)
        started = False
        received = 0

        async def send_with_header(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
                MutableHeaders(scope=message).append(EXTENSIONS_HEADER, self.extensions)
            await send(message)

        async def bounded_receive() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self.max_body:
                    raise _BodyTooLarge(self.max_body)
            return message

        declared = dict(scope["headers"]).get(b"content-length", b"")
        if declared.isdigit() and int(declared) > self.max_body:
            await _send_json(scope, send_with_header, 413, _BodyTooLarge(self.max_body).detail)
            return
        try:
            await self.app(scope, bounded_receive, send_with_header)
        except _BodyTooLarge as error:
            if not started:
                await _send_json(scope, send_with_header, 413, error.detail)
        except Exception as error:
            if started:
                raise
            if is_disk_full(error):
                log.error("answering %s %s: the disk is full", scope["method"], scope["path"])
                await _send_json(scope, send_with_header, 507, DISK_FULL_DETAIL)
                return
            _log_crash(scope, error)
            await _send_json(scope, send_with_header, 500, "internal error")


def _log_crash(scope: Scope, error: Exception) -> None:
    """Log the method, path and traceback, with the caller's token blanked wherever it shows."""
    text = "".join(traceback.format_exception(error))
    token = dict(scope["headers"]).get(TOKEN_HEADER.encode(), b"").decode("latin-1").strip()
    if token:
        text = text.replace(token, "<x-api-token>")
    log.error("internal error answering %s %s\n%s", scope["method"], scope["path"], text)


async def _send_json(scope: Scope, send: Send, status: int, detail: str) -> None:
    response = JSONResponse({"detail": detail}, status_code=status)
    await response(scope, _no_body, send)


async def _no_body() -> Message:  # pragma: no cover - a JSONResponse never reads the request
    return {"type": "http.disconnect"}


class HeldRequests:
    """The long-polls being held: run in their own thread pool, and let go at once on shutdown.

    Once :meth:`release` is called (by ``serve`` when asked to stop), every held
    request answers the job as it is now, and new ones do not wait.
    """

    def __init__(self, threads: int = LONG_POLL_THREADS) -> None:
        self.threads = threads
        self.released = False
        self._loop: asyncio.AbstractEventLoop | None = None
        self._event: asyncio.Event | None = None
        self._limiter: anyio.CapacityLimiter | None = None

    async def run(self, hold: Callable[[], T], now: Callable[[], T]) -> T:
        """``hold()`` in a worker thread, or ``now()`` if released before it returns."""
        loop = asyncio.get_running_loop()
        if self._loop is not loop or self._event is None or self._limiter is None:
            self._loop, self._event = loop, asyncio.Event()
            self._limiter = anyio.CapacityLimiter(self.threads)
            if self.released:
                self._event.set()
        if not self.released:
            held = asyncio.ensure_future(
                anyio.to_thread.run_sync(hold, limiter=self._limiter, abandon_on_cancel=True)
            )
            released = asyncio.ensure_future(self._event.wait())
            try:
                await asyncio.wait({held, released}, return_when=asyncio.FIRST_COMPLETED)
            finally:
                released.cancel()
            if held.done():
                return held.result()
            held.cancel()  # the thread is left to end on its own (the core is closing)
        return await run_in_threadpool(now)

    def release(self) -> None:
        """Answer every held request now; safe from a signal handler or another thread."""
        self.released = True
        if self._loop is not None and self._event is not None:
            self._loop.call_soon_threadsafe(self._event.set)
