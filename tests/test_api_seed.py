"""Every name in the published API (tests/data/qibo-client-api.txt, a copy of the seed) exists.

The test walks the seed's entries: classes and functions with their
parameters in order and their defaults, methods, enum members with their
values, and instance attributes.
"""

from __future__ import annotations

import ast
import enum
import importlib
import inspect
import re
from dataclasses import dataclass
from pathlib import Path

import pytest
from tests.support.fakes import ScriptedTransport

from qibo_client import Client, QiboJob

SEED = Path(__file__).parent / "data" / "qibo-client-api.txt"
ENTRY = re.compile(r"^- (?P<body>.+?)¶$")
CALLABLE = re.compile(r"^(?:class )?(?P<name>[\w.]+)\((?P<params>.*?)\)(?: (?P<ret>.+))?$")
MEMBER = re.compile(r"^(?P<name>[A-Z_]+) = (?P<value>\d+)$")


@dataclass
class Entry:
    kind: str  # class, function, method, attribute, member
    owner: str | None
    name: str
    params: list[tuple[str, object]]


def _params(text: str) -> list[tuple[str, object]]:
    if not text.strip():
        return []
    found = []
    for part in re.split(r",\s*(?=\w+\s*:)", text):
        name = part.split(":")[0].strip()
        default: object = inspect.Parameter.empty
        if "=" in part:
            default = ast.literal_eval(part.split("=", 1)[1].strip())
        found.append((name, default))
    return found


def seed_entries() -> list[Entry]:
    entries: list[Entry] = []
    owner: str | None = None
    for line in SEED.read_text(encoding="utf-8").splitlines():
        match = ENTRY.match(line.strip())
        if not match:
            continue
        body = match["body"]
        if member := MEMBER.match(body):
            entries.append(Entry("member", owner, member["name"], [(member["value"], None)]))
            continue
        if call := CALLABLE.match(body):
            name = call["name"]
            if body.startswith("class "):
                owner = name
                entries.append(Entry("class", None, name, _params(call["params"])))
            elif "." in name:
                entries.append(Entry("function", None, name, _params(call["params"])))
            else:
                entries.append(Entry("method", owner, name, _params(call["params"])))
            continue
        entries.append(Entry("attribute", owner, body.strip(), []))
    return entries


ENTRIES = seed_entries()


def _resolve(dotted: str) -> object:
    module, _, name = dotted.rpartition(".")
    return getattr(importlib.import_module(module), name)


def _check_signature(func: object, expected: list[tuple[str, object]]) -> None:
    params = [p for p in inspect.signature(func).parameters.values() if p.name != "self"]
    positional = [p for p in params if p.kind is not p.KEYWORD_ONLY]
    assert [p.name for p in positional[: len(expected)]] == [n for n, _ in expected]
    for param, (name, default) in zip(positional, expected, strict=False):
        assert param.default == default, f"{name}: default {param.default!r} != {default!r}"
    assert all(p.default is not p.empty for p in positional[len(expected) :])


def _instance(owner: str) -> object:
    cls = _resolve(owner)
    if cls is Client:
        return Client("token", "fake://server", transport=ScriptedTransport())
    if cls is QiboJob:
        return QiboJob("pid-1", "https://server.invalid")
    return cls


def test_the_seed_was_read():
    kinds = {e.kind for e in ENTRIES}
    assert kinds == {"class", "function", "method", "attribute", "member"}
    assert len(ENTRIES) >= 40


@pytest.mark.parametrize("entry", ENTRIES, ids=lambda e: f"{e.owner or ''}:{e.name}")
def test_published_name_exists(entry: Entry) -> None:
    if entry.kind == "class":
        cls = _resolve(entry.name)
        if issubclass(cls, enum.Enum):  # Enum(value) looks the member up
            assert cls(5) is cls.SUCCESS
        else:
            _check_signature(cls.__init__, entry.params)
    elif entry.kind == "function":
        _check_signature(_resolve(entry.name), entry.params)
    elif entry.kind == "method":
        method = getattr(_resolve(entry.owner), entry.name)
        assert callable(method)
        _check_signature(method, entry.params)
    elif entry.kind == "member":
        assert _resolve(entry.owner)[entry.name].value == int(entry.params[0][0])
    else:
        assert hasattr(_instance(entry.owner), entry.name), f"{entry.owner}.{entry.name}"


def test_published_top_level_names():
    import qibo_client
    from qibo_client import exceptions

    assert {"Client", "QiboJob", "QiboJobStatus", "__version__"} <= set(dir(qibo_client))
    for name in ("QiboApiError", "JobPostServerError", "MalformedResponseError"):
        assert issubclass(getattr(exceptions, name), Exception)
    error = exceptions.QiboApiError(
        404, "GET", "https://x/api/jobs/1/", "not found", {"detail": "x"}
    )
    assert (error.status, error.method, error.url, error.message) == (
        404,
        "GET",
        "https://x/api/jobs/1/",
        "not found",
    )
    assert str(error) == "not found"
    assert error.summary() == "[404 Error] not found (GET https://x/api/jobs/1/)"
    assert isinstance(error, RuntimeError)
    assert callable(Client.delete_job) and callable(Client.delete_all_jobs)


def test_status_strings_map_case_insensitively():
    from qibo_client.qibo_job import QiboJobStatus, convert_str_to_job_status

    assert convert_str_to_job_status("ERROR") is QiboJobStatus.ERROR
    assert convert_str_to_job_status("success") is QiboJobStatus.SUCCESS
    assert convert_str_to_job_status("no-such-status") is None
    assert convert_str_to_job_status(None) is None  # type: ignore[arg-type]
