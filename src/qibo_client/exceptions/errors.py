"""Errors a user of qibo-client can catch.

The first three are the published 0.2.x names and keep their meaning. The rest
are ours; each subclasses the published error a 0.2.x script would already
catch for the same situation, so old ``except`` clauses still work.

This module imports only the standard library: every layer may raise these.
"""

from __future__ import annotations

from concurrent.futures import CancelledError
from dataclasses import dataclass
from typing import Any


class MalformedResponseError(Exception):
    """The server answered, but not with what the protocol says it should."""

    def __init__(
        self, message: str = "Server response body does not contain all the expected keys"
    ) -> None:
        self.message = message
        super().__init__(message)


class JobPostServerError(Exception):
    """The server refused to queue a job; ``message`` is the server's reason."""

    def __init__(self, message: str = "Server failed to post job to queue") -> None:
        self.message = message
        super().__init__(message)


@dataclass
class QiboApiError(RuntimeError):
    """A request failed: a non-2xx answer, or ``status == 0`` for a network failure.

    ``message`` is the server's own explanation when it gave one.
    """

    status: int
    method: str
    url: str
    message: str
    payload: dict[str, Any] | None = None

    def __post_init__(self) -> None:
        super().__init__(self.message)

    def __str__(self) -> str:
        return self.message

    def summary(self) -> str:
        """One line: status, message, method and URL."""
        return f"[{self.status} Error] {self.message} ({self.method} {self.url})"

    def get_plain_message(self) -> str:
        """The same as :meth:`summary` (kept from 0.2.x)."""
        return self.summary()

    def __reduce__(self) -> tuple[Any, ...]:
        # Pickle by state: subclasses take other constructor arguments, and the
        # dataclass's own __init__ cannot be called with the exception's args.
        return (_restore, (type(self), self.args, dict(self.__dict__)))


def _restore(cls: type[BaseException], args: tuple[Any, ...], state: dict[str, Any]) -> Any:
    """Rebuild a pickled :class:`QiboApiError` (or subclass) from its state."""
    error = cls.__new__(cls, *args)
    error.args = args
    error.__dict__.update(state)
    return error


class SubmissionOutcomeUnknownError(QiboApiError):
    """A job submission got no confirmed answer: it may or may not be queued.

    It is never resubmitted silently. ``idempotency_key`` identifies the attempt;
    a server that supports idempotency keys returns the same pid if the same
    submission is sent again with it (``Client.run_circuit(...,
    idempotency_key=err.idempotency_key)``).
    """

    def __init__(
        self, *, method: str, url: str, message: str, idempotency_key: str, status: int = 0
    ) -> None:
        self.idempotency_key = idempotency_key
        super().__init__(status=status, method=method, url=url, message=message)


class TransientError(QiboApiError):
    """The server could not answer now (network failure, overload, restart, throttling).

    A transport raises it once its own retries for the request are spent, so
    the domain knows by type, never by an HTTP number, that asking again later
    may work. ``status`` is the last HTTP status seen, or 0 without an answer.
    """


class DeadlineExceededError(TransientError):
    """A request ran out of the caller's time (a ``timeout=`` deadline) before it was answered.

    Nothing was lost: the job is on the server as before.
    """


class JobTimeoutError(TimeoutError):
    """Waiting for a job ran past the caller's ``timeout``; the job is untouched.

    Pick it up later with ``client.get_job(err.pid).result()``.
    """

    def __init__(self, pid: str, timeout: float, last_status: str | None) -> None:
        self.pid = pid
        self.timeout = timeout
        self.last_status = last_status
        super().__init__(
            f"job {pid} did not finish within {timeout:g} s (last status: "
            f"{last_status or 'unknown'}); it is still on the server: "
            f"client.get_job({pid!r}).result() picks it up again"
        )


class UnsafeResultError(MalformedResponseError):
    """A downloaded result archive or file was refused as unsafe or corrupt.

    Nothing from it was run or written outside the job's folder.
    """


class IncompleteDownloadError(UnsafeResultError):
    """A result download ended before all its bytes arrived; asking again may succeed."""


class ConfigurationError(ValueError):
    """A URL, option or plugin name we were given does not name anything usable."""




class InvalidArgumentError(QiboApiError, ValueError):
    """An argument was refused before anything was sent; nothing reached the server.

    It is a ``ValueError`` (what it is) and a :class:`QiboApiError` with
    ``status`` 0 (what code written for the published client catches, since
    there the server refused such arguments).
    """

    def __init__(self, message: str, *, method: str = "POST", url: str = "") -> None:
        super().__init__(status=0, method=method, url=url, message=message)


class InvalidArgumentTypeError(QiboApiError, TypeError):
    """An argument of the wrong type, refused before sending: a ``TypeError`` and a
    :class:`QiboApiError` (``status`` 0), for the same reason as :class:`InvalidArgumentError`."""

    def __init__(self, message: str, *, method: str = "POST", url: str = "") -> None:
        super().__init__(status=0, method=method, url=url, message=message)


class JobFailedError(RuntimeError):
    """The job ended in error on the server; ``stdout`` and ``stderr`` hold its logs when sent.

    :meth:`QiboJob.exception` returns it (``result()`` keeps the published
    behaviour and returns ``None``).
    """

    def __init__(self, pid: str, stdout: str | None = None, stderr: str | None = None) -> None:
        self.pid = pid
        self.stdout = stdout
        self.stderr = stderr
        tail = (stderr or stdout or "").strip()[-500:]
        super().__init__(f"job {pid} ended in error" + (f": {tail}" if tail else ""))


class JobCancelledError(CancelledError):
    """The job was cancelled (``QiboJob.cancel()`` or on the server): it has no result."""

    def __init__(self, pid: str) -> None:
        self.pid = pid
        super().__init__(f"job {pid} was cancelled")


__all__ = [
    "ConfigurationError",
    "DeadlineExceededError",
    "IncompleteDownloadError",
    "InvalidArgumentError",
    "InvalidArgumentTypeError",
    "JobCancelledError",
    "JobFailedError",
    "JobPostServerError",
    "JobTimeoutError",
    "MalformedResponseError",
    "QiboApiError",
    "SubmissionOutcomeUnknownError",
    "TransientError",
    "UnsafeResultError",
]
