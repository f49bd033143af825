"""MockServer: a tiny in-memory Qibo server, as a handler for :class:`MockTransport`.

Jobs move one status further on every poll (``get_job``, or a ``list_jobs``
round) until they end; a finished job's download is a real result archive,
by default from running the circuit on qibo's numpy simulator::

    server = MockServer()
    client = Client("token", "mock://server", transport=MockTransport(server))
    assert client.run_circuit(circuit, device="numpy", nshots=100).result() is not None

(:func:`~qibo_client.testing.mock_client` does the middle line, with an
in-memory result store and a silent renderer.)
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from qibo_client.exceptions import QiboApiError
from qibo_client.protocol.wire import BATCH, FINAL_STATUSES, IDEMPOTENCY, JOB_LIST_PIDS, LONG_POLL
from qibo_client.testing import answers
from qibo_client.testing.mock_transport import Answer, MockRequest, MockTransport

#: Runs a submission body (``circuit``, ``nshots``, ...) and gives the job's result archive.
Runner = Callable[[Mapping[str, Any]], bytes]


def run_with_numpy(body: Mapping[str, Any]) -> bytes:
    """The default runner: the circuit runs on qibo's numpy simulator."""
    return answers.result_archive(answers.run_on_numpy(body["circuit"], body.get("nshots")))


@dataclass
class MockJob:
    """One job the server holds: its submission, its status now, those still ahead, its archive.

    A poll answers ``status`` and then moves it one step along ``ahead``.
    """

    pid: str
    body: Mapping[str, Any]
    ahead: list[str]
    status: str
    archive: bytes | None = None
    polls: int = 0
    fields: dict[str, Any] = field(default_factory=dict)

    def advance(self) -> None:
        if self.ahead:
            self.status = self.ahead.pop(0)


class MockServer:
    """A fake Qibo server for one user, to hand to :class:`MockTransport`.

    ``statuses`` is the life of every job, from submission to its end (one
    step per poll). ``runner`` builds the archive of a finished job (the
    circuit run on numpy by default; ``lambda body: result_archive(frequencies=
    {"00": 5, "11": 5})`` gives canned counts). ``devices`` limits the device
    names accepted (any by default); jobs on ``fail_devices`` end in
    ``error`` with logs. ``extensions`` are announced to the client, both
    ``long-poll`` and ``idempotency`` by default (a held poll answers at once
    with the next status, so a client never sleeps between polls); add
    ``batch`` for all-or-nothing batches and ``job-list-pids`` for a job list
    filtered by pid (only the jobs listed then move on). State to assert on:
    :attr:`jobs`, :attr:`submissions`.
    """

    def __init__(
        self,
        *,
        statuses: Iterable[str] = ("queueing", "running", "success"),
        runner: Runner = run_with_numpy,
        devices: Iterable[str] | None = None,
        fail_devices: Iterable[str] = (),
        email: str = "user@example.org",
        extensions: Iterable[str] = (LONG_POLL, IDEMPOTENCY),
    ) -> None:
        self.statuses = list(statuses)
        if not self.statuses or self.statuses[-1] not in FINAL_STATUSES:
            raise ValueError(f"statuses must end in success or error, got {self.statuses}")
        self.runner = runner
        self.devices = set(devices) if devices is not None else None
        self.fail_devices = set(fail_devices)
        self.email = email
        self.extensions = frozenset(extensions)
        self.jobs: dict[str, MockJob] = {}
        self.submissions: list[Mapping[str, Any]] = []
        self._keys: dict[str, str] = {}
        self._batch_keys: dict[str, list[str]] = {}
        self._count = 0
        self._lock = threading.RLock()

    def __repr__(self) -> str:
        return f"MockServer({len(self.jobs)} jobs)"

    def transport(self, base_url: str = "mock://server") -> MockTransport:
        """A :class:`MockTransport` speaking to this server."""
        return MockTransport(self, base_url=base_url, extensions=self.extensions)

    def __call__(self, request: MockRequest) -> Answer:
        with self._lock:
            handle = getattr(self, f"_{request.operation}", None)
            if handle is None:
                return request.error(405, f"the mock server has no {request.operation!r}")
            answer: Answer = handle(request)
            return answer

    # -- operations ------------------------------------------------------------------

    def _server_version(self, request: MockRequest) -> Answer:
        return answers.version_answer()

    def _refusal(self, body: Mapping[str, Any]) -> str | None:
        device = str(body.get("device", ""))
        if self.devices is not None and device not in self.devices:
            known = ", ".join(sorted(self.devices))
            return f"unknown device {device!r}; this server offers: {known}"
        return None

    def _submit_job(self, request: MockRequest) -> Answer:
        body = dict(request.body or {})
        key = request.params.get("idempotency_key")
        if key is not None and key in self._keys:
            return answers.submission_answer(self._keys[key])
        refused = self._refusal(body)
        if refused is not None:
            return answers.refusal_answer(refused)
        return answers.submission_answer(self._queue(body, key))

    def _submit_jobs(self, request: MockRequest) -> Answer:
        if BATCH not in self.extensions:
            return request.error(404, "not found: this server has no batch extension")
        bodies = [dict(body) for body in (request.body or {}).get("jobs", [])]
        key = request.params.get("idempotency_key")
        if key is not None and key in self._batch_keys:
            return {"pids": self._batch_keys[key]}
        for index, body in enumerate(bodies):
            refused = self._refusal(body)
            if refused is not None:
                return request.error(422, f"job {index} of the batch: {refused}; none was queued")
        pids = [self._queue(body, None) for body in bodies]
        if key is not None:
            self._batch_keys[key] = pids
        return {"pids": pids}

    def _queue(self, body: dict[str, Any], key: str | None) -> str:
        device = str(body.get("device", ""))
        self._count += 1
        pid = f"job-{self._count}"
        statuses = list(self.statuses)
        if device in self.fail_devices:
            statuses[-1] = "error"
        self.jobs[pid] = MockJob(pid, body, statuses[1:], statuses[0])
        self.submissions.append(body)
        if key is not None:
            self._keys[key] = pid
        return pid

    def _job(self, request: MockRequest) -> MockJob | QiboApiError:
        job = self.jobs.get(request.pid or "")
        if job is None:
            return request.error(404, f"job {request.pid} not found")
        return job

    def _get_job(self, request: MockRequest) -> Answer:
        job = self._job(request)
        if isinstance(job, QiboApiError):
            return job
        job.polls += 1
        answer = self._describe(job)
        job.advance()
        return answer

    def _list_jobs(self, request: MockRequest) -> Answer:
        listed = list(self.jobs.values())
        pids = request.params.get("pids")
        if pids is not None and JOB_LIST_PIDS in self.extensions:
            listed = [job for job in listed if job.pid in set(pids)]
        described = [self._describe(job) for job in listed]
        for job in listed:
            job.advance()
        return described

    def _download(self, request: MockRequest) -> Answer:
        job = self._job(request)
        if isinstance(job, QiboApiError):
            return job
        if job.status not in FINAL_STATUSES:
            return request.error(404, f"job {job.pid} has no result yet: it is {job.status}")
        if job.archive is None:
            if job.status == "error":
                job.archive = answers.error_archive(f"job {job.pid} failed on the mock server")
            else:
                job.archive = self.runner(job.body)
        return job.archive

    def _delete_job(self, request: MockRequest) -> Answer:
        job = self._job(request)
        if isinstance(job, QiboApiError):
            return job
        del self.jobs[job.pid]
        return answers.deletion_answer(job.pid)

    def _delete_all_jobs(self, request: MockRequest) -> Answer:
        pids = list(self.jobs)
        self.jobs.clear()
        return answers.bulk_delete_answer(pids)

    def _disk_quota(self, request: MockRequest) -> Answer:
        return answers.disk_quota_answer(self.email)

    def _project_quotas(self, request: MockRequest) -> Answer:
        devices = sorted(self.devices) if self.devices is not None else ["numpy"]
        return [answers.project_quota_answer(device=name) for name in devices]

    def _describe(self, job: MockJob) -> dict[str, Any]:
        body = job.body
        queued = job.status in ("queueing", "pending")
        return answers.job_answer(
            job.pid,
            job.status,
            email=self.email,
            project=body.get("project", "personal"),
            device=body.get("device", "numpy"),
            circuit=body.get("circuit"),
            nshots=body.get("nshots"),
            queue_position=1 if queued else None,
            etd_seconds=1.0 if queued else None,
            **job.fields,
        )
