"""Writing the client's requests as the protocol's JSON bodies."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from qibo_client.domain.records import JobSubmission


def submission_body(submission: JobSubmission) -> dict[str, Any]:
    """The ``POST jobs/`` body: ``circuit.raw`` as it is (a dict, or a QASM string)."""
    circuit = submission.circuit
    return {
        "circuit": dict(circuit) if isinstance(circuit, Mapping) else circuit,
        "nshots": submission.nshots,
        "device": submission.device,
        "project": submission.project,
        "verbatim": submission.verbatim,
    }
