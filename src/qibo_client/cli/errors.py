"""How the command line turns an exception into one line on stderr and an exit status.

Exit status: 0 done, 1 the job failed or the server refused or could not be
reached, 2 a usage or configuration problem (nothing was sent), 130 interrupted.
"""

from __future__ import annotations

EXIT_OK = 0
EXIT_FAILED = 1
EXIT_USAGE = 2
EXIT_INTERRUPTED = 130


class UsageError(Exception):
    """The command line or a file it names cannot be used; nothing was sent to a server."""


class CommandFailed(Exception):
    """The command ran but did not succeed (a job ended in error)."""


class OutputClosed(Exception):
    """Whatever read stdout stopped reading (``| head -1``): there is no one left to tell."""


def describe(error: BaseException) -> tuple[int, str]:
    """The exit status and the one-line message for ``error``."""
    from qibo_client.exceptions import (
        ConfigurationError,
        JobPostServerError,
        JobTimeoutError,
        MalformedResponseError,
        QiboApiError,
        SubmissionOutcomeUnknownError,
        UnsafeResultError,
    )

    if isinstance(error, UsageError | ConfigurationError):
        return EXIT_USAGE, str(error)
    if isinstance(error, FileNotFoundError | IsADirectoryError | PermissionError):
        reason = error.strerror or type(error).__name__
        return EXIT_USAGE, f"{error.filename}: {reason.lower()}" if error.filename else str(error)
    if isinstance(error, CommandFailed):
        return EXIT_FAILED, str(error)
    if isinstance(error, SubmissionOutcomeUnknownError):
        return EXIT_FAILED, (
            f"{error.summary()}; the job may or may not be queued: check 'qibo-client jobs' "
            "before submitting it again"
        )
    if isinstance(error, QiboApiError):
        hint = ""
        if error.status in (401, 403):
            hint = "; give the right token with --token, $QIBO_CLIENT_TOKEN or 'qibo-client login'"
        elif error.status == 0:
            hint = "; check the URL and that the server is running"
        return EXIT_FAILED, error.summary() + hint
    if isinstance(error, JobPostServerError):
        return EXIT_FAILED, f"the server refused the job: {error.message}"
    if isinstance(error, UnsafeResultError):
        return EXIT_FAILED, f"the job's result was refused as unsafe or corrupt: {error}"
    if isinstance(error, MalformedResponseError):
        return EXIT_FAILED, f"the server's answer does not follow the protocol: {error}"
    if isinstance(error, JobTimeoutError):
        return EXIT_FAILED, (
            f"job {error.pid} did not finish within {error.timeout:g} s (last status: "
            f"{error.last_status or 'unknown'}); it is still on the server: "
            f"qibo-client result {error.pid}"
        )
    detail = str(error).strip()
    name = type(error).__name__
    return EXIT_FAILED, (
        f"{name}: {detail}" if detail else name
    ) + " (run again with --debug to see the traceback)"
