"""Names on the wire: paths, headers, extensions, statuses and the limits both sides apply.

Paths are relative to ``<base URL>/api/`` and end with a slash, as the
published client sends them; servers of ours also answer them without it.
"""

from __future__ import annotations

from typing import Final

# -- headers --------------------------------------------------------------------------
#: The user's secret. Never logged, never echoed, dropped on a redirect to another origin.
TOKEN_HEADER: Final = "x-api-token"
#: The client package's version; servers compare it with ``minimum_client_version``.
CLIENT_VERSION_HEADER: Final = "x-qibo-client-version"
#: Comma-separated extensions a server of ours announces on every answer.
EXTENSIONS_HEADER: Final = "X-Qibo-Extensions"
#: Sent with a submission so that a repeat returns the same job (extension ``idempotency``).
IDEMPOTENCY_HEADER: Final = "Idempotency-Key"

# -- extensions -------------------------------------------------------------------------
#: ``GET jobs/<pid>/?wait=S&status=X`` holds the answer until the status differs from X.
LONG_POLL: Final = "long-poll"
#: ``Idempotency-Key`` on ``POST jobs/`` returns the first job for a repeated key.
IDEMPOTENCY: Final = "idempotency"
#: ``POST jobs/<pid>/cancel/`` stops a queued or running job; it ends as ``error``
#: with ``"cancelled": true`` (a final status every client already knows).
CANCEL: Final = "cancel"
#: ``POST jobs/dry_run/`` with a submission body checks it and answers its cost, running nothing.
DRY_RUN: Final = "dry-run"
#: ``POST jobs/batch/`` with ``{"jobs": [<submission>, ...]}`` queues them all or none.
BATCH: Final = "batch"
#: ``GET jobs/?pids=<pid>,<pid>`` lists only those of the caller's jobs.
JOB_LIST_PIDS: Final = "job-list-pids"
#: Every extension this package knows the name of.
KNOWN_EXTENSIONS: Final = frozenset({LONG_POLL, IDEMPOTENCY, CANCEL, DRY_RUN, BATCH, JOB_LIST_PIDS})


def parse_extensions(header_value: str | None) -> frozenset[str]:
    """The extension names in an ``X-Qibo-Extensions`` header (lower-cased, blanks dropped)."""
    if not header_value:
        return frozenset()
    return frozenset(part.strip().lower() for part in header_value.split(",") if part.strip())


# -- paths (relative to <base>/api/) ----------------------------------------------------
VERSION_PATH: Final = "qibo_version/"
JOBS_PATH: Final = "jobs/"
BULK_DELETE_PATH: Final = "jobs/bulk_delete/"
DRY_RUN_PATH: Final = "jobs/dry_run/"
BATCH_PATH: Final = "jobs/batch/"
DISK_QUOTA_PATH: Final = "disk_quota/"
PROJECT_QUOTAS_PATH: Final = "projectquotas/"
#: Where every path above hangs from, on the server (``<base URL>/api/``).
API_PREFIX: Final = "/api/"
#: ``jobs/<pid>/`` and ``jobs/<pid>/download/`` as route templates (``{pid}`` to fill in).
JOB_PATH_TEMPLATE: Final = "jobs/{pid}/"
DOWNLOAD_PATH_TEMPLATE: Final = "jobs/{pid}/download/"


def job_path(pid: str) -> str:
    """``jobs/<pid>/``: one job (GET, DELETE)."""
    return f"jobs/{pid}/"


def cancel_path(pid: str) -> str:
    """``jobs/<pid>/cancel/``: stop the job (extension ``cancel``)."""
    return f"jobs/{pid}/cancel/"


def download_path(pid: str) -> str:
    """``jobs/<pid>/download/``: the result archive."""
    return f"jobs/{pid}/download/"


#: Query parameters of a long-poll: hold for ``wait`` seconds while the status is ``status``.
HOLD_PARAM: Final = "wait"
KNOWN_STATUS_PARAM: Final = "status"
#: The longest hold a client asks for, and a server of ours grants, in seconds.
MAX_HOLD_SECONDS: Final = 60
#: Query parameter of the job list (extension ``job-list-pids``): comma-separated pids.
LIST_PIDS_PARAM: Final = "pids"
#: The most pids one job-list request names, and their joined length: a URL stays under 8 KiB.
MAX_LIST_PIDS: Final = 100
MAX_LIST_PIDS_CHARS: Final = 6000

# -- extension batch ----------------------------------------------------------------------
#: The key of the batch request's list of submissions, and of the answer's list of pids.
BATCH_JOBS_FIELD: Final = "jobs"
BATCH_PIDS_FIELD: Final = "pids"
#: The most jobs one batch request carries; more go in further requests.
MAX_BATCH_JOBS: Final = 1000
#: The largest batch body a client sends (a server of ours takes 10 MiB by default);
#: a larger batch goes one job per request instead.
MAX_BATCH_BYTES: Final = 8 * 1024 * 1024

# -- statuses ---------------------------------------------------------------------------
#: The job statuses the protocol names, in lifecycle order.
STATUSES: Final = ("queueing", "pending", "running", "postprocessing", "success", "error")
FINAL_STATUSES: Final = frozenset({"success", "error"})
#: Each status by name (always sent lower-case: some clients match them case-sensitively).
QUEUEING: Final = "queueing"
PENDING: Final = "pending"
RUNNING: Final = "running"
POSTPROCESSING: Final = "postprocessing"
SUCCESS: Final = "success"
ERROR: Final = "error"
#: The statuses a job can still leave.
ACTIVE_STATUSES: Final = (QUEUEING, PENDING, RUNNING, POSTPROCESSING)

# -- the result archive -------------------------------------------------------------------
#: The file a successful job's archive holds.
RESULTS_FILE: Final = "results.npy"
ARCHIVE_MEDIA_TYPE: Final = "application/gzip"

# -- limits both sides apply -------------------------------------------------------------
#: A pid names a folder on the user's disk: 1-128 of these characters, no path tricks.
PID_PATTERN: Final = r"[A-Za-z0-9][A-Za-z0-9._-]{0,127}"
#: The largest JSON answer a client reads, and request body a server takes, by default.
MAX_JSON_BYTES: Final = 64 * 1024 * 1024
#: The deepest nesting of JSON arrays and objects either side accepts.
MAX_JSON_DEPTH: Final = 64
