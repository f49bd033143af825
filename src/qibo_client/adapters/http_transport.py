"""HttpTransport: the transport port spoken over HTTP(S) to a Qibo server.

Paths, headers and extensions come from :mod:`qibo_client.protocol`; this
module knows only how to carry them over requests. Requests safe to repeat
are retried here (:mod:`qibo_client.adapters.http_retry`), the only retry
layer of the client, inside the caller's deadline; a submission never is.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from typing import Any, TypeVar

import requests

from qibo_client.adapters import http_support as support
from qibo_client.adapters.http_retry import (
    RETRY_STATUSES,
    RetryableAnswer,
    RetryOutcome,
    retrying,
)
from qibo_client.adapters.http_stream import HttpResultStream, out_of_time, prefetch, read_json
from qibo_client.domain.deadline import Deadline
from qibo_client.domain.records import (
    DiskQuota,
    DryRunReport,
    JobDeletion,
    JobInfo,
    JobSubmission,
    ProjectQuota,
    ServerVersion,
)
from qibo_client.exceptions import (
    IncompleteDownloadError,
    JobPostServerError,
    MalformedResponseError,
    QiboApiError,
    TransientError,
)
from qibo_client.ports import ResultStream, Transport
from qibo_client.protocol import readers, wire
from qibo_client.protocol.writers import batch_body, pid_chunks, submission_body

T = TypeVar("T")


class HttpTransport(Transport):
    """Talks to a Qibo server over HTTP(S) with one pooled session.

    Every request waits at most ``connect_timeout`` seconds to connect and
    ``read_timeout`` seconds between bytes (less when the caller's deadline is
    nearer); GET and DELETE are tried up to ``retries`` more times, with
    full-jitter backoff (``backoff_factor``) or the server's ``Retry-After``.
    """

    def __init__(
        self,
        url: str,
        token: str,
        *,
        connect_timeout: float = 10,
        read_timeout: float = 60,
        retries: int = 5,
        backoff_factor: float = 0.5,
    ) -> None:
        support.check_settings(token, connect_timeout, read_timeout, retries, backoff_factor)
        self._token = token
        self.base_url = url
        self._root = url.rstrip("/")
        self._connect_timeout = float(connect_timeout)
        self._read_timeout = float(read_timeout)
        self.retries = retries
        self._backoff_factor = float(backoff_factor)
        self._extensions: set[str] = set()
        self._long_poll_refused = False
        self._session = support.TokenSafeSession()
        self._session.headers.update(
            {wire.TOKEN_HEADER: token, wire.CLIENT_VERSION_HEADER: support.client_version()}
        )

    # -- plumbing -------------------------------------------------------------------

    @property
    def extensions(self) -> frozenset[str]:
        """The protocol extensions the server announced so far (``X-Qibo-Extensions``)."""
        return frozenset(self._extensions)

    @property
    def lists_by_pid(self) -> bool:
        """True once the server announced ``job-list-pids``."""
        return wire.JOB_LIST_PIDS in self._extensions

    def _url(self, path: str) -> str:
        return f"{self._root}/api/{path}"

    def _timeout(self, deadline: Deadline, hold: float = 0.0) -> tuple[float, float]:
        connect = deadline.cap(self._connect_timeout)
        read = deadline.cap(self._read_timeout + hold)
        return max(connect, 0.001), max(read, 0.001)

    def _once(
        self, method: str, url: str, deadline: Deadline, *, hold: float = 0.0, **kw: Any
    ) -> requests.Response:
        """Send one request and receive its headers; the body stays to be streamed."""
        if deadline.expired:
            raise out_of_time(method, url, "the answer")
        response = self._session.request(
            method, url, timeout=self._timeout(deadline, hold), stream=True, **kw
        )
        self._extensions |= wire.parse_extensions(response.headers.get(wire.EXTENSIONS_HEADER))
        return response

    def _exchange(
        self,
        method: str,
        url: str,
        deadline: Deadline,
        handle: Callable[[requests.Response], T],
        *,
        download: bool = False,
        **kw: Any,
    ) -> T:
        """Send a request safe to repeat and ``handle`` its 2xx answer, retrying what may pass.

        A non-2xx answer becomes :class:`QiboApiError`; one that stays transient
        through every retry, no answer at all, or (unless ``download``) a body
        cut off every time, :class:`TransientError`; a result ``download`` cut
        off every time, :class:`IncompleteDownloadError`; the deadline passing,
        :class:`DeadlineExceededError`.
        """
        outcome = RetryOutcome()
        try:
            for attempt in retrying(self.retries, self._backoff_factor, deadline, outcome):
                with attempt:
                    outcome.attempts += 1
                    response = self._once(method, url, deadline, **kw)
                    try:
                        if response.status_code in RETRY_STATUSES:
                            prefetch(response, deadline)
                            raise RetryableAnswer(response)
                        return handle(self._ok(response, method, url, deadline))
                    finally:
                        response.close()
        except RetryableAnswer as error:
            if outcome.out_of_time:
                raise out_of_time(method, url, "an answer other than 'try later'") from None
            answered = support.api_error(error.response, method, url, self._token)
            raise self._transient(answered, outcome) from None
        except (requests.RequestException, IncompleteDownloadError) as error:
            if deadline.expired or outcome.out_of_time:
                raise out_of_time(method, url, "the answer") from error
            if download and isinstance(error, IncompleteDownloadError):
                raise
            failure = support.network_error(method, url, error, outcome.attempts, self._token)
            raise self._transient(failure, outcome) from error
        raise AssertionError("unreachable")  # pragma: no cover

    def _transient(self, error: QiboApiError, outcome: RetryOutcome) -> TransientError:
        return TransientError(
            status=error.status,
            method=error.method,
            url=error.url,
            message=error.message,
            payload=error.payload,
        )

    def _ok(
        self, response: requests.Response, method: str, url: str, deadline: Deadline
    ) -> requests.Response:
        if not 200 <= response.status_code < 300:
            prefetch(response, deadline)
            raise support.api_error(response, method, url, self._token)
        return response

    def _reader(
        self, reader: Callable[[Any], T], deadline: Deadline, method: str, url: str
    ) -> Callable[[requests.Response], T]:
        """Read a 2xx JSON answer with a protocol reader; token masked in any error."""

        def handle(response: requests.Response) -> T:
            try:
                data = read_json(response, deadline)
            except ValueError as error:
                if isinstance(error, MalformedResponseError):
                    raise
                raise support.not_json(response, method, url, self._token) from None
            return support.read_with(reader, data, self._token)

        return handle

    def _get(self, path: str, reader: Callable[[Any], T], deadline: float | None) -> T:
        url = self._url(path)
        limit = Deadline(deadline)
        return self._exchange("GET", url, limit, self._reader(reader, limit, "GET", url))

    # -- the port ---------------------------------------------------------------------

    def server_version(self, *, deadline: float | None = None) -> ServerVersion:
        return self._get(wire.VERSION_PATH, readers.read_server_version, deadline)

    def submit_job(self, submission: JobSubmission, *, idempotency_key: str | None = None) -> str:
        return self._post_submission(
            wire.JOBS_PATH,
            idempotency_key,
            readers.read_submission_answer,
            json=submission_body(submission),
        )

    def submit_jobs(
        self, submissions: Sequence[JobSubmission], *, idempotency_key: str | None = None
    ) -> list[str] | None:
        if wire.BATCH not in self._extensions or not 0 < len(submissions) <= wire.MAX_BATCH_JOBS:
            return None
        try:
            body = json.dumps(batch_body(submissions), allow_nan=False).encode("utf-8")
        except ValueError:  # NaN or infinity: one by one, each refused as it is alone
            return None
        if len(body) > wire.MAX_BATCH_BYTES:
            return None
        count = len(submissions)
        try:
            return self._post_submission(
                wire.BATCH_PATH,
                idempotency_key,
                lambda data: readers.read_batch_answer(data, count),
                data=body,
                headers={"Content-Type": "application/json"},
            )
        except QiboApiError as error:
            if error.status == 413:  # this server takes smaller bodies: nothing was queued
                return None
            if error.status == 422:  # refused (or unreadable): nothing was queued
                raise JobPostServerError(error.message) from None
            raise

    def _post_submission(
        self,
        path: str,
        idempotency_key: str | None,
        reader: Callable[[Any], T],
        *,
        headers: dict[str, str] | None = None,
        **body: Any,
    ) -> T:
        """POST a submission once (never repeated) and read its 2xx answer with ``reader``."""
        url = self._url(path)
        headers = dict(headers or {})
        if idempotency_key:
            headers[wire.IDEMPOTENCY_HEADER] = idempotency_key
        unlimited = Deadline(None)
        try:
            response = self._once("POST", url, unlimited, headers=headers or None, **body)
        except requests.RequestException as error:
            raise support.submission_error(
                error, url, idempotency_key, self.extensions, self._token
            ) from error
        try:
            if response.status_code in support.OUTCOME_UNKNOWN_STATUSES:
                # A gateway error may come after the server queued the job.
                prefetch(response, unlimited)
                answered = support.api_error(response, "POST", url, self._token)
                raise support.gateway_submission_error(answered, idempotency_key, self.extensions)
            handle = self._reader(reader, unlimited, "POST", url)
            try:
                return handle(self._ok(response, "POST", url, unlimited))
            except IncompleteDownloadError as error:
                # The server answered, then the answer broke off: the job may be queued.
                raise support.cut_submission_error(
                    error, url, idempotency_key, self.extensions, self._token
                ) from error
        finally:
            response.close()

    def get_job(
        self,
        pid: str,
        *,
        hold: float = 0.0,
        known_status: str | None = None,
        deadline: float | None = None,
    ) -> JobInfo:
        url = self._url(wire.job_path(readers.validate_pid(pid)))
        limit = Deadline(deadline)
        handle = self._reader(lambda data: readers.read_job(data, pid), limit, "GET", url)
        if hold > 0 and not self._long_poll_refused:
            seconds = max(1, round(min(hold, wire.MAX_HOLD_SECONDS)))
            params = {wire.HOLD_PARAM: seconds, wire.KNOWN_STATUS_PARAM: known_status}
            try:
                return self._exchange("GET", url, limit, handle, params=params, hold=seconds)
            except QiboApiError as error:
                if error.status != 400 or self.supports_long_poll:
                    raise
                # A server without long-poll that rejects unknown parameters: never send them again.
                self._long_poll_refused = True
        return self._exchange("GET", url, limit, handle)

    def list_jobs(
        self, *, deadline: float | None = None, pids: Sequence[str] | None = None
    ) -> list[JobInfo]:
        if pids is None:
            return self._get(wire.JOBS_PATH, readers.read_job_list, deadline)
        wanted = set(pids)
        if not self.lists_by_pid:  # a server without the filter: the whole list, kept here
            listed = self._get(wire.JOBS_PATH, readers.read_job_list, deadline)
            return [info for info in listed if info.pid in wanted]
        found: list[JobInfo] = []
        for chunk in pid_chunks(list(dict.fromkeys(pids))):
            url = self._url(wire.JOBS_PATH)
            limit = Deadline(deadline)
            handle = self._reader(readers.read_job_list, limit, "GET", url)
            params = {wire.LIST_PIDS_PARAM: ",".join(chunk)}
            found += self._exchange("GET", url, limit, handle, params=params)
        return [info for info in found if info.pid in wanted]

    def fetch_result(
        self, pid: str, receive: Callable[[ResultStream], T], *, deadline: float | None = None
    ) -> T:
        url = self._url(wire.download_path(readers.validate_pid(pid)))
        limit = Deadline(deadline)

        def handle(response: requests.Response) -> T:
            kind = response.headers.get("Content-Type", "").lower()
            if "json" in kind or "html" in kind:
                prefetch(response, limit)
                snippet = support.shorten(response.text or "")
                raise MalformedResponseError(
                    support.scrub(
                        f"the download of job {pid} answered status {response.status_code} "
                        f"with Content-Type {kind}, not a result archive: {snippet!r}",
                        self._token,
                    )
                )
            with HttpResultStream(response, pid, limit) as stream:
                return receive(stream)

        return self._exchange("GET", url, limit, handle, download=True)

    def delete_job(self, pid: str) -> JobDeletion:
        url = self._url(wire.job_path(readers.validate_pid(pid)))

        def handle(response: requests.Response) -> JobDeletion:
            try:
                data = read_json(response, Deadline(None))
            except ValueError:
                data = None
            return readers.read_deletion(pid, data, response)

        return self._exchange("DELETE", url, Deadline(None), handle)

    def dry_run(self, submission: JobSubmission) -> DryRunReport | None:
        if wire.DRY_RUN not in self.extensions:
            return None
        url = self._url(wire.DRY_RUN_PATH)
        unlimited = Deadline(None)
        handle = self._reader(
            lambda data: readers.read_dry_run(data, submission.device), unlimited, "POST", url
        )
        # Nothing is queued by a dry run, so it is as safe to repeat as a read.
        return self._exchange("POST", url, unlimited, handle, json=submission_body(submission))

    def cancel_job(self, pid: str) -> bool:
        if wire.CANCEL not in self.extensions:
            return False
        url = self._url(wire.cancel_path(readers.validate_pid(pid)))
        unlimited = Deadline(None)
        try:
            response = self._once("POST", url, unlimited)
        except requests.RequestException as error:
            raise support.network_error("POST", url, error, 1, self._token) from error
        try:
            self._ok(response, "POST", url, unlimited)  # 404: no such job of this user
            return True
        finally:
            response.close()

    def delete_all_jobs(self) -> list[str]:
        url = self._url(wire.BULK_DELETE_PATH)
        unlimited = Deadline(None)
        return self._exchange(
            "DELETE", url, unlimited, self._reader(readers.read_deleted, unlimited, "DELETE", url)
        )

    def disk_quota(self) -> DiskQuota:
        return self._get(wire.DISK_QUOTA_PATH, readers.read_disk_quota, None)

    def project_quotas(self) -> list[ProjectQuota]:
        return self._get(wire.PROJECT_QUOTAS_PATH, readers.read_project_quotas, None)

    def close(self) -> None:
        self._session.close()

    def __repr__(self) -> str:
        return f"HttpTransport(url={self.base_url!r})"
