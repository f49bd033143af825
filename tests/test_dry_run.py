"""run_circuit(..., dry_run=True): what a job would cost, with nothing run or queued."""

from __future__ import annotations

import pytest
from qibo import Circuit, gates

from qibo_client.domain.records import DryRunReport
from qibo_client.exceptions import JobPostServerError
from qibo_client.testing import answers
from qibo_client.testing.clients import mock_client
from qibo_client.testing.mock_server import MockServer


def circuit(nqubits: int, density: bool = False) -> Circuit:
    c = Circuit(nqubits, density_matrix=density)
    c.add(gates.H(0))
    c.add(gates.M(0))
    return c


def test_without_the_extension_the_client_checks_what_it_can() -> None:
    server = MockServer(runner=lambda body: answers.result_archive(frequencies={"0": 1}))
    report = mock_client(server).run_circuit(circuit(5), device="numpy", nshots=100, dry_run=True)
    assert isinstance(report, DryRunReport)
    assert report.checked_by == "client"
    assert (report.nqubits, report.memory_bytes, report.nshots) == (5, 16 * 2**5, 100)
    assert "quota" in report.unknown and "cannot do a dry run" in report.detail
    assert server.submissions == []  # nothing was queued


def test_a_density_matrix_costs_four_to_the_n() -> None:
    report = mock_client().run_circuit(circuit(3, density=True), device="numpy", dry_run=True)
    assert report.memory_bytes == 16 * 4**3


def test_a_qasm_string_is_measured_too() -> None:
    qasm = 'OPENQASM 2.0;\ninclude "qelib1.inc";\nqreg q[4];\ncreg c[4];\nh q[0];\n'
    report = mock_client().run_circuit(qasm, device="numpy", dry_run=True)
    assert report.nqubits == 4


def test_argument_errors_come_before_any_dry_run() -> None:
    with pytest.raises(ValueError, match="nshots"):
        mock_client().run_circuit(circuit(1), device="numpy", nshots=0, dry_run=True)


def test_a_refusal_by_a_server_with_the_extension_is_a_job_post_server_error() -> None:
    from qibo_client.protocol.readers import read_dry_run

    with pytest.raises(JobPostServerError, match="too many qubits"):
        read_dry_run({"detail": "too many qubits for numpy (max 20)"}, "numpy")
    report = read_dry_run(
        {"nqubits": 3, "memory_bytes": 128, "nshots": 10, "estimated_seconds": 0.2}, "numpy"
    )
    assert (report.checked_by, report.nqubits, report.estimated_seconds) == ("server", 3, 0.2)


def test_a_unitary_gate_is_refused_before_sending_naming_the_gate() -> None:
    import numpy as np

    from qibo_client.exceptions import QiboApiError

    server = MockServer()
    c = Circuit(2)
    c.add(gates.H(0))
    c.add(gates.Unitary(np.eye(4), 0, 1))
    with pytest.raises(TypeError, match=r"Unitary \(gate 1\).*OpenQASM") as caught:
        mock_client(server).run_circuit(c, device="numpy", nshots=10)
    assert isinstance(caught.value, QiboApiError)  # caught by code written for 0.2.x too
    assert server.submissions == []
