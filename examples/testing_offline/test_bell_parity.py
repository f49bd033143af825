"""Tests of bell_parity.py that need no server, no account and no network.

Run with ``pytest examples/testing_offline``: the ``qibo_mock_client``
fixture comes with qibo-client (its pytest plugin).
"""

from __future__ import annotations

import pytest
from bell_parity import measure_bell_parity, parity

from qibo_client.exceptions import QiboApiError
from qibo_client.testing import (
    MockRequest,
    MockServer,
    job_answer,
    mock_client,
    result_archive,
    version_answer,
)


def test_a_bell_pair_always_agrees(qibo_mock_client):
    # The fixture's mock server really runs the circuit on qibo's simulator.
    assert measure_bell_parity(qibo_mock_client, nshots=200) == 1.0


def test_parity_from_counts_the_server_chose():
    # A handler answers each request as a server would: here, canned counts.
    def server(request: MockRequest):
        if request.operation == "server_version":
            return version_answer()
        if request.operation == "submit_job":
            return {"pid": "job-1"}
        if request.operation == "get_job":
            return job_answer("job-1", "success")
        if request.operation == "download":
            return result_archive(frequencies={"00": 60, "01": 10, "10": 10, "11": 20})
        raise AssertionError(f"unexpected request {request.operation}")

    assert measure_bell_parity(mock_client(server)) == pytest.approx(0.6)


def test_the_circuit_and_settings_reach_the_server():
    server = MockServer()
    measure_bell_parity(mock_client(server), device="numpy", nshots=50)
    [body] = server.submissions
    assert (body["device"], body["nshots"]) == ("numpy", 50)
    assert [gate["name"] for gate in body["circuit"]["queue"]] == ["h", "cx", "measure"]


def test_a_failed_job_is_reported_with_its_pid():
    client = mock_client(MockServer(fail_devices=["flaky-qpu"]))
    with pytest.raises(RuntimeError, match="job job-1 failed on flaky-qpu"):
        measure_bell_parity(client, device="flaky-qpu")


def test_a_server_that_refuses_requests_surfaces_as_an_api_error():
    def server(request: MockRequest):
        if request.operation == "server_version":
            return version_answer()
        return request.error(403, "your token has expired")

    with pytest.raises(QiboApiError, match="expired"):
        measure_bell_parity(mock_client(server))


def test_parity_of_no_shots_is_an_error():
    with pytest.raises(ValueError):
        parity({})
