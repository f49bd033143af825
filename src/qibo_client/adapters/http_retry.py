"""When the HTTP transport asks again: the one retry layer of the client, via tenacity.

Only requests safe to repeat (GET, DELETE, a download) are retried, on network
failures, cut-off bodies and transient statuses, with full-jitter backoff or the
server's ``Retry-After``, and never past the caller's deadline: a pause that
would end after it is not taken. A job submission is never retried.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

import requests
import tenacity
from urllib3.exceptions import HTTPError as Urllib3Error
from urllib3.exceptions import NewConnectionError
from urllib3.util.retry import Retry

from qibo_client.domain.deadline import Deadline
from qibo_client.exceptions import IncompleteDownloadError

#: Statuses worth asking again for.
RETRY_STATUSES = frozenset({408, 425, 429, 500, 502, 503, 504})
#: The longest pause between two tries, whatever the server's Retry-After says.
MAX_PAUSE = 30.0
#: Retries when nothing listens at the address (connection refused): a restarting
#: server is back in a moment, a wrong port never; either way, say so quickly.
REFUSED_RETRIES = 2


class RetryableAnswer(Exception):
    """A complete answer whose status says "try again later" (kept to report if it stays)."""

    def __init__(self, response: requests.Response) -> None:
        self.response = response
        super().__init__(f"HTTP {response.status_code}")


#: What a retry is worth trying after: no answer, a broken one, or a "later".
RETRYABLE = (
    requests.ConnectionError,
    requests.Timeout,
    requests.exceptions.ChunkedEncodingError,
    requests.exceptions.ContentDecodingError,
    Urllib3Error,
    IncompleteDownloadError,
    RetryableAnswer,
)


def retry_after(error: BaseException | None) -> float | None:
    """The seconds a ``Retry-After`` header asks for, if the failure carried one."""
    if not isinstance(error, RetryableAnswer):
        return None
    value = error.response.headers.get("Retry-After")
    if not value:
        return None
    try:
        return max(Retry().parse_retry_after(value), 0.0)
    except Exception:  # an unreadable header is no reason to fail
        return None


def refused(error: BaseException | None) -> bool:
    """True for a connection nobody accepted (nothing listens there)."""
    seen = 0
    while error is not None and seen < 8:
        if isinstance(error, (ConnectionRefusedError, NewConnectionError)):
            return True
        error = getattr(error, "reason", None) or error.__cause__ or error.__context__
        seen += 1
    if isinstance(error, requests.ConnectionError):
        return "refused" in str(error).lower()
    return False


@dataclass
class RetryOutcome:
    """Why the retries ended, read after the last failure."""

    out_of_time: bool = False
    #: How many times the request was sent.
    attempts: int = 0


def retrying(
    retries: int,
    backoff_factor: float,
    deadline: Deadline,
    outcome: RetryOutcome,
    *,
    sleep: Callable[[float], None] = time.sleep,
) -> tenacity.Retrying:
    """A tenacity loop: up to ``retries`` more tries, each pause inside ``deadline``."""
    jitter = tenacity.wait_random_exponential(multiplier=backoff_factor, max=MAX_PAUSE)

    def wait(state: tenacity.RetryCallState) -> float:
        error = state.outcome.exception() if state.outcome else None
        asked = retry_after(error)
        return min(asked, MAX_PAUSE) if asked is not None else float(jitter(state))

    def stop(state: tenacity.RetryCallState) -> bool:
        left = deadline.remaining()
        if left is not None and (state.upcoming_sleep or 0.0) >= left:
            outcome.out_of_time = True
            return True
        error = state.outcome.exception() if state.outcome else None
        if refused(error):
            return state.attempt_number > min(retries, REFUSED_RETRIES)
        return state.attempt_number > retries

    return tenacity.Retrying(
        retry=tenacity.retry_if_exception_type(RETRYABLE),
        wait=wait,
        stop=stop,
        reraise=True,
        sleep=sleep,
    )
