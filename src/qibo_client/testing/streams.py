"""A result download served from bytes, optionally cut off, for transports and store tests."""

from __future__ import annotations

from collections.abc import Iterator

from qibo_client.exceptions import IncompleteDownloadError
from qibo_client.ports.transport import ResultStream

_TRUE_LENGTH = -1


class BytesStream(ResultStream):
    """A :class:`~qibo_client.ports.ResultStream` over ``data``, in ``chunk_size`` pieces.

    ``content_length`` defaults to the true length (pass ``None`` for "not
    announced", or another number to lie). With ``fail_after``, the stream
    raises ``failure`` (an :class:`~qibo_client.exceptions.IncompleteDownloadError`
    by default) once that many chunks were delivered, as a broken connection
    would. ``delivered`` and ``closed`` are there to assert on.
    """

    def __init__(
        self,
        data: bytes,
        *,
        chunk_size: int | None = None,
        content_length: int | None = _TRUE_LENGTH,
        fail_after: int | None = None,
        failure: BaseException | None = None,
    ) -> None:
        self.data = bytes(data)
        self.chunk_size = chunk_size
        self.content_length = len(self.data) if content_length == _TRUE_LENGTH else content_length
        self.fail_after = fail_after
        self.failure = failure
        self.delivered = 0
        self.closed = False

    def iter_chunks(self, chunk_size: int = 1 << 20) -> Iterator[bytes]:
        size = max(1, self.chunk_size or chunk_size)
        for start in range(0, len(self.data), size):
            if self.fail_after is not None and self.delivered >= self.fail_after:
                raise self.failure or IncompleteDownloadError(
                    f"download truncated: the connection broke after {start} bytes"
                )
            self.delivered += 1
            yield self.data[start : start + size]

    def close(self) -> None:
        self.closed = True


def truncated(data: bytes, keep: float = 0.5) -> BytesStream:
    """A stream that announces ``len(data)`` bytes but ends after ``keep`` of them."""
    return BytesStream(data[: int(len(data) * keep)], content_length=len(data))
