"""The jsonl renderer: every event is one parseable JSON line with a timestamp."""

from __future__ import annotations

import importlib.metadata
import io
import json
from collections.abc import Callable
from datetime import datetime
from pathlib import Path

import pytest
from qibo_client.domain.records import DiskQuota, JobInfo, Partition, ProjectQuota
from qibo_client.domain.status import QiboJobStatus
from qibo_client.exceptions import QiboApiError
from qibo_client.plugins import RendererPlugin
from qibo_client.ports import JobSnapshot
from qibo_client.testing.contract import RendererContract

from qibo_client_jsonl import FILE_ENV, JsonLinesRenderer
from qibo_client_jsonl import plugin as jsonl_plugin


def lines(stream: io.StringIO) -> list[dict]:
    return [json.loads(line) for line in stream.getvalue().splitlines()]


def snapshot(status: QiboJobStatus | None, queue: int | None = None) -> JobSnapshot:
    text = status.name if status else "LOADING"
    return JobSnapshot("job-1", status, text, "local://", "numpy", "personal", queue, 2.0, 1.25)


def test_progress_emits_status_changes_queue_moves_and_finish() -> None:
    out = io.StringIO()
    renderer = JsonLinesRenderer(out)
    view = renderer.start_progress(snapshot(None))
    view.update(snapshot(QiboJobStatus.QUEUEING, queue=3))
    view.update(snapshot(QiboJobStatus.QUEUEING, queue=3))  # nothing new: no line
    view.update(snapshot(QiboJobStatus.QUEUEING, queue=1))
    view.update(snapshot(QiboJobStatus.SUCCESS))
    view.finish(snapshot(QiboJobStatus.SUCCESS), results_folder="/tmp/job-1")

    events = lines(out)
    assert [e["event"] for e in events] == ["progress", "status", "progress", "status", "finish"]
    assert events[1]["previous"] == "LOADING"
    assert events[1]["status"] == "queueing"
    assert events[2]["queue_position"] == 1
    assert events[3]["status"] == "success"
    assert events[4]["results_folder"] == "/tmp/job-1"
    for event in events:
        assert event["pid"] == "job-1"
        datetime.fromisoformat(event["ts"].replace("Z", "+00:00"))


def test_quota_jobs_error_and_message_events() -> None:
    out = io.StringIO()
    renderer = JsonLinesRenderer(out)
    partition = Partition("numpy", 30, "simulator", "CPU", "available")
    renderer.show_quota(
        DiskQuota("me@lab", 5.0, 10.0), [ProjectQuota("personal", partition, 60, 1000, 9)]
    )
    renderer.show_jobs("me@lab", [JobInfo("job-1", "success", device="numpy", nshots=100)])
    renderer.show_error(QiboApiError(404, "GET", "local:///api/jobs/x/", "no such job"))
    renderer.show_message("deleted 2 jobs", level="warning")

    quota, jobs, error, message = lines(out)
    assert quota["event"] == "quota"
    assert quota["kbs_left"] == 5.0
    assert quota["projects"][0]["device"] == "numpy"
    assert quota["projects"][0]["shots_left"] == 1000
    assert jobs["jobs"] == [
        {
            "pid": "job-1",
            "status": "success",
            "device": "numpy",
            "project": None,
            "nshots": 100,
            "created_at": None,
            "updated_at": None,
            "runtime": None,
        }
    ]
    assert error == {**error, "event": "error", "type": "QiboApiError", "status": 404}
    assert error["message"] == "no such job"
    assert message == {**message, "event": "message", "level": "warning", "text": "deleted 2 jobs"}


def test_stdout_is_looked_up_when_writing(capsys: pytest.CaptureFixture[str]) -> None:
    JsonLinesRenderer().show_message("hello")
    assert json.loads(capsys.readouterr().out)["text"] == "hello"


def test_a_closed_stream_never_raises() -> None:
    out = io.StringIO()
    out.close()
    JsonLinesRenderer(out).show_message("lost, quietly")


def test_plugin_registers_jsonl_by_name_only(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    registered: list[RendererPlugin] = []
    jsonl_plugin.qibo_client_register_renderers(register=registered.append)
    assert [(p.name, p.detect) for p in registered] == [("jsonl", None)]

    target = tmp_path / "events.jsonl"
    monkeypatch.setenv(FILE_ENV, str(target))
    renderer = registered[0].factory()
    renderer.show_message("one")
    renderer.show_message("two")
    assert [json.loads(line)["text"] for line in target.read_text().splitlines()] == ["one", "two"]


def test_entry_point_is_declared_when_installed() -> None:
    try:
        dist = importlib.metadata.distribution("qibo-client-jsonl")
    except importlib.metadata.PackageNotFoundError:
        pytest.skip("qibo-client-jsonl is not installed (pip install -e contrib/qibo-client-jsonl)")
    points = {ep.name: ep.value for ep in dist.entry_points if ep.group == "qibo_client"}
    assert points == {"jsonl": "qibo_client_jsonl.plugin"}


class TestJsonLinesRendererContract(RendererContract):
    """qibo-client's renderer contract, run against this renderer."""

    @pytest.fixture
    def stream(self) -> io.StringIO:
        return io.StringIO()

    @pytest.fixture
    def renderer(self, stream: io.StringIO) -> JsonLinesRenderer:
        return JsonLinesRenderer(stream)

    @pytest.fixture
    def renderer_output(self, stream: io.StringIO) -> Callable[[], str]:
        return stream.getvalue
