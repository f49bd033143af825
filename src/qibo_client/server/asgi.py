"""The ASGI piece under the HTTP face: the protocol middleware.

The middleware also makes every protocol path answer with and without its
trailing slash, without a redirect: CUDA-Q posts to ``api/jobs``, the
published client to ``api/jobs/``, and a 307 would make a client send its
token and body twice (or, for some clients, not at all).

It reads a request's body whole before the app does (bounded by
``max_body``), so a body nested too deep for Python's JSON reader answers a
400 saying so, and a client that goes away mid-body is let go quietly.

Plain ASGI and asyncio, so it works under any FastAPI/Starlette version the
``server`` extra allows.
"""

from __future__ import annotations

import itertools
import logging
import re
import traceback

import anyio
import anyio.to_thread
from starlette.datastructures import MutableHeaders
from starlette.exceptions import HTTPException
from starlette.responses import JSONResponse
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from qibo_client.protocol.wire import API_PREFIX, EXTENSIONS_HEADER, MAX_JSON_DEPTH, TOKEN_HEADER
from qibo_client.server.storage import DISK_FULL_DETAIL, is_disk_full

log = logging.getLogger("qibo_client.server.http")


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


_JSON_STRINGS = re.compile(rb'"(?:[^"\\]|\\.)*"', re.DOTALL)
_NOT_BRACKETS = bytes(b for b in range(256) if b not in b"[]{}")
_DEPTH_STEP = {ord("["): 1, ord("{"): 1, ord("]"): -1, ord("}"): -1}


def json_depth(data: bytes) -> int:
    """How deep arrays and objects nest in a JSON text, read without parsing it."""
    brackets = _JSON_STRINGS.sub(b'""', data).translate(None, _NOT_BRACKETS)
    return max(itertools.accumulate(map(_DEPTH_STEP.__getitem__, brackets)), default=0)


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
        app_receive: Receive = bounded_receive
        try:
            if scope["method"] in ("POST", "PUT", "PATCH"):
                body = await _whole_body(bounded_receive)
                if body is None:
                    return  # the client went away (or was dropped) before its body arrived
                if len(body) > 65536:  # scanned off the event loop: about 50 ms per MB
                    depth = await anyio.to_thread.run_sync(json_depth, body)
                else:
                    depth = json_depth(body)
                if depth > MAX_JSON_DEPTH:
                    detail = (
                        f"the request body nests JSON arrays and objects {depth} deep; this "
                        f"server reads at most {MAX_JSON_DEPTH} levels (a submission needs "
                        "fewer than ten)"
                    )
                    await _send_json(scope, send_with_header, 400, detail)
                    return
                app_receive = _replay(body, receive)
            await self.app(scope, app_receive, send_with_header)
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


async def _whole_body(receive: Receive) -> bytes | None:
    """The request's body, read to its end; ``None`` if the client disconnected first."""
    chunks = []
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            return None
        chunks.append(message.get("body", b""))
        if not message.get("more_body", False):
            return b"".join(chunks)


def _replay(body: bytes, receive: Receive) -> Receive:
    """A ``receive`` that gives ``body`` whole once, then listens for a disconnect."""
    sent = False

    async def replay() -> Message:
        nonlocal sent
        if not sent:
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}
        return await receive()

    return replay


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
