"""Helpers of :mod:`qibo_client.adapters.http_transport`: session, retries, errors, downloads.

Everything here is about requests and urllib3; the transport module keeps
only the protocol (paths, parameters, which reader reads which answer).
"""

from __future__ import annotations

import html
import importlib.metadata
import math
import re
from collections.abc import Callable, Iterator
from typing import Any, TypeVar
from urllib.parse import urlsplit

import requests
from urllib3.exceptions import NewConnectionError
from urllib3.exceptions import TimeoutError as Urllib3Timeout

from qibo_client.exceptions import (
    ConfigurationError,
    JobPostServerError,
    MalformedResponseError,
    QiboApiError,
    SubmissionOutcomeUnknownError,
)
from qibo_client.protocol.wire import TOKEN_HEADER

T = TypeVar("T")
SNIPPET = 200
_DEFAULT_PORTS = {"http": 80, "https": 443}


def client_version() -> str:
    """This package's version, for the ``x-qibo-client-version`` header."""
    try:
        return importlib.metadata.version("qibo-client")
    except importlib.metadata.PackageNotFoundError:
        return "0+unknown"


def check_settings(
    token: object, connect_timeout: float, read_timeout: float, retries: int, backoff: float
) -> None:
    """Refuse a token no header can carry and nonsensical timeouts, naming what was wrong."""
    if not isinstance(token, str):
        raise TypeError(f"token must be a string, got {type(token).__name__}")
    if token != token.strip() or any(ord(c) < 32 or ord(c) > 255 for c in token):
        raise ConfigurationError(
            "the token has spaces, line breaks or characters an HTTP header cannot carry; "
            "copy it again exactly as the server issued it"
        )
    for name, value in (("connect_timeout", connect_timeout), ("read_timeout", read_timeout)):
        if not (isinstance(value, (int, float)) and math.isfinite(value) and value > 0):
            raise ConfigurationError(f"{name} must be a positive number of seconds, got {value!r}")
    if isinstance(retries, bool) or not isinstance(retries, int) or retries < 0:
        raise ConfigurationError(f"retries must be a whole number >= 0, got {retries!r}")
    if not isinstance(backoff, (int, float)) or not math.isfinite(backoff) or backoff < 0:
        raise ConfigurationError(f"backoff_factor must be a number >= 0, got {backoff!r}")


def scrub(text: str, token: str) -> str:
    """``text`` with every occurrence of the token masked (a server may echo it back)."""
    return text.replace(token, "***") if len(token) >= 4 else text


def scrub_payload(value: Any, token: str) -> Any:
    """A JSON value with the token masked in every string it holds."""
    if isinstance(value, str):
        return scrub(value, token)
    if isinstance(value, dict):
        return {scrub(str(k), token): scrub_payload(v, token) for k, v in value.items()}
    if isinstance(value, list):
        return [scrub_payload(v, token) for v in value]
    return value


def shorten(text: str, limit: int = SNIPPET) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 3] + "..."


class TokenSafeSession(requests.Session):
    """A session that drops ``x-api-token`` when a redirect leaves the origin.

    requests strips only ``Authorization``; our token travels in its own header,
    so a redirect to another scheme, host or port must not carry it along.
    """

    def rebuild_auth(self, prepared_request: requests.PreparedRequest, response: Any) -> None:
        super().rebuild_auth(prepared_request, response)
        if not same_origin(response.request.url or "", prepared_request.url or ""):
            prepared_request.headers.pop(TOKEN_HEADER, None)


def same_origin(first: str, second: str) -> bool:
    """True when both URLs have the same scheme, host and (effective) port."""
    a, b = urlsplit(first), urlsplit(second)
    scheme_a, scheme_b = a.scheme.lower(), b.scheme.lower()
    return (
        scheme_a == scheme_b
        and (a.hostname or "") == (b.hostname or "")
        and (a.port or _DEFAULT_PORTS.get(scheme_a)) == (b.port or _DEFAULT_PORTS.get(scheme_b))
    )


def _causes(error: BaseException) -> Iterator[BaseException]:
    """The error, then what it wraps (urllib3 reasons, exception args, causes), depth first."""
    seen: set[int] = set()
    stack = [error]
    while stack:
        current = stack.pop()
        if id(current) in seen:
            continue
        seen.add(id(current))
        yield current
        inner = [getattr(current, "reason", None), current.__cause__, current.__context__]
        inner += [arg for arg in current.args if isinstance(arg, BaseException)]
        stack.extend(e for e in reversed(inner) if isinstance(e, BaseException))


def describe_failure(error: BaseException) -> str:
    """The innermost cause of a network failure, as one short line."""
    causes = list(_causes(error))
    for cause in causes:  # urllib3 names a timeout and its value better than the socket does
        if isinstance(cause, Urllib3Timeout) and not isinstance(cause, NewConnectionError):
            return shorten(str(cause).split("): ", 1)[-1], 300)
    innermost = causes[-1]
    return shorten(str(innermost).strip() or type(innermost).__name__, 300)


def never_sent(error: requests.RequestException) -> bool:
    """True when the request failed before any of it reached the server.

    Connection refused, DNS failure, connect timeout, TLS handshake or a bad
    URL: safe to say "not submitted". A read timeout or a connection dropped
    after sending is not: the server may have acted on it.
    """
    if isinstance(error, (requests.ConnectTimeout, requests.exceptions.SSLError)):
        return True
    if isinstance(error, (requests.Timeout, requests.exceptions.ChunkedEncodingError)):
        return False
    if isinstance(error, requests.ConnectionError):
        return any(isinstance(cause, NewConnectionError) for cause in _causes(error))
    return True  # invalid URL, schema or header: nothing went out


def _html_title(text: str) -> str:
    match = re.search(r"<title[^>]*>(.*?)</title>", text, re.IGNORECASE | re.DOTALL)
    if match:
        return shorten(html.unescape(match.group(1)))
    return shorten(html.unescape(re.sub(r"<[^>]+>", " ", text)))


def looks_like_html(response: requests.Response, text: str) -> bool:
    kind = response.headers.get("Content-Type", "").lower()
    start = text.lstrip()[:15].lower()
    return "html" in kind or start.startswith(("<!doctype html", "<html"))


def error_message(response: requests.Response) -> tuple[str, dict[str, Any] | None]:
    """The human message of a non-2xx answer, and its JSON object if it sent one."""
    try:
        data = response.json()
    except ValueError:
        data = None
    payload = data if isinstance(data, dict) else None
    if payload is not None:
        for key in ("detail", "message", "error", "title"):
            value = payload.get(key)
            if isinstance(value, str) and value.strip():
                return value.strip(), payload
        if "errors" in payload:
            return str(payload["errors"]), payload
    text = (response.text or "").strip()
    if text and looks_like_html(response, text):
        return (
            f"the server answered an HTML page (status {response.status_code}), "
            f"not JSON: {_html_title(text)}",
            payload,
        )
    if text:
        return shorten(text, 500), payload
    return f"HTTP {response.status_code}", payload


def api_error(response: requests.Response, method: str, url: str, token: str) -> QiboApiError:
    """The :class:`QiboApiError` for a non-2xx answer, with the token masked."""
    message, payload = error_message(response)
    return QiboApiError(
        status=response.status_code,
        method=method,
        url=url,
        message=scrub(message, token),
        payload=scrub_payload(payload, token),
    )


def network_error(
    method: str, url: str, error: BaseException, tries: int, token: str
) -> QiboApiError:
    """``QiboApiError(status=0)`` for a request that got no (whole) answer after ``tries`` tries."""
    retried = f" (tried {tries} times)" if tries > 1 else ""
    message = (
        f"could not get an answer from {url}{retried}: {describe_failure(error)}; "
        "check the URL and your network connection"
    )
    return QiboApiError(status=0, method=method, url=url, message=scrub(message, token))


def submission_error(
    error: requests.RequestException,
    url: str,
    key: str | None,
    extensions: frozenset[str],
    token: str,
) -> QiboApiError:
    """What a failed ``POST /api/jobs/`` means: surely not queued, or perhaps queued."""
    cause = describe_failure(error)
    server = url.rsplit("/api/", 1)[0]
    if never_sent(error):
        message = (
            f"the server at {server} could not be reached ({cause}); the job was NOT "
            "submitted: check the URL and your network, then submit again"
        )
        return QiboApiError(status=0, method="POST", url=url, message=scrub(message, token))
    message = (
        f"no answer came from {server} after the job was sent ({cause}): "
        "the job may or may not be queued. "
    )
    if key and "idempotency" in extensions:
        message += (
            f"Resubmit with run_circuit(..., idempotency_key={key!r}): this server "
            "recognises the key and returns the same job instead of queueing a second one"
        )
    elif key:
        message += (
            "Check client.print_job_info() first; if the job is not there, resubmit with "
            f"run_circuit(..., idempotency_key={key!r}) (a server that supports "
            "idempotency keys then returns the same job)"
        )
    else:
        message += "Check client.print_job_info() before submitting again"
    return SubmissionOutcomeUnknownError(
        method="POST", url=url, message=scrub(message, token), idempotency_key=key or ""
    )


#: Answers to a job submission that may come after the server queued the job.
OUTCOME_UNKNOWN_STATUSES = frozenset({500, 502, 503, 504})


def gateway_submission_error(
    error: QiboApiError, key: str | None, extensions: frozenset[str]
) -> SubmissionOutcomeUnknownError:
    """A 5xx to ``POST /api/jobs/``, or an answer cut off: the job may or may not be
    queued; say how to find out."""
    if key and "idempotency" in extensions:
        advice = f"resubmit with run_circuit(..., idempotency_key={key!r}) to get the same job"
    elif key:
        advice = (
            "check client.print_job_info() first; if the job is not there, resubmit with "
            f"run_circuit(..., idempotency_key={key!r})"
        )
    else:
        advice = "check client.print_job_info() before submitting again"
    return SubmissionOutcomeUnknownError(
        method="POST",
        url=error.url,
        status=error.status,
        message=(
            f"the server answered {error.status} ({error.message}) after the job was "
            if error.status
            else f"{error.message}: the answer was lost after the job was "
        )
        + f"sent: it may or may not be queued; {advice}",
        idempotency_key=key or "",
    )


def not_json(
    response: requests.Response, method: str, url: str, token: str
) -> MalformedResponseError:
    """The error for a 2xx whose body should be JSON and is not."""
    kind = response.headers.get("Content-Type") or "none"
    message = (
        f"{method} {url} answered status {response.status_code} with Content-Type {kind}, "
        f"not JSON: {body_snippet(response)!r}"
    )
    return MalformedResponseError(scrub(message, token))


def body_snippet(response: requests.Response) -> str:
    """The first characters of a body already read, for messages."""
    return shorten(response.text or "")


def read_with(reader: Callable[[Any], T], data: Any, token: str) -> T:
    """``reader(data)``, with the token masked in any protocol error it raises."""
    try:
        return reader(data)
    except (MalformedResponseError, JobPostServerError) as error:
        scrubbed = scrub(error.message, token)
        if scrubbed != error.message:
            raise type(error)(scrubbed) from None
        raise


def cut_submission_error(
    error: BaseException, url: str, key: str | None, extensions: frozenset[str], token: str
) -> SubmissionOutcomeUnknownError:
    """A submission whose answer broke off after the server answered: perhaps queued."""
    lost = QiboApiError(0, "POST", url, scrub(str(error), token))
    return gateway_submission_error(lost, key, extensions)
