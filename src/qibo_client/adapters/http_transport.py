"""HttpTransport: the transport port spoken over HTTP(S) to a Qibo server.

Paths, headers and statuses are those of the Qibo protocol
(``docs/protocol.md``); GET and DELETE are retried on transient failures, a
job submission never is.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any, TypeVar

import requests

from qibo_client.adapters import http_support as support
from qibo_client.domain.records import (
    DiskQuota,
    JobInfo,
    JobSubmission,
    ProjectQuota,
    ServerVersion,
    parse_deleted,
    parse_job_list,
    parse_project_quotas,
    parse_submission_answer,
    validate_pid,
)
from qibo_client.exceptions import JobPostServerError, MalformedResponseError
from qibo_client.ports import ResultStream, Transport

T = TypeVar("T")
EXTENSIONS_HEADER = "X-Qibo-Extensions"
#: The longest hold we ever ask of a long-polling server, in seconds.
MAX_WAIT = 300


class HttpTransport(Transport):
    """Talks to a Qibo server over HTTP(S) with one pooled session.

    Timeouts are (``connect_timeout``, ``read_timeout``) seconds on every
    request; GET and DELETE are retried up to ``retries`` times with
    exponential backoff (``backoff_factor``) and jitter.
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
        self._retries = retries
        self._backoff_factor = float(backoff_factor)
        self._extensions: set[str] = set()
        self._long_poll_refused = False
        self._session = support.TokenSafeSession()
        self._session.headers.update(
            {support.TOKEN_HEADER: token, "x-qibo-client-version": support.client_version()}
        )
        adapter = support.retrying_adapter(retries, backoff_factor)
        self._session.mount("http://", adapter)
        self._session.mount("https://", adapter)

    # -- plumbing -------------------------------------------------------------------

    @property
    def supports_long_poll(self) -> bool:
        return "long-poll" in self._extensions

    @property
    def extensions(self) -> frozenset[str]:
        """The protocol extensions the server announced so far (``X-Qibo-Extensions``)."""
        return frozenset(self._extensions)

    def _url(self, path: str) -> str:
        return f"{self._root}/api/{path}"

    def _request(
        self, method: str, url: str, *, read_timeout: float | None = None, **kw: Any
    ) -> requests.Response:
        """Send one request; network failures propagate as requests exceptions."""
        timeout = (self._connect_timeout, read_timeout or self._read_timeout)
        response = self._session.request(method, url, timeout=timeout, **kw)
        announced = response.headers.get(EXTENSIONS_HEADER, "")
        self._extensions.update(p.strip().lower() for p in announced.split(",") if p.strip())
        return response

    def _send(self, method: str, url: str, **kw: Any) -> requests.Response:
        """Send one request; a network failure becomes ``QiboApiError(status=0)``.

        urllib3 retries a GET or DELETE up to its answer's headers; a body cut off
        after them (``ChunkedEncodingError``) is retried here, with the same bound.
        """
        attempts = 0
        while True:
            attempts += 1
            try:
                return self._request(method, url, **kw)
            except requests.exceptions.ChunkedEncodingError as error:
                if method in support.RETRY_METHODS and attempts <= self._retries:
                    time.sleep(support.full_jitter(self._backoff_factor, attempts))
                    continue
                raise support.network_error(method, url, error, attempts, self._token) from error
            except requests.RequestException as error:
                tries = self._retries + 1 if method in support.RETRY_METHODS else 1
                raise support.network_error(method, url, error, tries, self._token) from error

    def _ok(self, response: requests.Response, method: str, url: str) -> requests.Response:
        if not 200 <= response.status_code < 300:
            error = support.api_error(response, method, url, self._token)
            response.close()
            raise error
        return response

    def _parse(
        self, reader: Callable[[Any], T], response: requests.Response, method: str, url: str
    ) -> T:
        """Read a 2xx JSON answer with a domain reader; token masked in any error."""
        try:
            data = response.json()
        except ValueError:
            raise support.not_json(response, method, url, self._token) from None
        try:
            return reader(data)
        except (MalformedResponseError, JobPostServerError) as error:
            scrubbed = support.scrub(error.message, self._token)
            if scrubbed != error.message:
                raise type(error)(scrubbed) from None
            raise

    def _get(self, path: str, reader: Callable[[Any], T]) -> T:
        url = self._url(path)
        return self._parse(reader, self._ok(self._send("GET", url), "GET", url), "GET", url)

    # -- the port ---------------------------------------------------------------------

    def server_version(self) -> ServerVersion:
        return self._get("qibo_version/", ServerVersion.from_wire)

    def submit_job(self, submission: JobSubmission, *, idempotency_key: str | None = None) -> str:
        url = self._url("jobs/")
        headers = {"Idempotency-Key": idempotency_key} if idempotency_key else None
        try:
            response = self._request("POST", url, json=submission.to_wire(), headers=headers)
        except requests.RequestException as error:
            raise support.submission_error(
                error, url, idempotency_key, self.extensions, self._token
            ) from error
        if response.status_code in support.OUTCOME_UNKNOWN_STATUSES:
            # A gateway error may come after the server queued the job.
            answered = support.api_error(response, "POST", url, self._token)
            response.close()
            raise support.gateway_submission_error(answered, idempotency_key, self.extensions)
        return self._parse(parse_submission_answer, self._ok(response, "POST", url), "POST", url)

    def get_job(self, pid: str, *, wait: float = 0.0, known_status: str | None = None) -> JobInfo:
        url = self._url(f"jobs/{validate_pid(pid)}/")
        if wait > 0 and not self._long_poll_refused:
            seconds = max(1, round(min(wait, MAX_WAIT)))
            params = {"wait": seconds, "status": known_status}
            response = self._send(
                "GET", url, params=params, read_timeout=seconds + self._read_timeout
            )
            if response.status_code == 400 and not self.supports_long_poll:
                # A server without long-poll that rejects unknown parameters: never send them again.
                self._long_poll_refused = True
                response.close()
                response = self._send("GET", url)
        else:
            response = self._send("GET", url)
        return self._parse(JobInfo.from_wire, self._ok(response, "GET", url), "GET", url)

    def list_jobs(self) -> list[JobInfo]:
        return self._get("jobs/", parse_job_list)

    def open_result(self, pid: str) -> ResultStream:
        url = self._url(f"jobs/{validate_pid(pid)}/download/")
        response = self._ok(self._send("GET", url, stream=True), "GET", url)
        kind = response.headers.get("Content-Type", "").lower()
        if "json" in kind or "html" in kind:
            snippet = support.body_snippet(response, streaming=True)
            response.close()
            raise MalformedResponseError(
                support.scrub(
                    f"the download of job {pid} answered status {response.status_code} with "
                    f"Content-Type {kind}, not a result archive: {snippet!r}",
                    self._token,
                )
            )
        return support.HttpResultStream(response, pid, url)

    def delete_job(self, pid: str) -> requests.Response:
        url = self._url(f"jobs/{validate_pid(pid)}/")
        return self._ok(self._send("DELETE", url), "DELETE", url)

    def delete_all_jobs(self) -> list[str]:
        url = self._url("jobs/bulk_delete/")
        return self._parse(
            parse_deleted, self._ok(self._send("DELETE", url), "DELETE", url), "DELETE", url
        )

    def disk_quota(self) -> DiskQuota:
        return self._get("disk_quota/", DiskQuota.from_wire)

    def project_quotas(self) -> list[ProjectQuota]:
        return self._get("projectquotas/", parse_project_quotas)

    def close(self) -> None:
        self._session.close()

    def __repr__(self) -> str:
        return f"HttpTransport(url={self.base_url!r})"
