"""QiboJob and Client logic against hand-written fakes of the ports."""

from __future__ import annotations

import pytest
from tests.support.fakes import (
    DictResultStore,
    RecordingRenderer,
    ScriptedTransport,
    transient,
)

from qibo_client import Client, QiboJob, QiboJobStatus
from qibo_client.domain.polling import JobPoller, PollPolicy
from qibo_client.exceptions import JobTimeoutError, MalformedResponseError, QiboApiError


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
    assert transport.count("open_result") == 1
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
    assert job._status is QiboJobStatus.ERROR
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


def test_transient_failures_while_waiting_are_tolerated(tmp_path):
    transport = ScriptedTransport(["queueing", "success"])
    sleeps: list[float] = []
    poller = JobPoller(transport, "job-1", PollPolicy(interval=0.0), sleep=sleeps.append)
    first = poller.fetch()
    transport.failures = [transient(503), transient(0)]
    assert poller.until_final(first).status == "success"
    assert len([s for s in sleeps if s > 0]) == 2  # one backoff per failure


def test_too_many_transient_failures_give_up_with_the_error(tmp_path):
    transport = ScriptedTransport(["queueing"])
    poller = JobPoller(
        transport, "job-1", PollPolicy(interval=0.0, max_transient_failures=2), sleep=lambda s: None
    )
    first = poller.fetch()
    transport.failures = [transient(502)] * 3
    with pytest.raises(QiboApiError) as caught:
        poller.until_final(first)
    assert caught.value.status == 502


def test_a_permanent_error_is_not_retried(tmp_path):
    transport = ScriptedTransport(["queueing"])
    poller = JobPoller(transport, "job-1", PollPolicy(interval=0.0), sleep=lambda s: None)
    first = poller.fetch()
    transport.failures = [transient(404)]
    with pytest.raises(QiboApiError):
        poller.until_final(first)
    assert transport.count("get_job") == 2


def test_timeout_keeps_the_pid_and_says_how_to_resume(tmp_path):
    transport = ScriptedTransport(["queueing"])
    now = [0.0]

    def sleep(seconds: float) -> None:
        now[0] += seconds

    poller = JobPoller(
        transport, "job-1", PollPolicy(interval=1.0), clock=lambda: now[0], sleep=sleep
    )
    with pytest.raises(JobTimeoutError) as caught:
        poller.until_final(poller.fetch(), timeout=5)
    assert caught.value.pid == "job-1"
    assert "get_job('job-1').result()" in str(caught.value)
    assert 5 <= transport.count("get_job") <= 7


def test_long_poll_servers_are_not_slept_on(tmp_path):
    transport = ScriptedTransport(["queueing", "running", "success"], long_poll=True)
    sleeps: list[float] = []
    poller = JobPoller(transport, "job-1", PollPolicy(interval=5.0), sleep=sleeps.append)
    poller.until_final(poller.fetch())
    assert sleeps == []
    waits = [arg for name, arg in transport.calls if name == "get_job"][1:]
    assert all(w > 0 for w in waits)


def test_result_timeout_raises_and_leaves_the_job(tmp_path):
    transport = ScriptedTransport(["queueing"])
    job = make_job(transport, tmp_path)
    with pytest.raises(JobTimeoutError):
        job.result(wait=0.01, timeout=0.05)
    assert transport.count("delete_job") == 0
    assert transport.count("open_result") == 0


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
        client.run_circuit("not a circuit", device="numpy")


def test_token_is_not_in_reprs(tmp_path):
    client, _ = make_client(ScriptedTransport(), tmp_path)
    assert "secret-token" not in repr(client)
    job = client.run_circuit({"nqubits": 1, "queue": []}, device="numpy")
    assert "secret-token" not in repr(job)


def test_print_job_info_with_no_jobs_says_so(tmp_path):
    client, renderer = make_client(ScriptedTransport(), tmp_path)
    client.print_job_info()
    assert renderer.messages == [("info", "No jobs found in database for user")]


def test_a_broken_download_is_tried_again(tmp_path):
    class FlakyDownload(ScriptedTransport):
        def open_result(self, pid):
            if self.count("open_result") == 0:
                self.calls.append(("open_result", pid))
                raise transient(0)
            return super().open_result(pid)

    transport = FlakyDownload(["success"])
    assert make_job(transport, tmp_path).result(wait=0) == b"result-bytes"
    assert transport.count("open_result") == 2


def test_a_refused_download_is_not_tried_again(tmp_path):
    class Forbidden(ScriptedTransport):
        def open_result(self, pid):
            self.calls.append(("open_result", pid))
            raise transient(403)

    transport = Forbidden(["success"])
    with pytest.raises(QiboApiError):
        make_job(transport, tmp_path).result(wait=0)
    assert transport.count("open_result") == 1


def test_job_reprs_for_terminals_and_notebooks(tmp_path):
    job = make_job(ScriptedTransport(["queueing"]), tmp_path)
    job.refresh()
    assert repr(job).startswith("QiboJob(pid='job-1', status=QUEUEING")
    assert "queue_position=1" in repr(job)
    assert dict(job.__rich_repr__())["status"] == "QUEUEING"
    job.device = "<numpy>"
    page = job._repr_html_()
    assert "<td>job-1</td>" in page and "&lt;numpy&gt;" in page


def test_the_first_status_request_is_as_tolerant_as_the_rest(tmp_path):
    transport = ScriptedTransport(["success"])
    transport.failures = [transient(0)]
    assert make_job(transport, tmp_path).result(wait=0) == b"result-bytes"
    assert transport.count("get_job") == 2
