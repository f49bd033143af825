"""AsyncHttpTransport: the asynchronous transport port spoken over HTTP(S) with httpx.

The twin of :class:`~qibo_client.adapters.http_transport.HttpTransport`:
paths, headers and readers from :mod:`qibo_client.protocol`; the same retry
policy (:func:`qibo_client.adapters.http_retry.retrying`'s wait and stop, run
by tenacity's ``AsyncRetrying``), so a request is tried ``retries + 1`` times
at most, only when safe to repeat, and never past the caller's deadline,
which bounds each whole exchange (``asyncio.timeout``). Needs the ``async``
extra (``pip install 'qibo-client[async]'``).
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable, Callable, Sequence
from typing import Any, TypeVar

import httpx
import tenacity

from qibo_client.adapters import http_support as support
from qibo_client.adapters import httpx_stream as stream
from qibo_client.adapters import httpx_support as hx
from qibo_client.adapters.http_retry import RETRY_STATUSES, RetryableAnswer, RetryOutcome, retrying
from qibo_client.adapters.http_stream import out_of_time
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
from qibo_client.drivers.aio import BlockingPool
from qibo_client.exceptions import (
    IncompleteDownloadError,
    JobPostServerError,
    MalformedResponseError,
    QiboApiError,
)
from qibo_client.ports import ResultStream
from qibo_client.ports.async_transport import AsyncTransport
from qibo_client.protocol import readers, wire
from qibo_client.protocol.writers import batch_body, pid_chunks, submission_body

T = TypeVar("T")
Handle = Callable[[httpx.Response], Awaitable[T]]


class AsyncHttpTransport(AsyncTransport):
    """Talks to a Qibo server over HTTP(S) with one pooled ``httpx.AsyncClient``.

    The settings mean what they mean for ``HttpTransport``. ``transport`` hands
    httpx a transport of its own (``httpx.MockTransport`` in tests).
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
        transport: httpx.AsyncBaseTransport | None = None,
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
        self._pool = BlockingPool("results", 2)  # where a downloaded archive is received
        self._client = httpx.AsyncClient(
            headers={
                wire.TOKEN_HEADER: token,
                wire.CLIENT_VERSION_HEADER: support.client_version(),
            },
            follow_redirects=True,
            transport=transport,
            event_hooks={"request": [self._keep_token_home], "response": [self._note_extensions]},
        )

    def __repr__(self) -> str:
        return f"AsyncHttpTransport(url={self.base_url!r})"

    # -- plumbing -------------------------------------------------------------------

    @property
    def extensions(self) -> frozenset[str]:
        return frozenset(self._extensions)

    @property
    def lists_by_pid(self) -> bool:
        """True once the server announced ``job-list-pids``."""
        return wire.JOB_LIST_PIDS in self._extensions

    async def _keep_token_home(self, request: httpx.Request) -> None:
        """Drop the token from a request (a redirect) that leaves the server's origin."""
        if not support.same_origin(self._root, str(request.url)):
            request.headers.pop(wire.TOKEN_HEADER, None)

    async def _note_extensions(self, response: httpx.Response) -> None:
        self._extensions |= wire.parse_extensions(response.headers.get(wire.EXTENSIONS_HEADER))

    def _url(self, path: str) -> str:
        return f"{self._root}/api/{path}"

    def _timeout(self, deadline: Deadline, hold: float = 0.0) -> httpx.Timeout:
        connect = max(deadline.cap(self._connect_timeout), 0.001)
        read = max(deadline.cap(self._read_timeout + hold), 0.001)
        return httpx.Timeout(read, connect=connect, pool=connect)

    async def _once(
        self, method: str, url: str, deadline: Deadline, handle: Handle[T], hold: float, **kw: Any
    ) -> T:
        """One try: send, then ``handle`` a 2xx; a "try later" becomes :class:`RetryableAnswer`."""
        if deadline.expired:
            raise out_of_time(method, url, "the answer")
        request = self._client.build_request(
            method, url, timeout=self._timeout(deadline, hold), **kw
        )
        response = await self._client.send(request, stream=True)
        try:
            if response.status_code in RETRY_STATUSES:
                raise RetryableAnswer(hx.words(await stream.error_page(response)))
            return await handle(await self._ok(response, method, url))
        finally:
            await response.aclose()

    async def _exchange(
        self,
        method: str,
        url: str,
        deadline: Deadline,
        handle: Handle[T],
        *,
        download: bool = False,
        hold: float = 0.0,
        **kw: Any,
    ) -> T:
        """Send a request safe to repeat; errors as ``HttpTransport._exchange`` raises them."""
        outcome = RetryOutcome()
        policy = retrying(self.retries, self._backoff_factor, deadline, outcome)
        attempts = tenacity.AsyncRetrying(
            retry=tenacity.retry_if_exception_type(hx.RETRYABLE),
            wait=policy.wait,
            stop=policy.stop,
            reraise=True,
        )
        try:
            async with asyncio.timeout(deadline.remaining()):
                async for attempt in attempts:
                    with attempt:
                        outcome.attempts += 1
                        return await self._once(method, url, deadline, handle, hold, **kw)
        except TimeoutError:
            raise out_of_time(method, url, "the answer") from None
        except RetryableAnswer as error:
            if outcome.out_of_time:
                raise out_of_time(method, url, "an answer other than 'try later'") from None
            answered = support.api_error(error.response, method, url, self._token)
            raise hx.transient(answered) from None
        except (httpx.TransportError, httpx.DecodingError, IncompleteDownloadError) as error:
            if deadline.expired or outcome.out_of_time:
                raise out_of_time(method, url, "the answer") from error
            if download and isinstance(error, IncompleteDownloadError):
                raise
            failure = support.network_error(method, url, error, outcome.attempts, self._token)
            raise hx.transient(failure) from error
        raise AssertionError("unreachable")  # pragma: no cover

    async def _ok(self, response: httpx.Response, method: str, url: str) -> httpx.Response:
        if not 200 <= response.status_code < 300:
            page = await stream.error_page(response)
            raise support.api_error(hx.words(page), method, url, self._token)
        return response

    def _reader(self, reader: Callable[[Any], T], method: str, url: str) -> Handle[T]:
        """Read a 2xx JSON answer with a protocol reader; token masked in any error."""

        async def handle(response: httpx.Response) -> T:
            body = await stream.read_body(response)
            try:
                data = stream.decode_json(response, body)
            except ValueError as error:
                if isinstance(error, MalformedResponseError):
                    raise
                page = hx.words(stream.complete(response, body))
                raise support.not_json(page, method, url, self._token) from None
            return support.read_with(reader, data, self._token)

        return handle

    async def _get(self, path: str, reader: Callable[[Any], T], deadline: float | None) -> T:
        url = self._url(path)
        return await self._exchange(
            "GET", url, Deadline(deadline), self._reader(reader, "GET", url)
        )

    # -- the port ---------------------------------------------------------------------

    async def server_version(self, *, deadline: float | None = None) -> ServerVersion:
        return await self._get(wire.VERSION_PATH, readers.read_server_version, deadline)

    async def submit_job(
        self, submission: JobSubmission, *, idempotency_key: str | None = None
    ) -> str:
        return await self._post_submission(
            wire.JOBS_PATH,
            idempotency_key,
            readers.read_submission_answer,
            json=submission_body(submission),
        )

    async def submit_jobs(
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
            return await self._post_submission(
                wire.BATCH_PATH,
                idempotency_key,
                lambda data: readers.read_batch_answer(data, count),
                content=body,
                headers={"Content-Type": "application/json"},
            )
        except QiboApiError as error:
            if error.status == 413:  # this server takes smaller bodies: nothing was queued
                return None
            if error.status == 422:  # refused (or unreadable): nothing was queued
                raise JobPostServerError(error.message) from None
            raise

    async def _post_submission(
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
        request = self._client.build_request(
            "POST",
            url,
            headers=headers or None,
            timeout=self._timeout(Deadline(None)),
            **body,
        )
        try:
            response = await self._client.send(request, stream=True)
        except httpx.HTTPError as error:
            raise hx.submission_error(
                error, url, idempotency_key, self.extensions, self._token
            ) from error
        try:
            if response.status_code in support.OUTCOME_UNKNOWN_STATUSES:
                # A gateway error may come after the server queued the job.
                page = hx.words(await stream.error_page(response))
                answered = support.api_error(page, "POST", url, self._token)
                raise support.gateway_submission_error(answered, idempotency_key, self.extensions)
            handle = self._reader(reader, "POST", url)
            try:
                return await handle(await self._ok(response, "POST", url))
            except IncompleteDownloadError as error:
                # The server answered, then the answer broke off: the job may be queued.
                raise support.cut_submission_error(
                    error, url, idempotency_key, self.extensions, self._token
                ) from error
        finally:
            await response.aclose()

    async def get_job(
        self,
        pid: str,
        *,
        hold: float = 0.0,
        known_status: str | None = None,
        deadline: float | None = None,
    ) -> JobInfo:
        url = self._url(wire.job_path(readers.validate_pid(pid)))
        limit = Deadline(deadline)
        handle = self._reader(lambda data: readers.read_job(data, pid), "GET", url)
        if hold > 0 and not self._long_poll_refused:
            seconds = max(1, round(min(hold, wire.MAX_HOLD_SECONDS)))
            params = {wire.HOLD_PARAM: seconds, wire.KNOWN_STATUS_PARAM: known_status}
            try:
                return await self._exchange("GET", url, limit, handle, params=params, hold=seconds)
            except QiboApiError as error:
                if error.status != 400 or self.supports_long_poll:
                    raise
                # A server without long-poll that rejects unknown parameters: never send them again.
                self._long_poll_refused = True
        return await self._exchange("GET", url, limit, handle)

    async def list_jobs(
        self, *, deadline: float | None = None, pids: Sequence[str] | None = None
    ) -> list[JobInfo]:
        if pids is None:
            return await self._get(wire.JOBS_PATH, readers.read_job_list, deadline)
        wanted = set(pids)
        if not self.lists_by_pid:  # a server without the filter: the whole list, kept here
            listed = await self._get(wire.JOBS_PATH, readers.read_job_list, deadline)
            return [info for info in listed if info.pid in wanted]
        found: list[JobInfo] = []
        url = self._url(wire.JOBS_PATH)
        for chunk in pid_chunks(list(dict.fromkeys(pids))):
            handle = self._reader(readers.read_job_list, "GET", url)
            params = {wire.LIST_PIDS_PARAM: ",".join(chunk)}
            found += await self._exchange("GET", url, Deadline(deadline), handle, params=params)
        return [info for info in found if info.pid in wanted]

    async def fetch_result(
        self, pid: str, receive: Callable[[ResultStream], T], *, deadline: float | None = None
    ) -> T:
        url = self._url(wire.download_path(readers.validate_pid(pid)))

        async def handle(response: httpx.Response) -> T:
            kind = response.headers.get("Content-Type", "").lower()
            if "json" in kind or "html" in kind:
                page = await stream.error_page(response)
                raise MalformedResponseError(
                    support.scrub(
                        f"the download of job {pid} answered status {response.status_code} "
                        f"with Content-Type {kind}, not a result archive: "
                        f"{support.shorten(page.text)!r}",
                        self._token,
                    )
                )
            archive = await stream.spool_archive(response, pid)
            return await self._pool.run(_receive_then_close, receive, archive)

        return await self._exchange("GET", url, Deadline(deadline), handle, download=True)

    async def delete_job(self, pid: str) -> JobDeletion:
        url = self._url(wire.job_path(readers.validate_pid(pid)))

        async def handle(response: httpx.Response) -> JobDeletion:
            body = await stream.read_body(response)
            try:
                data = stream.decode_json(response, body)
            except ValueError:
                data = None
            return readers.read_deletion(pid, data, stream.complete(response, body))

        return await self._exchange("DELETE", url, Deadline(None), handle)

    async def dry_run(self, submission: JobSubmission) -> DryRunReport | None:
        if wire.DRY_RUN not in self.extensions:
            return None
        url = self._url(wire.DRY_RUN_PATH)
        handle = self._reader(
            lambda data: readers.read_dry_run(data, submission.device), "POST", url
        )
        # Nothing is queued by a dry run, so it is as safe to repeat as a read.
        body = submission_body(submission)
        return await self._exchange("POST", url, Deadline(None), handle, json=body)

    async def cancel_job(self, pid: str) -> bool:
        if wire.CANCEL not in self.extensions:
            return False
        url = self._url(wire.cancel_path(readers.validate_pid(pid)))
        request = self._client.build_request("POST", url, timeout=self._timeout(Deadline(None)))
        try:
            response = await self._client.send(request, stream=True)
        except httpx.HTTPError as error:
            raise support.network_error("POST", url, error, 1, self._token) from error
        try:
            await self._ok(response, "POST", url)  # 404: no such job of this user
            return True
        finally:
            await response.aclose()

    async def delete_all_jobs(self) -> list[str]:
        url = self._url(wire.BULK_DELETE_PATH)
        handle = self._reader(readers.read_deleted, "DELETE", url)
        return await self._exchange("DELETE", url, Deadline(None), handle)

    async def disk_quota(self) -> DiskQuota:
        return await self._get(wire.DISK_QUOTA_PATH, readers.read_disk_quota, None)

    async def project_quotas(self) -> list[ProjectQuota]:
        return await self._get(wire.PROJECT_QUOTAS_PATH, readers.read_project_quotas, None)

    async def aclose(self) -> None:
        try:
            await self._client.aclose()
        finally:
            await self._pool.aclose()


def _receive_then_close(receive: Callable[[ResultStream], T], archive: ResultStream) -> T:
    """In a pool thread: hand the received archive to the (blocking) store, then free it."""
    with archive:
        return receive(archive)
