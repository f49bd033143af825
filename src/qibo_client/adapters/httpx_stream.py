"""Reading httpx bodies for :mod:`qibo_client.adapters.httpx_transport`: JSON, error pages, archives.

The twin of :mod:`qibo_client.adapters.http_stream`. The caller's deadline
bounds the whole exchange from outside (``asyncio.timeout``), so a trickling
server cannot stretch it; here a body cut off mid-way becomes
:class:`IncompleteDownloadError`, which the retry layer knows to try again.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from tempfile import SpooledTemporaryFile
from typing import IO, Any

import httpx

from qibo_client.adapters.http_stream import ERROR_BODY_BYTES, nested_deeper_than
from qibo_client.exceptions import IncompleteDownloadError, MalformedResponseError
from qibo_client.ports import ResultStream
from qibo_client.protocol.wire import MAX_JSON_BYTES, MAX_JSON_DEPTH

#: A result archive is kept in memory up to this size while it arrives, then on disk.
SPOOL_BYTES = 16 * 1024 * 1024
#: Failures of a body already under way (httpx's own, with the underlying cause attached).
BROKEN_BODY = (httpx.TransportError, httpx.DecodingError, httpx.StreamError)


def broke_off(what: str, url: str, received: int, error: BaseException) -> IncompleteDownloadError:
    return IncompleteDownloadError(
        f"{what} from {url} broke off after {received} bytes ({type(error).__name__}); ask again"
    )


def complete(response: httpx.Response, body: bytes) -> httpx.Response:
    """A read copy of a streamed ``response`` holding ``body``, for ``.text`` and ``.json()``.

    The helpers of :mod:`qibo_client.adapters.http_support` word errors from
    it: they read only ``status_code``, ``headers``, ``text`` and ``json()``.
    """
    dropped = {"content-encoding", "content-length", "transfer-encoding"}
    headers = [(k, v) for k, v in response.headers.multi_items() if k.lower() not in dropped]
    return httpx.Response(
        response.status_code, headers=headers, content=body, request=response.request
    )


async def read_body(response: httpx.Response, *, limit: int = MAX_JSON_BYTES) -> bytes:
    """The whole body of a streamed JSON answer, read within ``limit`` bytes.

    Raises :class:`MalformedResponseError` for a body too big and
    :class:`IncompleteDownloadError` for one cut off.
    """
    url = str(response.request.url)
    parts: list[bytes] = []
    size = 0
    try:
        async for chunk in response.aiter_bytes():
            size += len(chunk)
            if size > limit:
                raise MalformedResponseError(
                    f"{response.request.method} {url} answered more than {limit} bytes of "
                    "JSON; refused (is the URL a Qibo server?)"
                )
            parts.append(chunk)
    except BROKEN_BODY as error:
        raise broke_off("the answer", url, size, error) from error
    return b"".join(parts)


def decode_json(response: httpx.Response, body: bytes, *, max_depth: int = MAX_JSON_DEPTH) -> Any:
    """``body`` decoded as JSON; ``ValueError`` when it is not JSON (the caller words it).

    Nesting deeper than ``max_depth`` is refused before parsing, as ``read_json`` does.
    """
    text = body.decode(response.encoding or "utf-8", errors="strict")
    if nested_deeper_than(text, max_depth):
        raise MalformedResponseError(
            f"{response.request.method} {response.request.url} answered JSON nested more "
            f"than {max_depth} arrays and objects deep; refused"
        )
    try:
        return json.loads(text)
    except RecursionError:  # a second line of defence
        raise MalformedResponseError(
            f"{response.request.method} {response.request.url} answered JSON nested too "
            "deeply to read"
        ) from None


async def error_page(response: httpx.Response, *, limit: int = ERROR_BODY_BYTES) -> httpx.Response:
    """Up to ``limit`` bytes of a body that is not the answer we wanted, as a read copy.

    A body that breaks off leaves what arrived; the rest goes with the connection.
    """
    parts: list[bytes] = []
    size = 0
    try:
        async for chunk in response.aiter_bytes():
            parts.append(chunk)
            size += len(chunk)
            if size >= limit:
                break
    except BROKEN_BODY:
        pass
    return complete(response, b"".join(parts)[:limit])


async def spool_archive(response: httpx.Response, pid: str) -> SpooledResultStream:
    """Receive a result archive into memory (or a temporary file past :data:`SPOOL_BYTES`)."""
    spool: IO[bytes] = SpooledTemporaryFile(max_size=SPOOL_BYTES)  # noqa: SIM115 - handed on
    received = 0
    try:
        async for chunk in response.aiter_bytes(1 << 20):
            spool.write(chunk)
            received += len(chunk)
    except BROKEN_BODY as error:
        spool.close()
        raise broke_off(
            f"the result of job {pid}", str(response.request.url), received, error
        ) from error
    except BaseException:
        spool.close()
        raise
    spool.seek(0)
    length = response.headers.get("Content-Length", "")
    identity = response.headers.get("Content-Encoding", "identity").lower() == "identity"
    # httpx decodes a content-encoding, so then the wire length says nothing of our bytes.
    return SpooledResultStream(spool, int(length) if identity and length.isdigit() else None)


class SpooledResultStream(ResultStream):
    """A result archive already received, read back front to back (closing frees it)."""

    def __init__(self, spool: IO[bytes], content_length: int | None) -> None:
        self._spool = spool
        self.content_length = content_length

    def iter_chunks(self, chunk_size: int = 1 << 20) -> Iterator[bytes]:
        while chunk := self._spool.read(chunk_size):
            yield chunk

    def close(self) -> None:
        self._spool.close()
