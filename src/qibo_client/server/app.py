"""The local Qibo server's HTTP face: the protocol's routes over a :class:`QiboServer`.

``create_app(server)`` answers exactly the paths, statuses and bodies of
``docs/protocol.md`` (names from :mod:`qibo_client.protocol.wire`), each path
with and without its trailing slash, announces the extensions in
``X-Qibo-Extensions`` on every answer, and runs the core (which blocks) in
worker threads. The app neither starts nor closes the core: whoever built the
core does (``serve``).
"""

from __future__ import annotations

import functools
import importlib.metadata
import os
from collections.abc import Callable, Iterator
from typing import IO, Annotated, Any, TypeVar

from fastapi import Depends, FastAPI, Header, Query, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, StreamingResponse
from fastapi.security import APIKeyHeader
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException

from qibo_client.protocol import schemas
from qibo_client.protocol.objects import LIST_FREQUENCIES_PARAM, detail_object
from qibo_client.protocol.wire import (
    API_PREFIX,
    ARCHIVE_MEDIA_TYPE,
    BATCH_PATH,
    BULK_DELETE_PATH,
    CLIENT_VERSION_HEADER,
    DISK_QUOTA_PATH,
    DOWNLOAD_PATH_TEMPLATE,
    DRY_RUN_PATH,
    HOLD_PARAM,
    IDEMPOTENCY_HEADER,
    JOB_PATH_TEMPLATE,
    JOBS_PATH,
    KNOWN_STATUS_PARAM,
    LIST_PIDS_PARAM,
    MAX_HOLD_SECONDS,
    MAX_LIST_PIDS,
    PROJECT_QUOTAS_PATH,
    TOKEN_HEADER,
    VERSION_PATH,
)
from qibo_client.server.asgi import ORIGINAL_PATH, ProtocolMiddleware, sent_without_slash
from qibo_client.server.core import EXTENSIONS, QiboServer
from qibo_client.server.errors import JobRefused, ServerError
from qibo_client.server.holds import LONG_POLLS_PER_USER, HeldRequests
from qibo_client.server.store import token_hash

T = TypeVar("T")

#: The largest request body accepted, unless ``create_app`` is told otherwise.
DEFAULT_MAX_REQUEST_BYTES = 10 * 1024 * 1024
DOWNLOAD_CHUNK = 1024 * 1024
#: FastAPI's own 400 detail for a body it cannot decode (e.g. not UTF-8).
FASTAPI_UNREADABLE_BODY = "There was an error parsing the body"
#: The status of a refused submission for clients that read messages only from a 4xx.
REFUSED_STATUS = 422
#: ``jobs/<pid>/cancel/`` as a route template (``wire.cancel_path`` fills it in).
CANCEL_PATH_TEMPLATE = JOB_PATH_TEMPLATE + "cancel/"


def _package_version() -> str:
    """This package's version, read without importing the client above the server's layer."""
    try:
        return importlib.metadata.version("qibo-client")
    except importlib.metadata.PackageNotFoundError:  # pragma: no cover - a bare source tree
        return "0+unknown"


def _route(path: str) -> str:
    """A protocol path (relative to ``api/``) as a route of this app."""
    return API_PREFIX + path


def refusal_status(request: Request) -> int:
    """The status a refused submission is answered with: 200 for the 0.2 contract, else 422.

    The published 0.2.x client posts to ``api/jobs/`` (with the slash) and sends
    ``x-qibo-client-version``; it expects a 2xx ``{"detail"}`` without ``pid``
    and raises ``JobPostServerError``. Any other caller (CUDA-Q posts to
    ``api/jobs``; a client that does not name itself) shows a server's message
    only from a 4xx, so it gets 422 with the same ``detail``. CUDA-Q sends the
    version header too, so the header alone cannot tell them apart.
    """
    legacy = not sent_without_slash(request.scope) and CLIENT_VERSION_HEADER in request.headers
    return 200 if legacy else REFUSED_STATUS


_ERRORS: dict[int | str, dict[str, Any]] = {
    400: {"model": schemas.Detail, "description": "a request body that cannot be read"},
    401: {"model": schemas.Detail, "description": f"no {TOKEN_HEADER} header"},
    403: {"model": schemas.Detail, "description": "a token this server does not know"},
    413: {"model": schemas.Detail, "description": "the request body is too large"},
    422: {
        "model": schemas.ValidationDetail,
        "description": "a malformed request; or, for a submission not posted the 0.2 way "
        "(see docs/protocol.md, Refusals), a refused job",
    },
    500: {"model": schemas.Detail, "description": "the server failed"},
    507: {"model": schemas.Detail, "description": "the server's disk is full"},
}
_JOB_ERRORS: dict[int | str, dict[str, Any]] = {
    **_ERRORS,
    404: {"model": schemas.Detail, "description": "no such job of the caller's"},
}


_api_token = APIKeyHeader(
    name=TOKEN_HEADER,
    auto_error=False,
    description="The user's API token, as given by the server's operator.",
)


def _caller_token(value: Annotated[str | None, Depends(_api_token)]) -> str:
    """The caller's token; empty when missing (the core answers 401 then)."""
    return value or ""


Token = Annotated[str, Depends(_caller_token)]

IdempotencyKey = Annotated[
    str | None,
    Header(
        alias=IDEMPOTENCY_HEADER,
        min_length=1,
        max_length=128,
        description="extension idempotency: a repeated key answers the same pid(s)",
    ),
]


def release_held_requests(app: FastAPI) -> None:
    """Let every long-poll of ``app`` answer at once (the server is stopping)."""
    app.state.held_requests.release()


def _describe_validation(errors: list[dict[str, Any]]) -> str:
    """One sentence naming what is wrong with the request, for ``detail``."""
    parts = []
    for error in errors:
        where, *rest = (str(part) for part in error.get("loc", ("request",)))
        if error.get("type") == "json_invalid":
            reason = error.get("ctx", {}).get("error", "")
            parts.append(f"the request body is not valid JSON ({reason})")
        elif where == "body" and not rest:
            parts.append(
                "the request body must be a JSON object (circuit, nshots, device, project, "
                "verbatim) sent with Content-Type: application/json"
            )
        else:
            kind = {"body": "field", "query": "query parameter"}.get(where, where)
            name = ".".join(rest) or where
            parts.append(f"{kind} {name!r}: {error.get('msg', 'invalid')}")
    return "invalid request: " + "; ".join(dict.fromkeys(parts))


def _error_entries(errors: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The validation errors without the input echoed back (it may be large)."""
    return [
        {
            "loc": [str(part) for part in e.get("loc", ())],
            "msg": e.get("msg"),
            "type": e.get("type"),
        }
        for e in errors
    ]


def _read_chunks(handle: IO[bytes]) -> Iterator[bytes]:
    with handle:
        while chunk := handle.read(DOWNLOAD_CHUNK):
            yield chunk


def create_app(
    server: QiboServer,
    *,
    max_request_bytes: int = DEFAULT_MAX_REQUEST_BYTES,
    long_polls_per_user: int = LONG_POLLS_PER_USER,
) -> FastAPI:
    """A FastAPI app serving the Qibo protocol from ``server`` (started and closed elsewhere).

    ``long_polls_per_user`` long-polls of one user are held at once; more wait their turn.
    """
    app = FastAPI(
        title="Qibo server (qibo-client)",
        version=_package_version(),
        summary="Runs Qibo circuits on qibo's simulators; speaks the Qibo cloud's protocol.",
        description=f"Extensions: {', '.join(EXTENSIONS)} (see docs/protocol.md).",
        redoc_url=None,
        # ProtocolMiddleware adds the slash instead: a redirect would repeat the POST.
        redirect_slashes=False,
    )
    app.add_middleware(
        ProtocolMiddleware, extensions=", ".join(EXTENSIONS), max_body=max_request_bytes
    )
    holds = app.state.held_requests = HeldRequests(per_user=long_polls_per_user)

    async def call(function: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        return await run_in_threadpool(function, *args, **kwargs)

    @app.exception_handler(ServerError)
    async def _server_error(request: Request, error: ServerError) -> JSONResponse:
        return JSONResponse({"detail": error.detail}, status_code=error.status)

    @app.exception_handler(JobRefused)
    async def _refused(request: Request, error: JobRefused) -> JSONResponse:
        return JSONResponse(detail_object(error.detail), status_code=refusal_status(request))

    @app.exception_handler(RequestValidationError)
    async def _invalid(request: Request, error: RequestValidationError) -> JSONResponse:
        errors = list(error.errors())
        body = {"detail": _describe_validation(errors), "errors": _error_entries(errors)}
        return JSONResponse(body, status_code=422)

    @app.exception_handler(HTTPException)
    async def _http_error(request: Request, error: HTTPException) -> JSONResponse:
        detail = error.detail
        if error.status_code == 400 and detail == FASTAPI_UNREADABLE_BODY:
            detail = (
                "the request body could not be read: send UTF-8 JSON with "
                "Content-Type: application/json"
            )
        path = request.scope.get(ORIGINAL_PATH, request.url.path)
        if error.status_code == 404 and detail == "Not Found":
            detail = f"not found: {path} is not a path of the Qibo protocol"
        elif error.status_code == 405:
            detail = f"method {request.method} is not allowed on {path}"
        return JSONResponse(
            {"detail": detail}, status_code=error.status_code, headers=error.headers
        )

    @app.get(_route(VERSION_PATH), response_model=schemas.ServerVersion, tags=["server"])
    async def qibo_version() -> JSONResponse:
        """The server's qibo version, the oldest client qibo and client package it accepts."""
        return JSONResponse(await call(server.version))

    @app.post(
        _route(JOBS_PATH),
        response_model=schemas.Submitted | schemas.Detail,
        responses=_ERRORS,
        tags=["jobs"],
    )
    async def submit_job(
        submission: schemas.JobSubmission,
        token: Token,
        idempotency_key: IdempotencyKey = None,
    ) -> JSONResponse:
        """Queue a job: ``{"pid"}``; ``{"detail"}`` without a pid when the server refuses it
        (200 to the published 0.2 client, else 422: docs/protocol.md, Refusals)."""
        body = submission.model_dump()
        return JSONResponse(await call(server.submit, token, body, idempotency_key))

    @app.post(
        _route(BATCH_PATH),
        response_model=schemas.BatchSubmitted,
        responses=_ERRORS,
        tags=["jobs"],
    )
    async def submit_batch(
        batch: schemas.BatchSubmission, token: Token, idempotency_key: IdempotencyKey = None
    ) -> JSONResponse:
        """Extension batch: queue every submission (each a ``POST /api/jobs/`` body, at most
        ``wire.MAX_BATCH_JOBS``) or none: ``{"pids"}`` in order; the first refusal answers 422
        with a ``detail`` naming the job's index, and nothing is queued."""
        bodies = [job.model_dump() for job in batch.jobs]
        try:
            return JSONResponse(await call(server.submit_many, token, bodies, idempotency_key))
        except JobRefused as error:
            # Only our client posts batches: a refusal is always a 4xx here.
            return JSONResponse(detail_object(error.detail), status_code=REFUSED_STATUS)

    @app.post(
        _route(DRY_RUN_PATH),
        response_model=schemas.DryRun | schemas.Detail,
        responses=_ERRORS,
        tags=["jobs"],
    )
    async def dry_run(submission: schemas.JobSubmission, token: Token) -> JSONResponse:
        """Extension dry-run: check a submission as ``POST /api/jobs/`` would and answer what
        the job would cost, queueing nothing; a refusal is answered as a refused submission."""
        body = submission.model_dump()
        return JSONResponse(await call(server.dry_run, token, body))

    @app.get(_route(JOBS_PATH), response_model=list[schemas.Job], responses=_ERRORS, tags=["jobs"])
    async def list_jobs(
        token: Token,
        frequencies: Annotated[
            bool,
            Query(
                alias=LIST_FREQUENCIES_PARAM,
                description="extension job-list: include each job's frequencies (left out "
                "by default; GET /api/jobs/<pid>/ always has them)",
            ),
        ] = False,
        pids: Annotated[
            str | None,
            Query(
                alias=LIST_PIDS_PARAM,
                max_length=MAX_LIST_PIDS * 129,
                pattern=r"^[A-Za-z0-9._,-]*$",  # pids and commas: nothing else is ever sent
                description=f"extension job-list-pids: only these jobs (comma-separated, at "
                f"most {MAX_LIST_PIDS}); pids of no job of the caller's are left out",
            ),
        ] = None,
    ) -> JSONResponse:
        """The caller's jobs, oldest first (without ``frequencies`` unless asked)."""
        wanted = None if pids is None else [p.strip() for p in pids.split(",") if p.strip()]
        return JSONResponse(
            await call(server.list_jobs, token, frequencies=frequencies, pids=wanted)
        )

    # Declared before /api/jobs/{pid}/ so that "bulk_delete" is never read as a pid.
    @app.delete(
        _route(BULK_DELETE_PATH),
        response_model=schemas.BulkDeleted,
        responses=_ERRORS,
        tags=["jobs"],
    )
    async def bulk_delete(token: Token) -> JSONResponse:
        """Delete every job of the caller."""
        return JSONResponse(await call(server.bulk_delete, token))

    @app.get(
        _route(JOB_PATH_TEMPLATE),
        response_model=schemas.Job,
        responses=_JOB_ERRORS,
        tags=["jobs"],
    )
    async def get_job(
        pid: str,
        token: Token,
        wait: Annotated[
            float,
            Query(
                alias=HOLD_PARAM,
                ge=0,
                allow_inf_nan=False,
                description="extension long-poll: hold up to this",
            ),
        ] = 0.0,
        status: Annotated[
            str | None,
            Query(
                alias=KNOWN_STATUS_PARAM,
                description="extension long-poll: the status the caller knows",
            ),
        ] = None,
    ) -> JSONResponse:
        """One job; with ``wait``, answered once its status differs from ``status``."""
        now = functools.partial(server.get_job, token, pid)
        if wait > 0:
            hold = functools.partial(_held_job, server, token, pid, status)
            seconds = min(wait, MAX_HOLD_SECONDS)
            job = await holds.run(hold, now, user=token_hash(token), wait=seconds)
        else:
            job = await call(now)
        return JSONResponse(job)

    @app.get(
        _route(DOWNLOAD_PATH_TEMPLATE),
        response_class=StreamingResponse,
        responses={
            **_JOB_ERRORS,
            200: {
                "content": {ARCHIVE_MEDIA_TYPE: {"schema": {"type": "string", "format": "binary"}}},
                "description": "the result archive (.tar.gz)",
            },
        },
        tags=["jobs"],
    )
    async def download(pid: str, token: Token) -> StreamingResponse:
        """The finished job's archive: ``results.npy`` after success, its logs after an error."""
        handle, size = await call(_open_archive, server, token, pid)
        return StreamingResponse(
            _read_chunks(handle),
            media_type=ARCHIVE_MEDIA_TYPE,
            headers={
                "Content-Length": str(size),
                "Content-Disposition": f'attachment; filename="{pid}.tar.gz"',
            },
        )

    @app.delete(
        _route(JOB_PATH_TEMPLATE),
        response_model=schemas.Deleted,
        responses=_JOB_ERRORS,
        tags=["jobs"],
    )
    async def delete_job(pid: str, token: Token) -> JSONResponse:
        """Delete one of the caller's jobs."""
        return JSONResponse(await call(server.delete_job, token, pid))

    @app.post(
        _route(CANCEL_PATH_TEMPLATE),
        response_model=schemas.Cancelled,
        responses=_JOB_ERRORS,
        tags=["jobs"],
    )
    async def cancel_job(pid: str, token: Token) -> JSONResponse:
        """Extension cancel: take the job off the queue or stop its run at once; it ends
        ``error`` with ``"cancelled": true``. A job that already ended is left as it is."""
        return JSONResponse(await call(server.cancel_job, token, pid))

    @app.get(
        _route(DISK_QUOTA_PATH),
        response_model=list[schemas.DiskQuota],
        responses=_ERRORS,
        tags=["quotas"],
    )
    async def disk_quota(token: Token) -> JSONResponse:
        """The caller's disk quota (a list of one object)."""
        return JSONResponse(await call(server.disk_quota, token))

    @app.get(
        _route(PROJECT_QUOTAS_PATH),
        response_model=list[schemas.ProjectQuota],
        responses=_ERRORS,
        tags=["quotas"],
    )
    async def project_quotas(token: Token) -> JSONResponse:
        """The caller's quota on every device."""
        return JSONResponse(await call(server.project_quotas, token))

    return app


def _held_job(
    server: QiboServer, token: str, pid: str, status: str | None, seconds: float
) -> dict[str, Any]:
    return server.get_job(token, pid, wait=seconds, known_status=status)


def _open_archive(server: QiboServer, token: str, pid: str) -> tuple[IO[bytes], int]:
    """The open archive and its size; opened at once so a delete cannot pull it away mid-way."""
    path = server.result_archive(token, pid)
    try:
        handle = path.open("rb")
    except FileNotFoundError:
        raise ServerError(404, f"job {pid} not found") from None
    return handle, os.fstat(handle.fileno()).st_size
