"""Errors a user of qibo-client can catch, and opt-in hooks that print them cleanly.

The classes live in :mod:`qibo_client.exceptions.errors` and the hooks in
:mod:`qibo_client.exceptions.hooks` (the published 0.2.x layout); both are
re-exported here, as the same objects.

Importing changes no global state, unless the environment asks for it:
with ``QIBO_API_ERRORS_AUTO`` set to ``1``, ``true``, ``yes`` or ``on``, the
hooks are installed on import, as the published client always did.
"""

from __future__ import annotations

import os

from qibo_client.exceptions.errors import (
    ConfigurationError,
    DeadlineExceededError,
    IncompleteDownloadError,
    InvalidArgumentError,
    InvalidArgumentTypeError,
    JobCancelledError,
    JobFailedError,
    JobPostServerError,
    JobTimeoutError,
    MalformedResponseError,
    QiboApiError,
    SubmissionOutcomeUnknownError,
    TransientError,
    UnsafeResultError,
)
from qibo_client.exceptions.hooks import (
    install_qibo_error_hooks,
    qibo_error_hooks,
    uninstall_qibo_error_hooks,
)

#: The environment variable that makes importing ``qibo_client`` install the hooks.
AUTO_INSTALL_ENV = "QIBO_API_ERRORS_AUTO"


def _auto_install_requested() -> bool:
    return os.environ.get(AUTO_INSTALL_ENV, "").strip().lower() in {"1", "true", "yes", "on"}


if _auto_install_requested():
    install_qibo_error_hooks()

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
    "install_qibo_error_hooks",
    "qibo_error_hooks",
    "uninstall_qibo_error_hooks",
]
