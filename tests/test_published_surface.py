"""Code written for the published client, and code built on it, runs with ours.

Tools built on qibo-client 0.2.x import its modules directly (a public MCP
server for the TII cloud does ``from qibo_client import constants`` and
``from qibo_client.utils import QiboApiRequest``); scripts catch its errors.
"""

from __future__ import annotations

import importlib
import pickle
import subprocess
import sys
import time
from pathlib import Path

import pytest
import responses
from tests.support.http import job_object

from qibo_client import Client, QiboJob
from qibo_client.exceptions import MalformedResponseError, QiboApiError
from qibo_client.qibo_job import poll_interval
from qibo_client.testing.fakes import MemoryResultStore, RecordingRenderer
from qibo_client.testing.serve import TOKEN1, serve

BASE = "https://cloud.example"
PUBLISHED_NAMES = {
    "qibo_client.constants": ["TIMEOUT", "SECONDS_BETWEEN_CHECKS", "RESULTS_BASE_FOLDER"],
    "qibo_client.utils": ["QiboApiRequest", "check_json_response_has_keys"],
    "qibo_client.exceptions.errors": [
        "QiboApiError",
        "JobPostServerError",
        "MalformedResponseError",
    ],
    "qibo_client.exceptions.hooks": [],
    "qibo_client.config_logging": ["logger"],
    "qibo_client.qibo_client": ["Client"],
    "qibo_client.qibo_job": ["QiboJob", "QiboJobStatus", "convert_str_to_job_status"],
}


@pytest.mark.parametrize("module", sorted(PUBLISHED_NAMES))
def test_published_module_and_names_import(module: str) -> None:
    imported = importlib.import_module(module)
    for name in PUBLISHED_NAMES[module]:
        assert hasattr(imported, name), f"{module}.{name} is missing"


def test_errors_have_one_identity_across_modules() -> None:
    from qibo_client import exceptions
    from qibo_client.exceptions import errors

    for name in ("QiboApiError", "JobPostServerError", "MalformedResponseError"):
        assert getattr(exceptions, name) is getattr(errors, name)
    error = errors.QiboApiError(404, "GET", "https://x/api/jobs/p/", "not found")
    assert type(error).__module__ == "qibo_client.exceptions.errors"
    copy = pickle.loads(pickle.dumps(error))
    assert isinstance(copy, exceptions.QiboApiError) and copy.message == "not found"


def test_constants_follow_the_environment(tmp_path: Path) -> None:
    code = (
        "from qibo_client import constants as c; "
        "print(c.TIMEOUT, c.SECONDS_BETWEEN_CHECKS, c.RESULTS_BASE_FOLDER)"
    )
    env = {"RESULTS_BASE_FOLDER": str(tmp_path), "SECONDS_BETWEEN_CHECKS": "7", "PATH": ""}
    out = subprocess.run(
        [sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True
    ).stdout.split()
    assert out == ["60", "7.0", str(tmp_path)]


def test_the_logger_is_the_one_our_plain_renderer_writes_to(caplog) -> None:
    from qibo_client.adapters.logging_renderer import LoggingRenderer
    from qibo_client.config_logging import logger

    with caplog.at_level("INFO", logger=logger.name):
        LoggingRenderer().show_message("hello from the renderer")
    assert [r.name for r in caplog.records if "hello" in r.message] == [logger.name]


def test_check_json_response_has_keys_names_the_missing_ones() -> None:
    from qibo_client.utils import check_json_response_has_keys

    check_json_response_has_keys({"pid": "x", "status": "y"}, ["pid"])
    with pytest.raises(MalformedResponseError, match="status"):
        check_json_response_has_keys({"pid": "x"}, ["pid", "status"])


@pytest.mark.slow
def test_qibo_api_request_against_serve(tmp_path: Path) -> None:
    from qibo_client import constants
    from qibo_client.utils import QiboApiRequest

    with serve(tmp_path / "server") as served:
        headers = {"x-api-token": TOKEN1}
        answer = QiboApiRequest.get(
            f"{served.url}/api/qibo_version/", headers=headers, timeout=constants.TIMEOUT
        ).json()
        assert "server_qibo_version" in answer
        assert QiboApiRequest.get(f"{served.url}/api/jobs/", headers=headers).json() == []
        with pytest.raises(QiboApiError) as refused:
            QiboApiRequest.get(f"{served.url}/api/jobs/", headers={"x-api-token": "wrong"})
    assert refused.value.status in (401, 403)
    assert "wrong" not in str(refused.value)


def test_result_wait_none_polls_every_seconds_between_checks(monkeypatch) -> None:
    monkeypatch.setenv("SECONDS_BETWEEN_CHECKS", "0.2")
    assert poll_interval(None) == 0.2
    with responses.RequestsMock() as mocked:
        for status in ("queueing", "running", "success"):
            mocked.get(f"{BASE}/api/jobs/p1/", json=job_object("p1", status, frequencies={"0": 5}))
        mocked.get(f"{BASE}/api/jobs/p1/download/", status=404, json={"detail": "gone"})
        job = QiboJob(
            "p1",
            BASE,
            {"x-api-token": "t0ken"},
            result_store=MemoryResultStore(),
            renderer=RecordingRenderer(),
        )
        started = time.monotonic()
        result = job.result(wait=None, verbose=False)
        took = time.monotonic() - started
    assert dict(result.frequencies()) == {"0": 5}
    assert took >= 0.4  # two pauses of 0.2 s between three status checks


def test_a_bad_seconds_between_checks_is_named(monkeypatch) -> None:
    monkeypatch.setenv("SECONDS_BETWEEN_CHECKS", "soon")
    with pytest.raises(ValueError, match="SECONDS_BETWEEN_CHECKS"):
        poll_interval(None)


@pytest.mark.parametrize(
    "arguments",
    [
        {"device": ""},
        {"device": "numpy", "nshots": -3},
        {"device": "numpy", "nshots": 2.5},
        {"device": "numpy", "verbatim": "yes"},
        {"device": "numpy", "project": ""},
    ],
)
def test_local_argument_errors_are_caught_as_qibo_api_errors(arguments) -> None:
    from qibo import Circuit

    client = Client("t0ken", BASE, renderer=RecordingRenderer())
    with pytest.raises(QiboApiError) as caught:
        client.run_circuit(Circuit(1), **arguments)
    # ... and they are still what they were: a ValueError or TypeError naming the argument.
    assert isinstance(caught.value, (ValueError, TypeError))
    assert caught.value.status == 0
    assert any(name in str(caught.value) for name in arguments)
