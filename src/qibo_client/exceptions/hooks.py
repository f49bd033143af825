"""Opt-in exception hooks: an uncaught :class:`QiboApiError` prints as one line, not a traceback.

The published 0.2.x client installed these hooks on import. We install them
only when asked: by :func:`install_qibo_error_hooks`, inside ``with
qibo_error_hooks():``, or by setting ``QIBO_API_ERRORS_AUTO=1`` before
importing ``qibo_client``.

This module imports only the standard library and our errors, never a
renderer or the composition root, so the bottom layer stays at the bottom.
By default the error's :meth:`~QiboApiError.summary` goes to standard error;
hand in ``render`` (a renderer's ``show_error``, say) to show it another way.
"""

from __future__ import annotations

import contextlib
import sys
import threading
from collections.abc import Iterator
from types import TracebackType
from typing import Any, Protocol

from qibo_client.exceptions.errors import QiboApiError


class ErrorPrinter(Protocol):
    """Shows one uncaught API error to the user."""

    def __call__(self, error: QiboApiError, /) -> None: ...


def print_api_error(error: QiboApiError) -> None:
    """Write the error's one-line summary to standard error (the default printer).

    The published client had a function of this name that drew a Rich panel;
    this one prints the same summary line without importing any display code.
    """
    print(error.summary(), file=sys.stderr, flush=True)


_previous_sys_hook: Any = None
_previous_thread_hook: Any = None
_render: ErrorPrinter = print_api_error
_installed = False


def _show(error: QiboApiError) -> bool:
    """Show ``error`` with the chosen printer; False if the printer itself failed."""
    try:
        _render(error)
    except Exception:  # a broken printer must not swallow the user's error
        return False
    return True


def _sys_hook(exc_type: type[BaseException], exc: BaseException, tb: TracebackType | None) -> None:
    if isinstance(exc, QiboApiError) and _show(exc):
        return
    (_previous_sys_hook or sys.__excepthook__)(exc_type, exc, tb)


def _thread_hook(args: threading.ExceptHookArgs) -> None:
    if isinstance(args.exc_value, QiboApiError) and _show(args.exc_value):
        return
    (_previous_thread_hook or threading.__excepthook__)(args)


def install_qibo_error_hooks(render: ErrorPrinter | None = None) -> bool:
    """Print uncaught :class:`QiboApiError` (main thread and other threads) as one message.

    ``render`` shows the error (default :func:`print_api_error`, one line on
    standard error); other exceptions reach the hooks that were there before.
    Returns False, changing nothing, when the hooks are already installed.
    """
    global _previous_sys_hook, _previous_thread_hook, _render, _installed
    if _installed:
        return False
    _render = render or print_api_error
    _previous_sys_hook, sys.excepthook = sys.excepthook, _sys_hook
    _previous_thread_hook, threading.excepthook = threading.excepthook, _thread_hook
    _installed = True
    return True


def uninstall_qibo_error_hooks() -> bool:
    """Restore the hooks that were there before :func:`install_qibo_error_hooks`.

    Returns False when ours were not installed.
    """
    global _render, _installed
    if not _installed:
        return False
    sys.excepthook = _previous_sys_hook
    threading.excepthook = _previous_thread_hook
    _render = print_api_error
    _installed = False
    return True


@contextlib.contextmanager
def qibo_error_hooks(render: ErrorPrinter | None = None) -> Iterator[None]:
    """Install the hooks for the duration of a ``with`` block (if not installed already)."""
    installed_now = install_qibo_error_hooks(render)
    try:
        yield
    finally:
        if installed_now:
            uninstall_qibo_error_hooks()


__all__ = [
    "ErrorPrinter",
    "install_qibo_error_hooks",
    "print_api_error",
    "qibo_error_hooks",
    "uninstall_qibo_error_hooks",
]
