"""Getting a finished job's result: from the download, or from the job object itself.

A server of the 0.2 generation offers the result archive (downloaded into the
result store); one of the 0.3 generation sends ``frequencies`` inline and no
download. :func:`download` and :func:`inline_result` serve
:meth:`QiboJob.result`; :func:`logs_text` words a failed job's logs.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from qibo_client.domain.deadline import Deadline
from qibo_client.domain.records import JobInfo, StoredResult
from qibo_client.domain.status import QiboJobStatus
from qibo_client.exceptions import UnsafeResultError
from qibo_client.ports import Renderer, ResultStore, ResultStream
from qibo_client.presentation.masking import mask_secret
from qibo_client.results.sizes import result_size_bound

if TYPE_CHECKING:
    from qibo_client.qibo_job import QiboJob

#: Statuses of a download that mean "this server has no downloads" (the 0.3 generation).
NO_DOWNLOAD_STATUSES = frozenset({404, 405, 410})
#: How much of a failed job's stdout/stderr is shown.
LOG_TAIL = 2000


def download(job: QiboJob, store: ResultStore, deadline: Deadline) -> StoredResult:
    """Fetch the job's archive into the store (the transport retries a broken transfer).

    The archive may unpack to no more than a result of the job's circuit can
    need: the circuit and shots this client sent, else those the server reports.
    """
    server, pid = job.base_url, job.pid
    circuit, nshots = getattr(job, "_sent", (None, None))
    max_bytes = result_size_bound(
        circuit if circuit is not None else job.circuit,
        nshots if nshots is not None else job.nshots,
    )

    def receive(stream: ResultStream) -> StoredResult:
        return store.save(server, pid, stream, max_bytes=max_bytes)

    return job.transport.fetch_result(pid, receive, deadline=deadline.at)


def logs_text(info: JobInfo | None, secret: str | None = None) -> str:
    """The job's ``stdout``/``stderr`` from its object, as lines to show (may be empty).

    ``secret`` (the user's token) is masked, should the server's logs echo it.
    """
    parts = []
    for name in ("stdout", "stderr"):
        text = getattr(info, name, None) if info else None
        if text and text.strip():
            parts.append(f"\n{name}:\n{text.strip()[-LOG_TAIL:]}")
    return mask_secret("".join(parts), secret)


def inline_result(job: QiboJob, status: QiboJobStatus | None) -> Any:
    """The result from the job object's ``frequencies`` (a server with no download).

    ``None`` on error, with the job's logs shown, as the published 0.3.0 does.
    """
    pid = job.pid
    if status is QiboJobStatus.ERROR:
        job.renderer.show_message(
            f"Job {pid} exited with error."
            + (logs_text(job.info, job._token) or " The server sent no logs."),
            level="error",
        )
        return None
    counts = job.info.frequencies if job.info else None
    if counts is None:
        job.renderer.show_message(
            f"Job {pid} succeeded, but the server offers no result download and its "
            "job object carries no 'frequencies'; nothing to rebuild the result from",
            level="error",
        )
        return None
    from qibo_client.results.frequencies import outcomes_from_frequencies

    try:
        return outcomes_from_frequencies(counts)
    except UnsafeResultError as error:
        job.renderer.show_error(error)
        return None


def usable(
    pid: str,
    status: QiboJobStatus | None,
    stored: StoredResult,
    info: JobInfo | None,
    renderer: Renderer,
    token: str | None = None,
) -> bool:
    """True when a downloaded archive holds the job's result; else say why it does not.

    An ``error`` job's archive holds its logs; a ``success`` archive without a
    results file holds whatever the server put there. Both leave ``None`` to return.
    """
    if status is QiboJobStatus.ERROR:
        renderer.show_message(
            f"Job {pid} exited with error. Results folder: {stored.folder}"
            + logs_text(info, token),
            level="error",
        )
        return False
    if stored.result_file is None:
        renderer.show_message(
            f"Job {pid} succeeded but its archive holds no results file; "
            f"what it held is in {stored.folder}",
            level="error",
        )
        return False
    return True
