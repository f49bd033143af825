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

    The HTTP face answers 200 ``{"detail": ...}`` without a pid (the protocol's
    refusal); the in-process transport raises ``JobPostServerError``.
    """

    def __init__(self, detail: str) -> None:
        self.detail = detail
        super().__init__(detail)
