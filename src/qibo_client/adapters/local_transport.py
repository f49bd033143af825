"""LocalServerTransport: the transport port served by an in-process Qibo server.

``local://`` runs circuits on qibo's simulators inside this process (in warm
worker processes), with no account and no network. ``local://`` keeps its
jobs in a temporary folder removed when the last client closes or the
interpreter exits; ``local:///some/folder`` (or ``local://~/folder``) keeps
them there across runs. One server runs per folder per process, shared by
every client that names it.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

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
)
from qibo_client.exceptions import ConfigurationError, JobPostServerError, QiboApiError
from qibo_client.ports import ResultStream, Transport
from qibo_client.server import registry

#: The token used when the caller gives none: the embedded server is the user's own.
DEFAULT_LOCAL_TOKEN = "local-user"


def _data_dir(url: str) -> tuple[Path | None, int]:
    """The folder a ``local://`` URL names (``None``: temporary) and its worker count."""
    parts = urlsplit(url.strip())
    if parts.netloc not in ("", "~"):
        raise ConfigurationError(
            f"{url!r}: a local:// URL names a folder, e.g. 'local://' (temporary), "
            "'local:///absolute/folder' or 'local://~/folder'"
        )
    workers = 1
    for value in parse_qs(parts.query).get("workers", []):
        if not value.isdigit() or int(value) < 1:
            raise ConfigurationError(f"{url!r}: workers must be a whole number >= 1")
        workers = int(value)
    path = unquote(parts.path)
    if parts.netloc == "~":
        return Path("~" + path).expanduser().resolve(), workers
    if path in ("", "/"):
        return None, workers
    return Path(path).expanduser().resolve(), workers


class FileResultStream(ResultStream):
    """A result archive read from the server's disk in chunks."""

    def __init__(self, path: Path) -> None:
        self._file = path.open("rb")
        self.content_length = path.stat().st_size

    def iter_chunks(self, chunk_size: int = 1 << 20) -> Iterator[bytes]:
        while chunk := self._file.read(chunk_size):
            yield chunk

    def close(self) -> None:
        self._file.close()


@dataclass(frozen=True)
class LocalResponse:
    """What :meth:`LocalServerTransport.delete_job` returns (``requests.Response``'s shape)."""

    status_code: int
    body: Any = None

    @property
    def ok(self) -> bool:
        return 200 <= self.status_code < 300

    def json(self) -> Any:
        return self.body


class LocalServerTransport(Transport):
    """Calls an in-process :class:`~qibo_client.server.core.QiboServer` directly.

    Any token is accepted (an empty one means the default local user): the
    embedded server belongs to whoever runs it.
    """

    def __init__(self, url: str, token: str) -> None:
        self.base_url = url
        self._folder, workers = _data_dir(url)
        self._token = token or DEFAULT_LOCAL_TOKEN
        self._server = registry.acquire(self._folder, workers, self._token)
        self._closed = False
        self._lock = threading.Lock()

    def __repr__(self) -> str:
        return f"LocalServerTransport({self.base_url!r})"

    @property
    def supports_long_poll(self) -> bool:
        return True

    def _call(self, method: str, path: str, operation: str, *args: Any, **kwargs: Any) -> Any:
        from qibo_client.server.errors import JobRefused, ServerError

        if self._closed:
            raise QiboApiError(0, method, self._url(path), "this client was closed")
        try:
            return getattr(self._server, operation)(*args, **kwargs)
        except ServerError as error:
            raise QiboApiError(error.status, method, self._url(path), error.detail) from None
        except JobRefused as error:
            raise JobPostServerError(error.detail) from None

    def _url(self, path: str) -> str:
        base = self.base_url if self.base_url.endswith("/") else self.base_url + "/"
        return f"{base}api/{path}"

    def server_version(self) -> ServerVersion:
        return ServerVersion.from_wire(self._call("GET", "qibo_version/", "version"))

    def submit_job(self, submission: JobSubmission, *, idempotency_key: str | None = None) -> str:
        answer = self._call(
            "POST", "jobs/", "submit", self._token, submission.to_wire(), idempotency_key
        )
        return parse_submission_answer(answer)

    def get_job(self, pid: str, *, wait: float = 0.0, known_status: str | None = None) -> JobInfo:
        answer = self._call(
            "GET", f"jobs/{pid}/", "get_job", self._token, pid, wait=wait, known_status=known_status
        )
        return JobInfo.from_wire(answer)

    def list_jobs(self) -> list[JobInfo]:
        return parse_job_list(self._call("GET", "jobs/", "list_jobs", self._token))

    def open_result(self, pid: str) -> ResultStream:
        path = self._call("GET", f"jobs/{pid}/download/", "result_archive", self._token, pid)
        return FileResultStream(path)

    def delete_job(self, pid: str) -> LocalResponse:
        return LocalResponse(
            200, self._call("DELETE", f"jobs/{pid}/", "delete_job", self._token, pid)
        )

    def delete_all_jobs(self) -> list[str]:
        return parse_deleted(self._call("DELETE", "jobs/bulk_delete/", "bulk_delete", self._token))

    def disk_quota(self) -> DiskQuota:
        return DiskQuota.from_wire(self._call("GET", "disk_quota/", "disk_quota", self._token))

    def project_quotas(self) -> list[ProjectQuota]:
        answer = self._call("GET", "projectquotas/", "project_quotas", self._token)
        return parse_project_quotas(answer)

    def close(self) -> None:
        """Let go of the server; the last client to close stops its workers."""
        with self._lock:
            if self._closed:
                return
            self._closed = True
        registry.release(self._folder)
