"""Fuzzing what a server sends: the protocol readers and the HTTP error handling.

Whatever JSON arrives, a reader returns a record or raises
MalformedResponseError (JobPostServerError for a refused submission), never a
KeyError, TypeError, AttributeError, ValueError or OverflowError; and a pid
that gets through can never step out of the results folder.
"""

from __future__ import annotations

import copy
import json
import math
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import requests
import responses
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from tests.support.http import disk_quota_answer, job_object, project_quota, version_answer

from qibo_client.adapters import http_support
from qibo_client.adapters.http_transport import HttpTransport
from qibo_client.adapters.logging_renderer import LoggingRenderer
from qibo_client.domain.records import DiskQuota, JobInfo, ProjectQuota
from qibo_client.exceptions import JobPostServerError, MalformedResponseError, QiboApiError
from qibo_client.protocol.readers import (
    read_deleted,
    read_disk_quota,
    read_job,
    read_job_list,
    read_project_quota,
    read_project_quotas,
    read_server_version,
    read_submission_answer,
    validate_pid,
)

FUZZ = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])

#: Any value ``json.loads`` can give, NaN and Infinity included (Python's decoder takes them).
scalars = (
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=True, allow_infinity=True)
    | st.text(max_size=30)
)
json_values = st.recursive(
    scalars,
    lambda children: (
        st.lists(children, max_size=5) | st.dictionaries(st.text(max_size=20), children, max_size=6)
    ),
    max_leaves=25,
)

READERS: dict[str, Callable[[Any], Any]] = {
    "job": read_job,
    "job list": read_job_list,
    "version": read_server_version,
    "version 0.3": read_server_version,
    "disk quota": read_disk_quota,
    "project quota": read_project_quota,
    "project quotas": read_project_quotas,
    "submission": read_submission_answer,
    "deleted": read_deleted,
}

#: A version answer of the 0.3 server generation: the minimum qibo under its new name.
VERSION_0_3 = {
    "server_qibo_version": "0.2.20",
    "minimum_qibo_version": "0.2.8",
    "minimum_client_version": "0.3.0",
}


def genuine(name: str) -> Any:
    """A correct answer for the reader called ``name``, as the protocol describes it."""
    job = job_object(
        "job-1", "queueing", queue_position=2, etd_seconds=30.5, queue_last_update="2026-11-23"
    )
    return {
        "job": job,
        "job list": [job, job_object("job-2", "success", frequencies={"00": 3})],
        "version": version_answer(),
        "version 0.3": VERSION_0_3,
        "disk quota": disk_quota_answer(),
        "project quota": project_quota(),
        "project quotas": [project_quota(), project_quota("other", "qibojit")],
        "submission": {"pid": "3f2a9c1e-0d4b-4c55-9e1b-77aa0c5d21e0"},
        "deleted": {"deleted": ["job-1", "job-2"]},
    }[name]


def read(name: str, value: Any) -> Any:
    """Run a reader; only our two error types may come out."""
    try:
        return READERS[name](value)
    except JobPostServerError as error:
        assert name == "submission", f"{name} raised JobPostServerError: {error}"
        assert error.message.strip()
        return None
    except MalformedResponseError as error:
        assert error.message.strip()
        return None


def check_record(record: Any) -> None:
    """What a returned record promises: safe pids, finite numbers, renderable tables."""
    records = record if isinstance(record, list) else [record]
    for item in records:
        if isinstance(item, JobInfo):
            assert validate_pid(item.pid) == item.pid
            assert isinstance(item.status, str)
            item.job_status, item.is_final  # noqa: B018 - must not raise
            assert item.queue_position is None or isinstance(item.queue_position, int)
            for number in (item.seconds_to_job_start, item.runtime):
                assert number is None or math.isfinite(number)
        elif isinstance(item, ProjectQuota):
            for number in (item.seconds_left, item.shots_left, item.jobs_left):
                assert number is None or math.isfinite(number)
        elif isinstance(item, DiskQuota):
            assert math.isfinite(item.kbs_left) and math.isfinite(item.kbs_max)


@st.composite
def mutated(draw: st.DrawFn, name: str) -> Any:
    """A genuine answer with some of its fields (at any depth) removed or replaced."""
    value = copy.deepcopy(genuine(name))
    paths: list[list[Any]] = []

    def walk(node: Any, path: list[Any]) -> None:
        if isinstance(node, dict):
            for key, child in node.items():
                paths.append([*path, key])
                walk(child, [*path, key])
        elif isinstance(node, list):
            for index, child in enumerate(node):
                paths.append([*path, index])
                walk(child, [*path, index])

    walk(value, [])
    for path in draw(st.lists(st.sampled_from(paths), min_size=1, max_size=4, unique_by=str)):
        parent = value
        try:
            for step in path[:-1]:
                parent = parent[step]
            action = draw(st.sampled_from(["replace", "delete"]))
            if action == "delete" and isinstance(parent, dict):
                parent.pop(path[-1], None)
            else:
                parent[path[-1]] = draw(json_values)
        except (KeyError, IndexError, TypeError):
            continue  # an earlier mutation already removed or replaced this path
    return value


# -- the readers ------------------------------------------------------------------------------


@pytest.mark.parametrize("name", list(READERS))
def test_genuine_answers_read(name: str) -> None:
    record = read(name, genuine(name))
    assert record is not None
    check_record(record)


@pytest.mark.parametrize("name", list(READERS))
@FUZZ
@given(value=json_values)
def test_any_json_gives_a_record_or_our_error(name: str, value: Any) -> None:
    record = read(name, value)
    if record is not None:
        check_record(record)


@pytest.mark.parametrize("name", list(READERS))
@FUZZ
@given(data=st.data())
def test_mutated_genuine_answers_give_a_record_or_our_error(name: str, data: st.DataObject) -> None:
    record = read(name, data.draw(mutated(name)))
    if record is not None:
        check_record(record)


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("queue_position", float("inf")),
        ("queue_position", float("nan")),
        ("etd_seconds", float("inf")),
        ("seconds_to_job_start", float("-inf")),
        ("runtime", float("nan")),
    ],
)
def test_non_finite_numbers_are_taken_as_absent(field: str, value: float) -> None:
    # Python's json decoder accepts NaN and Infinity, which int() and the tables choke on.
    info = read_job(json.loads(json.dumps(job_object("job-1", "queueing", **{field: value}))))
    assert getattr(info, {"etd_seconds": "seconds_to_job_start"}.get(field, field)) is None


def test_both_server_generations_name_the_minimum_qibo() -> None:
    old = read_server_version(version_answer(server="0.2.20", minimum="0.2.8"))
    new = read_server_version(VERSION_0_3)
    for answer, client_minimum in ((old, None), (new, "0.3.0")):
        assert answer.server_qibo_version == "0.2.20"
        assert answer.minimum_client_qibo_version == "0.2.8"
        assert answer.minimum_client_version == client_minimum


def test_a_version_answer_without_any_minimum_is_malformed() -> None:
    with pytest.raises(MalformedResponseError, match="minimum_qibo_version"):
        read_server_version({"server_qibo_version": "0.2.20"})


def test_a_disk_quota_of_nan_is_refused() -> None:
    with pytest.raises(MalformedResponseError, match="kbs_left"):
        read_disk_quota([{"user": {"email": "a@x"}, "kbs_left": float("nan"), "kbs_max": 1}])


@FUZZ
@given(jobs=st.lists(mutated("job"), max_size=4), quota=mutated("project quotas"))
def test_whatever_reads_also_renders(jobs: list[Any], quota: Any) -> None:
    renderer = LoggingRenderer()
    infos = [info for info in (read("job", job) for job in jobs) if info is not None]
    renderer.show_jobs("a@x", infos)
    quotas = read("project quotas", quota)
    if quotas is not None:
        renderer.show_quota(DiskQuota("a@x", 1.0, 2.0), quotas)


# -- pids -----------------------------------------------------------------------------------

HOSTILE_PIDS = [
    "..",
    ".",
    "../etc",
    "a/../../b",
    "/etc/passwd",
    "\\windows",
    "a\\b",
    "C:\\x",
    "C:",
    "a/b",
    "",
    " ",
    "job\n",
    "job\x00",
    "-rf",
    ".hidden",
    "a" * 129,
]


@pytest.mark.parametrize("pid", HOSTILE_PIDS)
def test_hostile_pids_are_refused(pid: str) -> None:
    with pytest.raises(MalformedResponseError, match="unusable job id"):
        validate_pid(pid)


@settings(max_examples=200, deadline=None)
@given(pid=st.text(max_size=140) | st.from_regex(r"[A-Za-z0-9./\\:_-]{1,20}", fullmatch=True))
@example("job\n")
@example("..")
def test_an_accepted_pid_stays_inside_the_results_folder(pid: str) -> None:
    try:
        accepted = validate_pid(pid)
    except MalformedResponseError:
        return
    assert accepted == pid
    assert "/" not in pid and "\\" not in pid and ":" not in pid
    assert pid not in {".", ".."} and not pid.startswith(("-", "."))
    assert all(ch.isprintable() and not ch.isspace() for ch in pid)
    assert not Path(pid).is_absolute() and len(pid) <= 128
    base = Path("/base/results")
    assert (base / pid).parent == base and (base / pid).name == pid


@FUZZ
@given(value=json_values)
def test_validate_pid_takes_any_value(value: Any) -> None:
    try:
        accepted = validate_pid(value)
    except MalformedResponseError:
        return
    assert isinstance(value, str) and accepted == value


# -- the HTTP edge: error messages and bodies a server (or a proxy) may send ------------------

TOKEN = "fuzz-token-5d1c"
content_types = st.sampled_from(
    [
        "application/json",
        "text/html; charset=utf-8",
        "text/plain",
        "application/problem+json",
        "application/octet-stream",
        "application/json; charset=latin-1",
        "",
    ]
)
bodies = (
    st.binary(max_size=300)
    | json_values.map(lambda v: json.dumps(v).encode())
    | st.text(max_size=300).map(lambda t: t.encode("utf-8"))
    | st.sampled_from(
        [
            b"<html><head><title>502 Bad Gateway</title></head></html>",
            b"<!DOCTYPE html><body>" + TOKEN.encode() + b"</body>",
            json.dumps({"detail": f"bad token {TOKEN}"}).encode(),
            json.dumps({"errors": [{"token": TOKEN}]}).encode(),
            b'{"detail": ',
            b"\xff\xfe\x00",
        ]
    )
)


def fake_response(status: int, body: bytes, content_type: str) -> requests.Response:
    response = requests.Response()
    response.status_code = status
    response._content = body
    if content_type:
        response.headers["Content-Type"] = content_type
    response.encoding = requests.utils.get_encoding_from_headers(response.headers)
    return response


@FUZZ
@given(status=st.integers(300, 599), body=bodies, kind=content_types)
def test_error_messages_come_from_any_body_without_the_token(
    status: int, body: bytes, kind: str
) -> None:
    error = http_support.api_error(fake_response(status, body, kind), "GET", "http://s/x", TOKEN)
    assert isinstance(error, QiboApiError) and error.status == status
    assert error.message.strip()
    assert TOKEN not in error.message and TOKEN not in error.summary()
    assert TOKEN not in json.dumps(error.payload, default=str)


CALLS: dict[str, tuple[str, str, Callable[[HttpTransport], Any]]] = {
    "version": ("GET", "qibo_version/", lambda t: t.server_version()),
    "jobs": ("GET", "jobs/", lambda t: t.list_jobs()),
    "job": ("GET", "jobs/job-1/", lambda t: t.get_job("job-1")),
    "quota": ("GET", "disk_quota/", lambda t: t.disk_quota()),
    "projects": ("GET", "projectquotas/", lambda t: t.project_quotas()),
    "delete all": ("DELETE", "jobs/bulk_delete/", lambda t: t.delete_all_jobs()),
}


@pytest.mark.parametrize("call", list(CALLS))
@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    status=st.sampled_from([200, 201, 204, 400, 401, 404, 422, 500]),
    body=bodies,
    kind=content_types,
)
def test_the_transport_answers_any_body_with_a_record_or_our_error(
    call: str, status: int, body: bytes, kind: str
) -> None:
    method, path, invoke = CALLS[call]
    transport = HttpTransport("http://qibo.test", TOKEN, retries=0)
    with responses.RequestsMock() as mock:
        mock.add(
            method,
            f"http://qibo.test/api/{path}",
            body=body,
            status=status,
            content_type=kind or None,
        )
        try:
            record = invoke(transport)
        except (QiboApiError, MalformedResponseError) as error:
            assert TOKEN not in str(error)
        else:
            assert 200 <= status < 300
            check_record(record)
    transport.close()
