"""The testing kit itself: MockTransport, MockServer, the answer helpers and the fakes."""

from __future__ import annotations

import time

import pytest
from qibo import Circuit, gates

from qibo_client import Client, QiboJobStatus
from qibo_client.domain.records import JobSubmission
from qibo_client.exceptions import (
    DeadlineExceededError,
    IncompleteDownloadError,
    JobPostServerError,
    MalformedResponseError,
    QiboApiError,
    TransientError,
    UnsafeResultError,
)
from qibo_client.testing import (
    BytesStream,
    MemoryResultStore,
    MockRequest,
    MockServer,
    MockTransport,
    RecordingRenderer,
    ScriptedTransport,
    job_answer,
    load_qibo_result,
    mock_client,
    result_archive,
    transient,
    truncated,
    version_answer,
)


def bell() -> Circuit:
    circuit = Circuit(2)
    circuit.add(gates.H(0))
    circuit.add(gates.CNOT(0, 1))
    circuit.add(gates.M(0, 1))
    return circuit


SUBMISSION = JobSubmission(circuit={"nqubits": 1, "queue": []}, device="numpy", nshots=5)


def test_a_mock_client_runs_a_circuit_offline_in_three_lines() -> None:
    client = mock_client()
    result = client.run_circuit(bell(), device="numpy", nshots=100).result()
    assert set(result.frequencies()) <= {"00", "11"} and result.nshots == 100


def test_the_handler_sees_each_operation_with_its_pid_body_and_params() -> None:
    seen: list[MockRequest] = []

    def handler(request: MockRequest) -> object:
        seen.append(request)
        if request.operation == "submit_job":
            return {"pid": "job-7"}
        return job_answer("job-7", "running")

    transport = MockTransport(handler)
    assert transport.submit_job(SUBMISSION, idempotency_key="k1") == "job-7"
    transport.get_job("job-7", hold=2.0, known_status="queueing")
    submit, poll = seen
    assert submit.body is not None and submit.body["device"] == "numpy"
    assert submit.params == {"idempotency_key": "k1"}
    assert (poll.operation, poll.pid, poll.params["hold"]) == ("get_job", "job-7", 2.0)
    assert poll.method == "GET" and poll.url == "mock://server/api/jobs/job-7/"
    assert transport.operations("get_job") == [poll]


def test_answers_are_read_by_the_protocol_readers() -> None:
    answers = {
        "server_version": version_answer("0.3.6"),
        "get_job": {**job_answer("job-1", "queueing"), "surprise": 1, "queue_position": "x"},
        "list_jobs": {"not": "a list"},
    }
    transport = MockTransport(lambda request: answers[request.operation])
    assert transport.server_version().server_qibo_version == "0.3.6"
    info = transport.get_job("job-1")
    assert info.job_status is QiboJobStatus.QUEUEING and info.queue_position is None  # lenient
    with pytest.raises(MalformedResponseError, match="job list"):  # strict
        transport.list_jobs()


def test_a_pid_unfit_for_a_folder_is_refused() -> None:
    transport = MockTransport(lambda request: job_answer("../etc", "success"))
    with pytest.raises(MalformedResponseError, match="unusable job id"):
        transport.get_job("job-1")


def test_an_exception_returned_or_raised_by_the_handler_is_raised() -> None:
    def handler(request: MockRequest) -> object:
        if request.operation == "get_job":
            return request.transient()
        if request.operation == "submit_job":
            return {"detail": "no quota left"}
        raise request.error(403, "forbidden")

    transport = MockTransport(handler)
    with pytest.raises(TransientError) as caught:
        transport.get_job("job-1")
    assert caught.value.url == "mock://server/api/jobs/job-1/"
    with pytest.raises(JobPostServerError, match="no quota left"):
        transport.submit_job(SUBMISSION)
    with pytest.raises(QiboApiError) as refused:
        transport.disk_quota()
    assert refused.value.status == 403 and not isinstance(refused.value, TransientError)


def test_a_passed_deadline_reaches_no_handler() -> None:
    transport = MockTransport(lambda request: pytest.fail("the handler was called"))
    with pytest.raises(DeadlineExceededError):
        transport.get_job("job-1", deadline=time.monotonic() - 1)
    assert transport.requests == []


def test_a_download_is_bytes_a_stream_or_what_a_confused_server_sends() -> None:
    archive = result_archive(frequencies={"1": 3})
    answers: list[object] = [archive, BytesStream(archive, chunk_size=7), {"detail": "gone"}]
    transport = MockTransport(lambda request: answers.pop(0))
    store = MemoryResultStore()
    for pid in ("a", "b"):
        stored = transport.fetch_result(pid, lambda s, pid=pid: store.save("mock", pid, s))
        assert dict(store.load(stored).frequencies()) == {"1": 3}
    with pytest.raises(UnsafeResultError, match=r"sent JSON instead of the result archive.*: gone"):
        transport.fetch_result("c", lambda stream: store.save("mock", "c", stream))


def test_a_closed_transport_refuses() -> None:
    transport = MockServer().transport()
    transport.close()
    with pytest.raises(QiboApiError, match="closed"):
        transport.list_jobs()


def test_mock_server_jobs_move_one_status_per_poll() -> None:
    server = MockServer(statuses=["queueing", "pending", "running", "success"])
    transport = MockTransport(server)
    pid = transport.submit_job(SUBMISSION)
    seen = [transport.get_job(pid).status for _ in range(5)]
    assert seen == ["queueing", "pending", "running", "success", "success"]
    assert server.jobs[pid].polls == 5 and server.submissions[0]["nshots"] == 5


def test_mock_server_refuses_a_download_before_the_end_and_unknown_jobs() -> None:
    transport = MockServer().transport()
    pid = transport.submit_job(SUBMISSION)
    with pytest.raises(QiboApiError, match="no result yet") as early:
        transport.fetch_result(pid, lambda stream: None)
    assert early.value.status == 404
    with pytest.raises(QiboApiError, match="not found"):
        transport.delete_job("job-99")


def test_mock_server_failing_devices_end_in_error_with_logs() -> None:
    client = mock_client(MockServer(fail_devices=["broken"]))
    job = client.run_circuit(bell(), device="broken", nshots=10)
    assert job.result() is None
    assert job.status() is QiboJobStatus.ERROR


def test_mock_server_canned_results_and_batch_waits() -> None:
    counts = {"00": 6, "11": 4}
    server = MockServer(runner=lambda body: result_archive(frequencies=counts))
    client = mock_client(server)
    jobs = [client.run_circuit(bell(), device="numpy", nshots=10) for _ in range(3)]
    assert [dict(r.frequencies()) for r in client.results(jobs)] == [counts] * 3
    assert {job.pid for job in jobs} == set(server.jobs)


def test_the_client_reads_quotas_and_deletes_through_the_mock_server() -> None:
    renderer = RecordingRenderer()
    server = MockServer(devices=["numpy", "qpu"])
    client = mock_client(server, renderer=renderer)
    client.print_quota_info()
    [(disk, projects)] = renderer.quotas
    assert disk.email == "user@example.org" and [p.partition.name for p in projects] == [
        "numpy",
        "qpu",
    ]
    job = client.run_circuit(bell(), device="qpu", nshots=10)
    client.delete_job(job.pid)
    assert server.jobs == {}


def test_result_archive_from_counts_loads_with_exactly_those_counts() -> None:
    store = MemoryResultStore()
    stored = store.save("s", "p", BytesStream(result_archive(frequencies={"010": 2, "111": 1})))
    assert dict(store.load(stored).frequencies()) == {"010": 2, "111": 1}
    with pytest.raises(TypeError):
        result_archive()
    with pytest.raises(ValueError):
        result_archive(frequencies={"0": 1, "11": 1})


def test_result_archive_from_a_qibo_result() -> None:
    result = bell()(nshots=20)
    store = MemoryResultStore(loader=bytes)
    store.save("s", "p", BytesStream(result_archive(result)))
    loaded = load_qibo_result(store.files[("s", "p")]["results.npy"])
    assert dict(loaded.frequencies()) == dict(result.frequencies())


def test_memory_store_keeps_nothing_of_a_broken_download() -> None:
    store = MemoryResultStore()
    with pytest.raises(IncompleteDownloadError):
        store.save("s", "p", truncated(result_archive(frequencies={"0": 1})))
    assert store.files == {} and store.lookup("s", "p") is None


def test_scripted_transport_follows_its_script_and_records_calls() -> None:
    transport = ScriptedTransport(["running", "success"], long_poll=True)
    transport.failures = [transient(503)]
    with pytest.raises(TransientError):
        transport.get_job("job-1")
    statuses = [transport.get_job("job-1").status for _ in range(3)]
    assert statuses == ["running", "success", "success"]  # the last status repeats
    assert transport.supports_long_poll and transport.count("get_job") == 4
    assert transport.fetch_result("job-1", lambda s: b"".join(s.iter_chunks())) == (
        transport.archive
    )
    assert transport.delete_job("job-1").pid == "job-1"


def test_a_client_with_the_scripted_transport_and_memory_store() -> None:
    store = MemoryResultStore(loader=bytes)
    transport = ScriptedTransport(["success"])
    client = Client("t", transport.base_url, transport=transport, result_store=store)
    job = client.get_job("job-1")
    assert job.result(verbose=False) == b"result-bytes"
    assert store.lookup(transport.base_url, "job-1") is not None
