"""Helpers of :mod:`qibo_client.adapters.httpx_transport`: which httpx failures mean what.

The twin of :mod:`qibo_client.adapters.http_support` for httpx's exceptions;
the wording of answers (status, HTML pages, tokens masked) is shared with it.
"""

from __future__ import annotations

from typing import Any, cast

import httpx

from qibo_client.adapters import http_support as support
from qibo_client.adapters.http_retry import RetryableAnswer
from qibo_client.exceptions import (
    IncompleteDownloadError,
    QiboApiError,
    SubmissionOutcomeUnknownError,
    TransientError,
)
from qibo_client.protocol import wire

#: What a retry is worth trying after: no answer, a broken one, or a "later".
RETRYABLE = (
    httpx.TimeoutException,
    httpx.NetworkError,
    httpx.RemoteProtocolError,
    httpx.DecodingError,
    IncompleteDownloadError,
    RetryableAnswer,
)
#: Failures after which a submission surely never reached the server.
NEVER_SENT = (
    httpx.ConnectError,
    httpx.ConnectTimeout,
    httpx.PoolTimeout,
    httpx.ProxyError,
    httpx.UnsupportedProtocol,
    httpx.LocalProtocolError,
)


def words(response: httpx.Response) -> Any:
    """``response`` for :mod:`~qibo_client.adapters.http_support`, which reads only what both
    libraries' answers have (``status_code``, ``headers``, ``text``, ``json()``)."""
    return cast(Any, response)


def transient(error: QiboApiError) -> TransientError:
    """``error`` as the :class:`TransientError` a caller may try again later."""
    return TransientError(
        status=error.status,
        method=error.method,
        url=error.url,
        message=error.message,
        payload=error.payload,
    )


def submission_error(
    error: httpx.HTTPError, url: str, key: str | None, extensions: frozenset[str], token: str
) -> QiboApiError:
    """What a failed ``POST jobs/`` means: surely not queued, or perhaps queued.

    The same two answers as :func:`~qibo_client.adapters.http_support.submission_error`,
    told apart by httpx's exception types.
    """
    cause = support.describe_failure(error)
    server = url.rsplit("/api/", 1)[0]
    if isinstance(error, NEVER_SENT):
        message = (
            f"the server at {server} could not be reached ({cause}); the job was NOT "
            "submitted: check the URL and your network, then submit again"
        )
        return QiboApiError(0, "POST", url, support.scrub(message, token))
    if key and wire.IDEMPOTENCY in extensions:
        advice = f"resubmit with run_circuit(..., idempotency_key={key!r}) to get the same job"
    elif key:
        advice = (
            "check await client.jobs() first; if the job is not there, resubmit with "
            f"run_circuit(..., idempotency_key={key!r})"
        )
    else:
        advice = "check await client.jobs() before submitting again"
    message = (
        f"no answer came from {server} after the job was sent ({cause}): the job may or "
        f"may not be queued; {advice}"
    )
    return SubmissionOutcomeUnknownError(
        method="POST", url=url, message=support.scrub(message, token), idempotency_key=key or ""
    )
