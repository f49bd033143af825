"""schemathesis against ``serve``: generated requests for every operation of its OpenAPI document.

Each operation gets a bounded number of generated requests, valid ones
(``positive``) and invalid ones (``negative``), sent over loopback with a valid
token. Every answer must be no server error (no 5xx) and must match the
document: a documented status, its content type, and a body conforming to the
documented schema.

schemathesis' own pytest loader (``from_fixture``) does not run under pytest 9,
so each operation's strategy is driven by hypothesis here directly.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import pytest
import requests
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis.checks import not_a_server_error
from schemathesis.generation import GenerationMode
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)
from tests.support.serve import TOKEN1, serve

#: What uvicorn answers, before any app sees it, to a request that is not valid HTTP
#: (schemathesis' negative mode can send a header such as ``content-length: ,_x``).
BELOW_THE_APP = (400, "Invalid HTTP request received.")


def for_the_app(check: Any) -> Any:
    """``check``, skipped for an answer the HTTP server itself gave a malformed request:
    the document describes what the app answers, and no app code ran."""

    def checked(ctx: Any, response: Any, case: Any) -> Any:
        if (response.status_code, response.text.strip()) == BELOW_THE_APP:
            return None
        return check(ctx, response, case)

    checked.__name__ = check.__name__
    return checked


#: The request head uvicorn (h11) reads before it drops the connection: a generated query
#: longer than this (non-ASCII text in a long ``pids``) never reaches the app.
HEAD_LIMIT = 16 * 1024


def query_bytes(case: schemathesis.Case) -> int:
    return len(urlencode(case.query or {}, doseq=True).encode("ascii"))


CHECKS = [
    not_a_server_error,
    for_the_app(status_code_conformance),
    for_the_app(content_type_conformance),
    for_the_app(response_schema_conformance),
]
#: Generated requests per operation and mode (``QIBO_CLIENT_SCHEMA_EXAMPLES`` for a deeper run).
EXAMPLES = int(os.environ.get("QIBO_CLIENT_SCHEMA_EXAMPLES", "25"))
#: The protocol's operations (docs/protocol.md); the document must describe exactly these.
OPERATIONS = (
    "GET /api/qibo_version/",
    "POST /api/jobs/",
    "POST /api/jobs/batch/",
    "POST /api/jobs/dry_run/",
    "GET /api/jobs/",
    "DELETE /api/jobs/bulk_delete/",
    "GET /api/jobs/{pid}/",
    "DELETE /api/jobs/{pid}/",
    "GET /api/jobs/{pid}/download/",
    "POST /api/jobs/{pid}/cancel/",
    "GET /api/disk_quota/",
    "GET /api/projectquotas/",
)


@pytest.fixture(scope="module")
def server_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    data = tmp_path_factory.mktemp("schema-server")
    with serve(Path(data)) as server:
        yield server.url
    assert TOKEN1 not in server.output


@pytest.fixture(scope="module")
def api_schema(server_url: str) -> schemathesis.BaseSchema:
    return schemathesis.openapi.from_url(f"{server_url}/openapi.json")


def operations(api_schema: schemathesis.BaseSchema) -> dict[str, object]:
    found = {}
    for result in api_schema.get_all_operations():
        operation = result.ok()
        found[f"{operation.method.upper()} {operation.path}"] = operation
    return found


@pytest.mark.slow
def test_the_document_describes_the_protocol_operations(api_schema: schemathesis.BaseSchema):
    assert sorted(operations(api_schema)) == sorted(OPERATIONS)


#: Operations with neither parameters, body nor token: nothing to make invalid.
NOTHING_TO_NEGATE = {"GET /api/qibo_version/"}
CASES = [
    (label, mode)
    for label in OPERATIONS
    for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE)
    if not (mode is GenerationMode.NEGATIVE and label in NOTHING_TO_NEGATE)
]


@pytest.mark.slow
@pytest.mark.parametrize(("label", "mode"), CASES)
def test_every_operation_answers_as_documented(
    api_schema: schemathesis.BaseSchema, server_url: str, label: str, mode: GenerationMode
) -> None:
    operation = operations(api_schema)[label]

    @given(case=operation.as_strategy(generation_mode=mode))
    @settings(
        max_examples=EXAMPLES,
        deadline=None,
        database=None,
        suppress_health_check=list(HealthCheck),
    )
    def answers_as_documented(case: schemathesis.Case) -> None:
        try:
            case.call_and_validate(
                base_url=server_url, headers={"x-api-token": TOKEN1}, checks=CHECKS, timeout=30
            )
        except (requests.ConnectionError, requests.exceptions.ChunkedEncodingError):
            if query_bytes(case) < HEAD_LIMIT:
                raise  # dropped for another reason than its size

    answers_as_documented()


# -- what schemathesis found, checked in process -------------------------------------------


class UnusedServer:
    """Stands in for QiboServer where the request must be refused before reaching it."""

    def __getattr__(self, name: str) -> Any:
        raise AssertionError(f"the core was called ({name}) for a request the edge must refuse")


@pytest.mark.filterwarnings("ignore:Using `httpx` with `starlette.testclient`")
def test_an_unreadable_body_is_a_documented_400_saying_what_to_send() -> None:
    from fastapi.testclient import TestClient

    from qibo_client.server.app import create_app

    app = create_app(UnusedServer())  # type: ignore[arg-type]
    client = TestClient(app)
    answer = client.post(
        "/api/jobs/",
        content=b'{"circuit": "\xff"}',  # not UTF-8
        headers={"x-api-token": TOKEN1, "Content-Type": "application/json"},
    )
    assert answer.status_code == 400
    assert "UTF-8 JSON" in answer.json()["detail"]
    documented = app.openapi()["paths"]["/api/jobs/"]["post"]["responses"]
    assert "400" in documented
