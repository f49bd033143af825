"""Reading HTTP bodies inside a deadline and a size cap: JSON answers and result archives.

A server that trickles its answer byte by byte keeps every single read
within the socket timeout; only checking the clock between chunks bounds the
whole. A body cut off mid-way becomes :class:`IncompleteDownloadError`, which
the transport's retry layer knows to try again.
"""

from __future__ import annotations

import itertools
import json
import re
from collections.abc import Iterator
from typing import Any

import requests
from urllib3.exceptions import HTTPError as Urllib3Error

from qibo_client.domain.deadline import Deadline
from qibo_client.exceptions import (
    DeadlineExceededError,
    IncompleteDownloadError,
    MalformedResponseError,
)
from qibo_client.ports import ResultStream
from qibo_client.protocol.wire import MAX_JSON_BYTES, MAX_JSON_DEPTH

#: Bytes read at a time from a JSON answer; small enough to notice the deadline often.
JSON_CHUNK = 64 * 1024
#: How much of an error page is read for its message.
ERROR_BODY_BYTES = 64 * 1024
#: Failures of a body already under way.
BROKEN_BODY = (requests.RequestException, Urllib3Error, OSError)


#: A JSON string once its escapes are gone; the bytes that are neither quote nor bracket.
_JSON_STRING = re.compile(rb'"[^"]*"')
_NOT_MARKS = bytes(byte for byte in range(256) if byte not in b'"[]{}')
#: Opening brackets become +1, closing ones -1 (read as signed bytes); quotes are dropped.
_STEPS = bytes.maketrans(b"[{]}", b"\x01\x01\xff\xff")


def nested_deeper_than(text: str, max_depth: int) -> bool:
    """True if arrays and objects nest more than ``max_depth`` deep in the JSON ``text``.

    Measured without parsing and at C speed (a 64 MiB answer takes a second or
    two at worst, a job list of 16 MiB milliseconds): escapes are dropped, then
    strings, so brackets inside them do not count. UTF-8 never puts a quote,
    backslash or bracket byte inside another character. For text that is not
    JSON the answer may be wrong, and the parser refuses it anyway.
    """
    data = text.encode("utf-8", "surrogatepass")
    if b"\\" in data:  # ``\\`` first, left to right, is how a JSON reader pairs escapes
        data = data.replace(b"\\\\", b"").replace(b'\\"', b"")
    marks = data.translate(None, _NOT_MARKS)  # quotes and brackets only
    if b'"' in marks:
        # Two quotes with nothing between them change no bracket's side of a string.
        marks = _JSON_STRING.sub(b"", marks.replace(b'""', b""))
    steps = marks.translate(_STEPS, b'"')
    if b"\x01" * (max_depth + 1) in steps:
        return True
    return max(itertools.accumulate(memoryview(steps).cast("b")), default=0) > max_depth


def out_of_time(method: str, url: str, what: str) -> DeadlineExceededError:
    return DeadlineExceededError(
        status=0,
        method=method,
        url=url,
        message=f"{what} did not arrive before the deadline; nothing was lost, ask again later",
    )


def iter_body(
    response: requests.Response, deadline: Deadline, chunk_size: int, what: str
) -> Iterator[bytes]:
    """The body's chunks; the deadline is checked between them, a cut-off is retryable.

    ``read1`` hands over whatever has arrived instead of waiting for a whole
    chunk, so a trickling server cannot hold a read past the deadline.
    """
    method = response.request.method or "GET"
    url = response.url
    received = 0
    try:
        while chunk := response.raw.read1(chunk_size, decode_content=True):
            received += len(chunk)
            yield chunk
            if deadline.expired:
                raise out_of_time(method, url, what)
    except BROKEN_BODY as error:
        if deadline.expired:
            raise out_of_time(method, url, what) from error
        raise IncompleteDownloadError(
            f"{what} from {url} broke off after {received} bytes ({type(error).__name__}); "
            "ask again"
        ) from error


def read_json(
    response: requests.Response,
    deadline: Deadline,
    *,
    limit: int = MAX_JSON_BYTES,
    max_depth: int = MAX_JSON_DEPTH,
) -> Any:
    """The decoded JSON of a (streamed) answer, read within ``deadline`` and ``limit`` bytes.

    Raises :class:`MalformedResponseError` for a body that is too big, nested
    more than ``max_depth`` arrays and objects deep (measured before parsing,
    so the parser never recurses far), or not JSON (a ``ValueError`` the
    caller words with the answer's details).
    """
    parts: list[bytes] = []
    size = 0
    for chunk in iter_body(response, deadline, JSON_CHUNK, "the answer"):
        size += len(chunk)
        if size > limit:
            response.close()
            raise MalformedResponseError(
                f"{response.request.method} {response.url} answered more than {limit} bytes "
                "of JSON; refused (is the URL a Qibo server?)"
            )
        parts.append(chunk)
    body = b"".join(parts)
    response._content = body  # so that .text and .json() keep working for error messages
    text = body.decode(response.encoding or "utf-8", errors="strict")
    if nested_deeper_than(text, max_depth):
        raise MalformedResponseError(
            f"{response.request.method} {response.url} answered JSON nested more than "
            f"{max_depth} arrays and objects deep; refused"
        )
    try:
        return json.loads(text)
    except RecursionError:  # kept as a second line of defence (a lying depth count)
        raise MalformedResponseError(
            f"{response.request.method} {response.url} answered JSON nested too deeply to read"
        ) from None


def prefetch(
    response: requests.Response, deadline: Deadline, *, limit: int = ERROR_BODY_BYTES
) -> None:
    """Read up to ``limit`` bytes of a body that is not the answer we wanted (an error page).

    Its text then serves the error message; the rest is dropped with the
    connection. A body that breaks off or runs out of time leaves what arrived.
    """
    parts: list[bytes] = []
    size = 0
    try:
        for chunk in iter_body(response, deadline, JSON_CHUNK, "the error page"):
            parts.append(chunk)
            size += len(chunk)
            if size >= limit:
                break
    except (IncompleteDownloadError, DeadlineExceededError):
        pass
    response._content = b"".join(parts)[:limit]


class HttpResultStream(ResultStream):
    """A result archive arriving over HTTP, read in large chunks within a deadline."""

    def __init__(self, response: requests.Response, pid: str, deadline: Deadline) -> None:
        self._response = response
        self._pid = pid
        self._deadline = deadline
        length = response.headers.get("Content-Length", "")
        self.content_length = int(length) if length.isdigit() else None
        if response.headers.get("Content-Encoding", "identity").lower() != "identity":
            # requests decodes a content-encoding, so the wire length says nothing
            # about the bytes we count; the gzip trailer still checks completeness.
            self.content_length = None

    def iter_chunks(self, chunk_size: int = 1 << 20) -> Iterator[bytes]:
        yield from iter_body(
            self._response, self._deadline, chunk_size, f"the result of job {self._pid}"
        )

    def close(self) -> None:
        self._response.close()
