"""QiboJob and Client logic against hand-written fakes of the ports."""

from __future__ import annotations

import pytest
import responses
from tests.support.fakes import (
    DictResultStore,
    RecordingRenderer,
    ScriptedTransport,
    job_wire,
    transient,
)

from qibo_client import Client, QiboJob, QiboJobStatus
from qibo_client.adapters.http_transport import HttpTransport
from qibo_client.domain.deadline import Deadline
from qibo_client.domain.polling import PollPolicy
from qibo_client.drivers.sync import wait_until_final
from qibo_client.exceptions import (
    IncompleteDownloadError,
    JobTimeoutError,
    MalformedResponseError,
    QiboApiError,
    TransientError,
)


def make_job(transport: ScriptedTransport, tmp_path, renderer=None) -> QiboJob:
    return QiboJob(
        "job-1",
        transport.base_url,
        transport=transport,
        result_store=DictResultStore(tmp_path),
        renderer=renderer or RecordingRenderer(),
    )


def test_result_polls_until_final_then_downloads_once(tmp_path):
    transport = ScriptedTransport(["queueing", "pending", "running", "postprocessing", "success"])
    renderer = RecordingRenderer()
    job = make_job(transport, tmp_path, renderer)

    assert job.result(wait=0) == b"result-bytes"
    assert transport.count("get_job") == 5
    assert transport.count("fetch_result") == 1
    assert [s.status_text for s in renderer.snapshots[1:]] == [
        "QUEUEING",
        "PENDING",
        "RUNNING",
        "POSTPROCESSING",
        "SUCCESS",
    ]
    assert renderer.finished and renderer.finished[-1].status is QiboJobStatus.SUCCESS
    assert job.results_path == tmp_path / "job-1" / "results.npy"
    assert renderer.finished_folders == [str(tmp_path / "job-1")]  # the banner can name it


def test_second_result_call_reuses_the_stored_copy(tmp_path):
    transport = ScriptedTransport(["success"])
    job = make_job(transport, tmp_path)
    job.result(wait=0)
    calls = len(transport.calls)
    assert job.result(wait=0) == b"result-bytes"
    assert len(transport.calls) == calls


def test_error_job_returns_none_and_says_where_the_logs_are(tmp_path):
    transport = ScriptedTransport(["running", "ERROR"])
    renderer = RecordingRenderer()
    job = make_job(transport, tmp_path, renderer)
    assert job.result(wait=0) is None
    assert job.info is not None and job.info.job_status is QiboJobStatus.ERROR
    assert job.status_text == "ERROR"
    assert any(
        "exited with error" in text and str(tmp_path) in text for _, text in renderer.messages
    )


def test_unknown_status_is_none_not_an_error(tmp_path):
    transport = ScriptedTransport(["warming-up"])
    assert make_job(transport, tmp_path).refresh() is None


def test_status_helpers_ask_the_server_each_time(tmp_path):
    transport = ScriptedTransport(["running", "success"])
    job = make_job(transport, tmp_path)
    assert job.running() is True
    assert job.success() is True
    assert transport.count("get_job") == 2


def wait(transport: ScriptedTransport, policy: PollPolicy, deadline: Deadline | None = None, **kw):
    """The sync driver on job-1, from its first answer."""
    first = transport.get_job("job-1")
    return wait_until_final(
        transport, "job-1", policy, deadline or Deadline.after(None), first=first, **kw
    )


def test_a_transient_failure_while_waiting_is_the_transports_last_word(tmp_path):
    # The transport already spent its retries before raising TransientError: the
    # domain never asks again on its own (retries would multiply).
    transport = ScriptedTransport(["queueing", "success"])
    first = transport.get_job("job-1")
    transport.failures = [transient(503), transient(0)]
    with pytest.raises(TransientError) as caught:
        wait_until_final(
            transport, "job-1", PollPolicy(interval=0.0), Deadline.after(None), first=first
        )
    assert caught.value.status == 503
    assert transport.count("get_job") == 2  # the first answer, then the failed poll
    assert len(transport.failures) == 1


JOB_URL = "https://qibo.example/api/jobs/job-1/"


@responses.activate
def test_transient_failures_while_waiting_are_retried_by_the_transport(tmp_path):
    responses.get(JOB_URL, json=job_wire("job-1", "queueing"))
    responses.get(JOB_URL, status=503, json={"detail": "busy"})
    responses.get(JOB_URL, status=502, json={"detail": "bad gateway"})
    responses.get(JOB_URL, json=job_wire("job-1", "success"))
    transport = HttpTransport("https://qibo.example", "token", retries=2, backoff_factor=0)
    first = transport.get_job("job-1")
    final = wait_until_final(
        transport, "job-1", PollPolicy(interval=0.0), Deadline.after(None), first=first
    )
    assert final.status == "success"
    assert len(responses.calls) == 4  # one poll, tried three times by the transport


@responses.activate
def test_too_many_transient_failures_give_up_with_the_error(tmp_path):
    responses.get(JOB_URL, json=job_wire("job-1", "queueing"))
    responses.get(JOB_URL, status=502, json={"detail": "bad gateway"})
    transport = HttpTransport("https://qibo.example", "token", retries=2, backoff_factor=0)
    first = transport.get_job("job-1")
    with pytest.raises(TransientError) as caught:
        wait_until_final(
            transport, "job-1", PollPolicy(interval=0.0), Deadline.after(None), first=first
        )
    assert caught.value.status == 502
    assert len(responses.calls) == 1 + 3  # the first answer, then 1 try + 2 retries


def test_a_permanent_error_is_not_retried(tmp_path):
    transport = ScriptedTransport(["queueing"])
    transport.failures = [
        QiboApiError(status=404, method="GET", url="fake://server/api/jobs/job-1/", message="gone")
    ]
    with pytest.raises(QiboApiError) as caught:
        wait_until_final(
            transport, "job-1", PollPolicy(interval=0.0), Deadline.after(None), sleep=lambda s: None
        )
    assert caught.value.status == 404
    assert transport.count("get_job") == 1


def test_timeout_keeps_the_pid_and_says_how_to_resume(tmp_path):
    transport = ScriptedTransport(["queueing"])
    now = [0.0]

    def sleep(seconds: float) -> None:
        now[0] += seconds

    deadline = Deadline.after(5, clock=lambda: now[0])
    with pytest.raises(JobTimeoutError) as caught:
        wait(transport, PollPolicy(interval=1.0), deadline, timeout=5, sleep=sleep)
    assert caught.value.pid == "job-1"
    assert "get_job('job-1').result()" in str(caught.value)
    assert 5 <= transport.count("get_job") <= 7
    assert now[0] == 5.0  # never slept past the deadline


def test_long_poll_servers_are_not_slept_on(tmp_path):
    transport = ScriptedTransport(["queueing", "running", "success"], long_poll=True)
    sleeps: list[float] = []
    wait(transport, PollPolicy(interval=5.0), sleep=sleeps.append)
    assert sleeps == []
    holds = [arg for name, arg in transport.calls if name == "get_job"][1:]
    assert holds and all(h > 0 for h in holds)


def test_result_timeout_raises_and_leaves_the_job(tmp_path):
    transport = ScriptedTransport(["queueing"])
    job = make_job(transport, tmp_path)
    with pytest.raises(JobTimeoutError):
        job.result(wait=0.01, timeout=0.05)
    assert transport.count("delete_job") == 0
    assert transport.count("fetch_result") == 0


def test_ctrl_c_while_waiting_tells_how_to_pick_the_job_up(tmp_path):
    class Interrupting(ScriptedTransport):
        def get_job(self, pid, **kwargs):
            if self.count("get_job") >= 2:
                raise KeyboardInterrupt
            return super().get_job(pid, **kwargs)

    renderer = RecordingRenderer()
    job = make_job(Interrupting(["queueing"]), tmp_path, renderer)
    with pytest.raises(KeyboardInterrupt):
        job.result(wait=0)
    assert any("client.get_job('job-1').result()" in text for _, text in renderer.messages)
    assert renderer.finished  # the live display was closed


@pytest.mark.parametrize("pid", ["../../etc", "/abs", "a/b", "", ".."])
def test_unsafe_pids_never_reach_the_filesystem(tmp_path, pid):
    job = make_job(ScriptedTransport(["success"]), tmp_path)
    job.pid = pid
    with pytest.raises(MalformedResponseError):
        job.result(wait=0)
    assert list(tmp_path.iterdir()) == []


def make_client(transport: ScriptedTransport, tmp_path) -> tuple[Client, RecordingRenderer]:
    renderer = RecordingRenderer()
    client = Client(
        "secret-token",
        "fake://server",
        transport=transport,
        result_store=DictResultStore(tmp_path),
        renderer=renderer,
    )
    return client, renderer


def test_version_check_runs_once_per_client(tmp_path):
    transport = ScriptedTransport()
    client, _ = make_client(transport, tmp_path)
    for _ in range(3):
        client.run_circuit({"nqubits": 1, "queue": []}, device="numpy", nshots=10)
    assert transport.count("server_version") == 1
    keys = [key for _, key in transport.submitted]
    assert len(set(keys)) == 3 and all(keys)  # a fresh idempotency key per submission
    assert client.pid == "job-3"


def test_old_local_qibo_is_refused(tmp_path):
    transport = ScriptedTransport()
    transport.version = transport.version.__class__("99.0", "98.0")
    client, _ = make_client(transport, tmp_path)
    with pytest.raises(RuntimeError, match=r"requires qibo>=98\.0"):
        client.run_circuit({"nqubits": 1, "queue": []}, device="numpy")
    assert transport.submitted == []


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"device": ""}, "device must name a device"),
        ({"device": "numpy", "nshots": 0}, "nshots must be a positive whole number"),
        ({"device": "numpy", "nshots": 2.5}, "nshots must be a positive whole number"),
        ({"device": "numpy", "project": ""}, "project must be a project name"),
    ],
)
def test_bad_arguments_are_refused_before_anything_is_sent(tmp_path, kwargs, message):
    transport = ScriptedTransport()
    client, _ = make_client(transport, tmp_path)
    with pytest.raises(ValueError, match=message):
        client.run_circuit({"nqubits": 1, "queue": []}, **kwargs)
    assert transport.calls == []


def test_run_circuit_wants_a_circuit(tmp_path):
    client, _ = make_client(ScriptedTransport(), tmp_path)
    with pytest.raises(TypeError, match="needs a qibo Circuit"):
        client.run_circuit(42, device="numpy")


def test_token_is_not_in_reprs(tmp_path):
    client, _ = make_client(ScriptedTransport(), tmp_path)
    assert "secret-token" not in repr(client)
    job = client.run_circuit({"nqubits": 1, "queue": []}, device="numpy")
    assert "secret-token" not in repr(job)


def test_print_job_info_with_no_jobs_says_so(tmp_path):
    client, renderer = make_client(ScriptedTransport(), tmp_path)
    client.print_job_info()
    assert renderer.messages == [("info", "No jobs found in database for user")]


def test_a_broken_download_is_left_to_the_transport_to_retry(tmp_path):
    # The transport retries a cut-off transfer itself (see test_reliability_faults);
    # what it finally raises reaches the caller after one call, with nothing stored.
    transport = ScriptedTransport(["success"])
    transport.download_failures = [IncompleteDownloadError("broke off after 10 bytes")]
    store = DictResultStore(tmp_path)
    job = QiboJob(
        "job-1",
        transport.base_url,
        transport=transport,
        result_store=store,
        renderer=RecordingRenderer(),
    )
    with pytest.raises(IncompleteDownloadError):
        job.result(wait=0)
    assert transport.count("fetch_result") == 1
    assert store.files == {}
    assert job.result(wait=0) == b"result-bytes"  # asking again later works


def test_a_refused_download_is_not_tried_again(tmp_path):
    class Forbidden(ScriptedTransport):
        def fetch_result(self, pid, receive, *, deadline=None):
            self.calls.append(("fetch_result", pid))
            raise QiboApiError(status=403, method="GET", url="fake://x", message="forbidden")

    transport = Forbidden(["success"])
    with pytest.raises(QiboApiError):
        make_job(transport, tmp_path).result(wait=0)
    assert transport.count("fetch_result") == 1


def test_job_reprs_for_terminals_and_notebooks(tmp_path):
    job = make_job(ScriptedTransport(["queueing"]), tmp_path)
    job.refresh()
    assert repr(job).startswith("QiboJob(pid='job-1', status=QUEUEING")
    assert "queue_position=1" in repr(job)
    assert dict(job.__rich_repr__())["status"] == "QUEUEING"
    job.device = "<numpy>"
    page = job._repr_html_()
    assert "<td>job-1</td>" in page and "&lt;numpy&gt;" in page


def test_the_first_status_request_is_bounded_like_the_rest(tmp_path):
    # One deadline covers the whole result(timeout=...): the first status request,
    # every poll and the download all get the same instant.
    class RecordingDeadlines(ScriptedTransport):
        deadlines: list[float | None] = []

        def get_job(self, pid, *, deadline=None, **kwargs):
            self.deadlines.append(deadline)
            return super().get_job(pid, deadline=deadline, **kwargs)

        def fetch_result(self, pid, receive, *, deadline=None):
            self.deadlines.append(deadline)
            return super().fetch_result(pid, receive, deadline=deadline)

    transport = RecordingDeadlines(["queueing", "success"])
    transport.deadlines = []
    assert make_job(transport, tmp_path).result(wait=0, timeout=60) == b"result-bytes"
    assert len(transport.deadlines) == 3
    assert None not in transport.deadlines and len(set(transport.deadlines)) == 1
