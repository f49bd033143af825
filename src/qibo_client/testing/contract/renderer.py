"""RendererContract: what every :class:`~qibo_client.ports.Renderer` must do."""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator

import pytest

from qibo_client.domain.records import DiskQuota, JobInfo, Partition, ProjectQuota
from qibo_client.domain.status import QiboJobStatus
from qibo_client.exceptions import JobPostServerError, JobTimeoutError, QiboApiError
from qibo_client.ports.renderer import JobSnapshot, ProgressView, Renderer
from qibo_client.protocol.readers import read_job
from qibo_client.testing.answers import job_answer

#: A token the suite plants where a careless renderer would show it.
SECRET = "qibo-contract-secret-token-7f3a"


def snapshot(
    status: QiboJobStatus | None,
    *,
    queue_position: int | None = None,
    seconds_to_job_start: float | None = None,
    elapsed_seconds: float = 0.0,
) -> JobSnapshot:
    """A snapshot of job ``job-1`` on ``mock://server`` in ``status``."""
    text = status.name if status else "LOADING"
    return JobSnapshot(
        "job-1",
        status,
        text,
        "mock://server",
        "numpy",
        "personal",
        queue_position,
        seconds_to_job_start,
        elapsed_seconds,
    )


def sample_jobs() -> list[JobInfo]:
    """A few jobs in different states, as a server lists them."""
    return [
        read_job(job_answer("job-1", "success", runtime=1.5)),
        read_job(job_answer("job-2", "queueing", queue_position=3, etd_seconds=12.0)),
        read_job(job_answer("job-3", "error")),
        read_job(job_answer("job-4", "a-status-from-the-future")),
    ]


def sample_quotas() -> tuple[DiskQuota, list[ProjectQuota]]:
    partition = Partition("numpy", 30, "simulator", "CPU simulator", "available")
    return DiskQuota("user@example.org", 100.0, 200.0), [
        ProjectQuota("personal", partition, 60.0, 1000, 10),
        ProjectQuota("other", Partition("qpu"), None, None, None),
    ]


def _fail_with_token_nearby() -> None:
    token = SECRET
    headers = {"x-api-token": token}
    raise QiboApiError(401, "GET", "https://qibo.example/api/jobs/", f"bad token ({len(headers)})")


class RendererContract:
    """The renderer port's promises, as tests.

    Provide the fixture ``renderer``. The suite reads what it showed through
    the fixture ``renderer_output``, a function returning all text shown so
    far: by default what reached stdout, stderr and logging; override it if
    your renderer writes elsewhere (a file, a stream you gave it). Set
    ``checks_output = False`` for a renderer that deliberately shows nothing.
    """

    checks_output: bool = True

    @pytest.fixture
    def renderer_output(
        self, capsys: pytest.CaptureFixture[str], caplog: pytest.LogCaptureFixture
    ) -> Iterator[Callable[[], str]]:
        caplog.set_level(logging.DEBUG)
        seen: list[str] = []

        def read() -> str:
            out, err = capsys.readouterr()
            seen.append(out + err)
            return "".join(seen) + caplog.text

        yield read

    def test_progress_follows_a_job_to_its_end(
        self, renderer_output: Callable[[], str], renderer: Renderer
    ) -> None:
        view = renderer.start_progress(snapshot(None))
        assert isinstance(view, ProgressView)
        view.update(snapshot(QiboJobStatus.QUEUEING, queue_position=2, seconds_to_job_start=3.0))
        for status in QiboJobStatus:
            view.update(snapshot(status, elapsed_seconds=1.0))
        view.update(snapshot(None))  # a status the client does not know
        view.finish(snapshot(QiboJobStatus.SUCCESS), results_folder="/tmp/results/job-1")

    def test_progress_may_finish_without_a_folder(
        self, renderer_output: Callable[[], str], renderer: Renderer
    ) -> None:
        view = renderer.start_progress(snapshot(QiboJobStatus.RUNNING))
        view.finish(snapshot(QiboJobStatus.ERROR))

    def test_tables_of_quotas_and_jobs(
        self, renderer_output: Callable[[], str], renderer: Renderer
    ) -> None:
        disk, projects = sample_quotas()
        renderer.show_quota(disk, projects)
        renderer.show_quota(disk, [])
        renderer.show_jobs("user@example.org", sample_jobs())
        renderer.show_jobs("user@example.org", [])

    @pytest.mark.parametrize("level", ["info", "warning", "error"])
    def test_messages_reach_the_output(
        self, renderer_output: Callable[[], str], renderer: Renderer, level: str
    ) -> None:
        renderer.show_message(f"contract message at {level}", level=level)
        if self.checks_output:
            assert f"contract message at {level}" in renderer_output()

    @pytest.mark.parametrize(
        "error",
        [
            QiboApiError(404, "GET", "https://qibo.example/api/jobs/x/", "job x not found"),
            JobPostServerError("unknown device 'qpu'"),
            JobTimeoutError("job-1", 3.0, "running"),
            RuntimeError("something else"),
        ],
        ids=["api", "refused", "timeout", "other"],
    )
    def test_errors_are_shown(
        self, renderer_output: Callable[[], str], renderer: Renderer, error: BaseException
    ) -> None:
        renderer.show_error(error)
        if self.checks_output:
            assert renderer_output().strip(), "show_error showed nothing"

    def test_the_token_never_shows(
        self, renderer_output: Callable[[], str], renderer: Renderer
    ) -> None:
        try:
            _fail_with_token_nearby()
        except QiboApiError as error:
            renderer.show_error(error)
        view = renderer.start_progress(snapshot(QiboJobStatus.RUNNING))
        view.finish(snapshot(QiboJobStatus.SUCCESS))
        renderer.show_jobs("user@example.org", sample_jobs())
        assert SECRET not in renderer_output()
