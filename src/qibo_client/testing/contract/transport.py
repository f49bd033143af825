"""TransportContract: what every :class:`~qibo_client.ports.Transport` must do."""

from __future__ import annotations

import io
import tarfile
import time
from typing import Any

import pytest

from qibo_client.domain.records import (
    DiskQuota,
    JobDeletion,
    JobInfo,
    JobSubmission,
    ProjectQuota,
    ServerVersion,
)
from qibo_client.exceptions import (
    DeadlineExceededError,
    JobPostServerError,
    QiboApiError,
    TransientError,
)
from qibo_client.ports.transport import ResultStream, Transport
from qibo_client.protocol.wire import IDEMPOTENCY, RESULTS_FILE


def bell_raw() -> dict[str, Any]:
    """``circuit.raw`` of a measured two-qubit Bell circuit."""
    from qibo import Circuit, gates

    circuit = Circuit(2)
    circuit.add(gates.H(0))
    circuit.add(gates.CNOT(0, 1))
    circuit.add(gates.M(0, 1))
    return dict(circuit.raw)


def wait_until_final(transport: Transport, pid: str, timeout: float) -> JobInfo:
    """Poll ``get_job`` until the job ends; fail the test after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    info = transport.get_job(pid)
    while not info.is_final:
        if time.monotonic() > deadline:
            pytest.fail(f"job {pid} did not end within {timeout} s (last status {info.status})")
        if transport.supports_long_poll:
            info = transport.get_job(pid, hold=1.0, known_status=info.status)
        else:
            time.sleep(0.05)
            info = transport.get_job(pid)
    return info


class TransportContract:
    """The transport port's promises, as tests.

    Provide the fixture ``transport``: the adapter under test, talking to a
    server (yield it and close it after). You may override ``submission`` (a
    job the server accepts and runs: a Bell circuit on device ``numpy`` with
    10 shots by default), ``refused_submission`` (one it refuses: an unknown
    device by default) and ``transport_token`` (the token the transport
    holds, so the suite checks it never shows; ``None`` skips that check).
    ``finish_timeout`` bounds how long a job may take to end, in seconds.
    """

    finish_timeout: float = 120.0

    @pytest.fixture
    def submission(self) -> JobSubmission:
        return JobSubmission(circuit=bell_raw(), device="numpy", nshots=10)

    @pytest.fixture
    def refused_submission(self, submission: JobSubmission) -> JobSubmission:
        return JobSubmission(
            circuit=submission.circuit, device="no-such-device-contract", nshots=10
        )

    @pytest.fixture
    def transport_token(self) -> str | None:
        return None

    def test_server_version_names_versions(self, transport: Transport) -> None:
        version = transport.server_version()
        assert isinstance(version, ServerVersion)
        assert version.server_qibo_version and version.minimum_client_qibo_version

    def test_extensions_are_names(self, transport: Transport) -> None:
        assert isinstance(transport.extensions, frozenset)
        assert all(isinstance(name, str) for name in transport.extensions)
        assert isinstance(transport.supports_long_poll, bool)

    def test_submit_then_get_job_gives_the_same_pid(
        self, transport: Transport, submission: JobSubmission
    ) -> None:
        pid = transport.submit_job(submission)
        info = transport.get_job(pid)
        assert isinstance(info, JobInfo)
        assert info.pid == pid
        assert isinstance(info.status, str) and info.status

    def test_an_unknown_pid_raises_qibo_api_error(self, transport: Transport) -> None:
        with pytest.raises(QiboApiError) as caught:
            transport.get_job("no-such-job-contract-0")
        assert not isinstance(caught.value, TransientError), "a missing job is not transient"

    def test_list_jobs_holds_submitted_jobs(
        self, transport: Transport, submission: JobSubmission
    ) -> None:
        pids = {transport.submit_job(submission) for _ in range(2)}
        listed = transport.list_jobs()
        assert all(isinstance(info, JobInfo) for info in listed)
        assert pids <= {info.pid for info in listed}

    def test_list_jobs_by_pid_has_only_those_jobs(
        self, transport: Transport, submission: JobSubmission
    ) -> None:
        transport.server_version()  # a transport may learn the extensions from any answer
        if not transport.lists_by_pid:
            pytest.skip("this transport does not list jobs by pid (extension job-list-pids)")
        first, second = (transport.submit_job(submission) for _ in range(2))
        listed = transport.list_jobs(pids=[second, "no-such-job-contract-0"])
        assert [info.pid for info in listed] == [second]
        assert first not in {info.pid for info in listed}
        assert transport.list_jobs(pids=[]) == []

    def test_submit_jobs_queues_all_or_says_none(
        self,
        transport: Transport,
        submission: JobSubmission,
        refused_submission: JobSubmission,
    ) -> None:
        transport.server_version()
        pids = transport.submit_jobs([submission, submission])
        if pids is None:
            pytest.skip("this transport or server does not batch (extension batch)")
        assert len(pids) == len(set(pids)) == 2
        assert set(pids) <= {info.pid for info in transport.list_jobs()}
        before = {info.pid for info in transport.list_jobs()}
        with pytest.raises(JobPostServerError) as caught:
            transport.submit_jobs([submission, refused_submission])
        assert "1" in str(caught.value), "the refusal names the job refused"
        assert {info.pid for info in transport.list_jobs()} == before, "nothing was queued"

    def test_a_refused_submission_raises_job_post_server_error(
        self, transport: Transport, refused_submission: JobSubmission
    ) -> None:
        with pytest.raises(JobPostServerError) as caught:
            transport.submit_job(refused_submission)
        assert str(caught.value), "the refusal says why"

    def test_idempotency_key_gives_the_same_pid(
        self, transport: Transport, submission: JobSubmission
    ) -> None:
        transport.server_version()  # a transport may learn the extensions from any answer
        if IDEMPOTENCY not in transport.extensions:
            pytest.skip("this server does not announce the idempotency extension")
        key = f"contract-{time.time_ns()}"
        first = transport.submit_job(submission, idempotency_key=key)
        assert transport.submit_job(submission, idempotency_key=key) == first

    def test_fetch_result_hands_a_stream_to_receive(
        self, transport: Transport, submission: JobSubmission
    ) -> None:
        pid = transport.submit_job(submission)
        assert wait_until_final(transport, pid, self.finish_timeout).status == "success"
        streams: list[ResultStream] = []

        def receive(stream: ResultStream) -> bytes:
            streams.append(stream)
            return b"".join(stream.iter_chunks(4096))

        data = transport.fetch_result(pid, receive)
        assert len(streams) >= 1 and all(isinstance(s, ResultStream) for s in streams)
        assert streams[-1].content_length in (None, len(data))
        with tarfile.open(fileobj=io.BytesIO(data), mode="r:gz") as archive:
            assert RESULTS_FILE in archive.getnames()

    def test_delete_job_returns_a_deletion_and_the_job_is_gone(
        self, transport: Transport, submission: JobSubmission
    ) -> None:
        pid = transport.submit_job(submission)
        deletion = transport.delete_job(pid)
        assert isinstance(deletion, JobDeletion)
        assert deletion.pid == pid
        with pytest.raises(QiboApiError):
            transport.get_job(pid)
        assert pid not in {info.pid for info in transport.list_jobs()}

    def test_delete_all_jobs_returns_the_deleted_pids(
        self, transport: Transport, submission: JobSubmission
    ) -> None:
        pid = transport.submit_job(submission)
        deleted = transport.delete_all_jobs()
        assert pid in deleted
        assert pid not in {info.pid for info in transport.list_jobs()}

    def test_quotas_are_records(self, transport: Transport) -> None:
        assert isinstance(transport.disk_quota(), DiskQuota)
        quotas = transport.project_quotas()
        assert isinstance(quotas, list)
        assert all(isinstance(quota, ProjectQuota) for quota in quotas)

    def test_a_passed_deadline_raises_deadline_exceeded(
        self, transport: Transport, submission: JobSubmission
    ) -> None:
        pid = transport.submit_job(submission)
        past = time.monotonic() - 1.0
        with pytest.raises(DeadlineExceededError):
            transport.get_job(pid, deadline=past)
        with pytest.raises(DeadlineExceededError):
            transport.list_jobs(deadline=past)
        with pytest.raises(DeadlineExceededError):
            transport.server_version(deadline=past)

    def test_hold_answers_at_once_when_the_status_already_differs(
        self, transport: Transport, submission: JobSubmission
    ) -> None:
        pid = transport.submit_job(submission)
        started = time.monotonic()
        info = transport.get_job(pid, hold=10.0, known_status="no-such-status")
        assert info.pid == pid
        assert time.monotonic() - started < 8.0

    def test_the_token_stays_out_of_repr_and_errors(
        self, transport: Transport, transport_token: str | None
    ) -> None:
        if not transport_token:
            pytest.skip("no transport_token fixture given")
        assert transport_token not in repr(transport)
        with pytest.raises(QiboApiError) as caught:
            transport.get_job("no-such-job-contract-1")
        error = caught.value
        for text in (str(error), repr(error), error.summary(), repr(error.payload)):
            assert transport_token not in text
