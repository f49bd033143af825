"""Client class for interacting with the Qibo server.

:class:`Client` submits circuits, finds jobs and shows quotas. It depends on
three ports (transport, result store, renderer); ``Client(token, url)`` asks
the composition root for the adapters that fit ``url`` (``https://`` for a
Qibo server, ``local://`` for the embedded one), and keyword arguments let
tests and frameworks hand in their own.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterable, Iterator, Mapping
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from qibo_client import futures
from qibo_client.bootstrap import Adapters, wire
from qibo_client.domain.deadline import Deadline
from qibo_client.domain.records import JobSubmission
from qibo_client.domain.selection import select_jobs
from qibo_client.domain.status import QiboJobStatus
from qibo_client.exceptions import (
    InvalidArgumentError,
    JobPostServerError,
    MalformedResponseError,
)
from qibo_client.ports import Renderer, ResultStore, Transport
from qibo_client.presentation.masking import masked
from qibo_client.protocol.readers import validate_pid
from qibo_client.protocol.wire import CLIENT_VERSION_HEADER, MAX_BATCH_JOBS, TOKEN_HEADER
from qibo_client.qibo_job import QiboJob
from qibo_client.submission import (
    check_submission_arguments,
    circuit_to_raw,
    local_dry_run,
)
from qibo_client.versions import client_version, local_qibo_version, versions_verdict

__all__ = ["Client", "JobPostServerError"]


def _map_concurrently(
    action: Callable[[int], QiboJob], indices: list[int], concurrency: int
) -> tuple[dict[int, QiboJob], dict[int, BaseException]]:
    """``action(index)`` for every index over up to ``concurrency`` threads: what each
    gave, and what each raised."""
    with ThreadPoolExecutor(max_workers=max(1, concurrency)) as pool:
        futures = {index: pool.submit(action, index) for index in indices}
    done = {i: f.result() for i, f in futures.items() if f.exception() is None}
    failed = {i: f.exception() for i, f in futures.items() if f.exception() is not None}
    return done, failed  # type: ignore[return-value]


class Client:
    """Client for managing Qibo server interactions.

    Attributes follow the published 0.2.x client: ``token``, ``headers``,
    ``base_url``, ``pid`` (of the most recent job), ``results_folder`` and
    ``results_path``.
    """

    def __init__(
        self,
        token: str,
        url: str,
        *,
        transport: Transport | None = None,
        result_store: ResultStore | None = None,
        renderer: Renderer | None = None,
        ui: str | None = None,
    ) -> None:
        if not isinstance(token, str):
            raise TypeError(f"token must be a string, got {type(token).__name__}")
        self.token = token
        self.base_url = url

        self.pid: str | None = None
        self.results_folder: Path | None = None
        self.results_path: Path | None = None

        self._adapters: Adapters = wire(
            url, token, transport=transport, result_store=result_store, renderer=renderer, ui=ui
        )
        self._versions_checked = False

    @property
    def headers(self) -> dict[str, str]:
        """The protocol headers every request carries (the token among them)."""
        return {TOKEN_HEADER: self.token, CLIENT_VERSION_HEADER: client_version()}

    @classmethod
    def from_profile(cls, profile: str | None = None, **adapters: Any) -> Client:
        """A client for the saved profile (``qibo-client login``), or the environment.

        The token and URL come from ``QIBO_CLIENT_TOKEN``/``QIBO_CLIENT_URL``,
        else the profile (``profile``, else ``QIBO_CLIENT_PROFILE``, else
        ``default``); with nothing configured, the embedded local server.
        Keyword arguments go to :class:`Client` (``transport=``, ``ui=``, ...).
        """
        from qibo_client.credentials import resolve_credentials

        found = resolve_credentials(profile=profile).ensure_token()
        return cls(found.token or "", found.url, **adapters)

    # -- adapters -------------------------------------------------------------------

    @property
    def transport(self) -> Transport:
        return self._adapters.transport

    @property
    def result_store(self) -> ResultStore:
        return self._adapters.result_store

    @property
    def renderer(self) -> Renderer:
        return self._adapters.renderer

    def _job(self, pid: str, **known: Any) -> QiboJob:
        return QiboJob(
            pid=pid, base_url=self.base_url, headers=self.headers, adapters=self._adapters, **known
        )

    # -- the published API ----------------------------------------------------------

    def check_client_server_qibo_versions(self) -> None:
        """Check that the local qibo is recent enough for the server.

        Raises ``RuntimeError`` if the local qibo is older than the server's
        minimum, or this client package older than the oldest the server
        accepts (servers of the 0.3 generation say); warns if the local qibo is
        older than the server's own.
        """
        versions = self.transport.server_version()
        if versions.generation != "0.2":
            self._adapters.inline_results_only = True
        warning = versions_verdict(versions, local_qibo_version())
        if warning:
            self.renderer.show_message(warning, level="warning")
        self._versions_checked = True

    def _new_key(self) -> str | None:
        """An idempotency key for a submission, where its outcome can be lost on the way."""
        return uuid.uuid4().hex if self.transport.outcome_can_be_lost else None

    def run_circuit(
        self,
        circuit: Any,
        device: str,
        project: str = "personal",
        nshots: int | None = None,
        verbatim: bool = False,
        *,
        idempotency_key: str | None = None,
        dry_run: bool = False,
    ) -> Any:
        """Submit a circuit to run on ``device`` and return its :class:`QiboJob`.

        Raises :class:`JobPostServerError` if the server refuses the job. The
        version check runs once per client, not before every submission.
        ``idempotency_key`` (generated when not given, where a submission's
        outcome can be lost on a network) lets a server that supports it
        recognise a repeated submission. ``dry_run=True`` runs
        nothing and returns a :class:`~qibo_client.domain.records.DryRunReport`
        of what the job would cost (checked by the server when it has the
        ``dry-run`` extension, else only by this client, saying what is unknown).
        """
        raw = circuit_to_raw(circuit)
        check_submission_arguments(device, project, nshots, verbatim)
        if not self._versions_checked:
            self.check_client_server_qibo_versions()
        source = None if isinstance(circuit, (Mapping, str)) else circuit
        submission = JobSubmission(raw, device, project, nshots, verbatim, source=source)
        if dry_run:
            return self.transport.dry_run(submission) or local_dry_run(submission)
        pid = self.transport.submit_job(
            submission, idempotency_key=idempotency_key or self._new_key()
        )
        self.pid = pid
        return self._job(pid, circuit=raw, nshots=nshots, device=device, project=project)

    def print_quota_info(self) -> None:
        """Show the disk quota and every project's quota (the token masked, if echoed)."""
        disk, projects = self.transport.disk_quota(), self.transport.project_quotas()
        self.renderer.show_quota(masked(disk, self.token), masked(projects, self.token))

    def print_job_info(self) -> None:
        """Show this user's jobs as a table.

        Raises ``ValueError`` if the job list holds jobs of several accounts.
        """
        jobs = masked(self.transport.list_jobs(), self.token)  # a server may echo the token
        if not jobs:
            self.renderer.show_message("No jobs found in database for user")
            return
        users = {job.user_email for job in jobs}
        if len(users) > 1:
            raise ValueError("Multiple accounts found in /api/jobs/.")
        self.renderer.show_jobs(next(iter(users)) or "unknown user", jobs)

    def get_job(self, pid: str) -> QiboJob:
        """The job with this pid, refreshed from the server."""
        job = self._job(validate_pid(pid))
        job.refresh()
        return job

    def job_from_record(self, record: Mapping[str, Any]) -> QiboJob:
        """The job a :meth:`QiboJob.to_record` record names, followed through this client.

        The way back to a job from a new process (a restarted kernel, say):
        keep the record, build a client for the same server, and call this.
        """
        if not isinstance(record, Mapping) or "pid" not in record:
            raise InvalidArgumentError(
                f"a job record is a mapping with a 'pid' (from QiboJob.to_record()), got {record!r:.200}"
            )
        url = record.get("url")
        if url and str(url).rstrip("/") != self.base_url.rstrip("/"):
            raise InvalidArgumentError(
                f"job {record['pid']} belongs to {url}, not to this client's {self.base_url}: "
                f"use Client(token, {url!r}).job_from_record(record)"
            )
        nshots = record.get("nshots")
        return self._job(
            validate_pid(record["pid"]),
            device=record.get("device"),
            project=record.get("project"),
            nshots=nshots if isinstance(nshots, int) else None,
        )

    def delete_job(self, pid: str, *, keep_local: bool = False) -> None:
        """Delete one job from the server, and its stored result unless ``keep_local``."""
        store = None if keep_local else self.result_store  # built before anything is deleted
        self.transport.delete_job(validate_pid(pid))
        if store is not None:
            store.forget(self.base_url, pid)
        self.renderer.show_message(f"Deleted job {pid}")

    def delete_all_jobs(self, *, keep_local: bool = False) -> list[str]:
        """Delete all of this user's jobs, and their stored results unless ``keep_local``;
        returns their pids."""
        store = None if keep_local else self.result_store
        deleted = self.transport.delete_all_jobs()
        if store is not None:
            for pid in deleted:
                try:
                    store.forget(self.base_url, validate_pid(pid))
                except MalformedResponseError:  # a pid unfit for a folder name has no folder
                    continue
        self.renderer.show_message(f"Deleted {len(deleted)} jobs")
        return deleted

    # -- ours -----------------------------------------------------------------------

    def jobs(
        self,
        status: str | QiboJobStatus | None = None,
        device: str | None = None,
        limit: int | None = None,
    ) -> list[QiboJob]:
        """This user's jobs as :class:`QiboJob` objects, newest first, filtered."""
        selected = select_jobs(self.transport.list_jobs(), status, device, limit)
        jobs = []
        for info in selected:
            job = self._job(info.pid)
            job.update(info)
            jobs.append(job)
        return jobs

    def run_circuits(
        self,
        circuits: Iterable[Any],
        device: str,
        project: str = "personal",
        nshots: int | None = None,
        verbatim: bool = False,
        *,
        concurrency: int = 4,
    ) -> list[QiboJob]:
        """Submit several circuits with the same settings; their jobs, in order.

        A server with the ``batch`` extension gets them in one request per
        ``MAX_BATCH_JOBS`` circuits, each queued whole or not at all; any other
        server one request per circuit, over a few connections at once
        (``concurrency``). If a request fails, every other one is still sent,
        then the first error (in circuit order) is raised with the queued jobs
        in its ``submitted_jobs`` attribute.
        """
        raws = [circuit_to_raw(c) for c in circuits]
        check_submission_arguments(device, project, nshots, verbatim)
        if not self._versions_checked:
            self.check_client_server_qibo_versions()

        def job(index: int, pid: str) -> QiboJob:
            return self._job(
                pid, circuit=raws[index], nshots=nshots, device=device, project=project
            )

        done: dict[int, QiboJob] = {}
        failed: dict[int, BaseException] = {}
        one_by_one: list[int] = []
        for start in range(0, len(raws), MAX_BATCH_JOBS):
            chunk = range(start, min(start + MAX_BATCH_JOBS, len(raws)))
            batch = [JobSubmission(raws[i], device, project, nshots, verbatim) for i in chunk]
            try:
                pids = self.transport.submit_jobs(batch, idempotency_key=self._new_key())
            except Exception as error:  # kept for the caller, with the jobs queued meanwhile
                failed[start] = error
                continue
            if pids is None:  # no batch extension (or too big a batch): one request each
                one_by_one += chunk
            else:
                done.update((i, job(i, pid)) for i, pid in zip(chunk, pids, strict=True))
        if one_by_one:

            def submit(index: int) -> QiboJob:
                return self.run_circuit(raws[index], device, project, nshots, verbatim)

            singles, single_errors = _map_concurrently(submit, one_by_one, concurrency)
            done.update(singles)
            failed.update(single_errors)
        jobs = [done[i] for i in sorted(done)]
        if failed:
            first = failed[min(failed)]
            first.submitted_jobs = jobs  # type: ignore[attr-defined]
            raise first
        if jobs:
            self.pid = jobs[-1].pid
        return jobs

    def as_completed(
        self,
        jobs: Iterable[QiboJob],
        *,
        wait: float | None = 0.5,
        timeout: float | None = None,
        verbose: bool = True,
    ) -> Iterator[QiboJob]:
        """Yield the jobs as they finish (success or error), one job-list request per round.

        ``wait`` is the pause between rounds; ``timeout`` raises
        :class:`~qibo_client.exceptions.JobTimeoutError` when it passes. With
        ``verbose``, one progress display follows the whole batch.
        """
        return futures.as_completed(
            jobs, timeout, wait=wait, verbose=verbose, renderer=self.renderer if verbose else None
        )

    def wait_all(
        self,
        jobs: Iterable[QiboJob],
        *,
        wait: float | None = 0.5,
        timeout: float | None = None,
        verbose: bool = True,
    ) -> list[QiboJob]:
        """Wait until every job is final; returns the jobs in the order given."""
        ordered = list(jobs)
        for _ in self.as_completed(ordered, wait=wait, timeout=timeout, verbose=verbose):
            pass
        return ordered

    def results(
        self,
        jobs: Iterable[QiboJob],
        *,
        wait: float | None = 0.5,
        timeout: float | None = None,
        concurrency: int = 4,
        verbose: bool = True,
    ) -> list[Any]:
        """Wait for all the jobs, then return their results in order (``None`` for failed ones).

        Each result is downloaded as soon as its job finishes, over a few
        connections at once (``concurrency``), inside the same ``timeout``.
        """
        ordered = list(jobs)
        deadline = Deadline.after(timeout)
        with ThreadPoolExecutor(max_workers=max(1, concurrency)) as pool:
            futures = {
                job.pid: pool.submit(job.result, verbose=False, timeout=deadline.remaining())
                for job in self.as_completed(ordered, wait=wait, timeout=timeout, verbose=verbose)
            }
            return [futures[job.pid].result() for job in ordered]

    def close(self) -> None:
        """Release the transport's connections (and an embedded server's workers)."""
        self.transport.close()

    def __enter__(self) -> Client:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"Client(url={self.base_url!r}, token='***')"
