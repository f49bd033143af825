"""Errors a user of qibo-client can catch.

The first three are the published 0.2.x names and keep their meaning. The rest
are ours; each subclasses the published error a 0.2.x script would already
catch for the same situation, so old ``except`` clauses still work.

Nothing here is installed into the interpreter on import: the opt-in
:func:`install_qibo_error_hooks` prints our API errors cleanly when asked to.
"""

from __future__ import annotations

import contextlib
import sys
import threading
from collections.abc import Iterator
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


# -- opt-in presentation hooks (0.2.x installed these on import; we do not) ----------

_previous_sys_hook: Any = None
_previous_thread_hook: Any = None
_installed = False


def _print_api_error(error: BaseException) -> None:
    from qibo_client.bootstrap import build_renderer

    build_renderer().show_error(error)


def _sys_hook(exc_type: type[BaseException], exc: BaseException, tb: Any) -> None:
    if isinstance(exc, QiboApiError):
        _print_api_error(exc)
        return
    (_previous_sys_hook or sys.__excepthook__)(exc_type, exc, tb)


def _thread_hook(args: threading.ExceptHookArgs) -> None:
    if isinstance(args.exc_value, QiboApiError):
        _print_api_error(args.exc_value)
        return
    (_previous_thread_hook or threading.__excepthook__)(args)


def install_qibo_error_hooks() -> bool:
    """Print uncaught :class:`QiboApiError` as one clean message instead of a traceback.

    Returns False when the hooks were already installed.
    """
    global _previous_sys_hook, _previous_thread_hook, _installed
    if _installed:
        return False
    _previous_sys_hook, sys.excepthook = sys.excepthook, _sys_hook
    _previous_thread_hook, threading.excepthook = threading.excepthook, _thread_hook
    _installed = True
    return True


def uninstall_qibo_error_hooks() -> bool:
    """Restore the hooks that were there before :func:`install_qibo_error_hooks`."""
    global _installed
    if not _installed:
        return False
    sys.excepthook = _previous_sys_hook
    threading.excepthook = _previous_thread_hook
    _installed = False
    return True


@contextlib.contextmanager
def qibo_error_hooks() -> Iterator[None]:
    """Install the hooks for the duration of a ``with`` block."""
    installed_now = install_qibo_error_hooks()
    try:
        yield
    finally:
        if installed_now:
            uninstall_qibo_error_hooks()


__all__ = [
    "ConfigurationError",
    "IncompleteDownloadError",
    "JobPostServerError",
    "JobTimeoutError",
    "MalformedResponseError",
    "QiboApiError",
    "SubmissionOutcomeUnknownError",
    "UnsafeResultError",
    "install_qibo_error_hooks",
    "qibo_error_hooks",
    "uninstall_qibo_error_hooks",
]
