"""The errors the local server's core raises; its faces translate them."""

from __future__ import annotations


class ServerError(Exception):
    """A request the server answers with an HTTP-like error ``status`` and a ``detail``."""

    def __init__(self, status: int, detail: str) -> None:
        self.status = status
        self.detail = detail
        super().__init__(detail)

    def __repr__(self) -> str:
        return f"ServerError({self.status}, {self.detail!r})"


class JobRefused(Exception):
    """The server will not queue a submission; ``detail`` says why and what to do.

    The HTTP face answers ``{"detail": ...}`` without a pid: with 200 to a
    client posting the published 0.2 way, with 422 to any other (see
    ``docs/protocol.md``, "Refusals"); the in-process transport raises
    ``JobPostServerError``.
    """

    def __init__(self, detail: str) -> None:
        self.detail = detail
        super().__init__(detail)
