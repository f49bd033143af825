"""Writing the client's requests as the protocol's JSON bodies."""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from typing import Any

from qibo_client.domain.records import JobSubmission
from qibo_client.protocol.wire import BATCH_JOBS_FIELD, MAX_LIST_PIDS, MAX_LIST_PIDS_CHARS


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


def batch_body(submissions: Sequence[JobSubmission]) -> dict[str, Any]:
    """The ``POST jobs/batch/`` body (extension ``batch``): each job's ``POST jobs/`` body."""
    return {BATCH_JOBS_FIELD: [submission_body(s) for s in submissions]}


def pid_chunks(pids: Sequence[str]) -> Iterator[list[str]]:
    """``pids`` in runs that one filtered job-list request may name (extension
    ``job-list-pids``): at most ``MAX_LIST_PIDS`` pids, ``MAX_LIST_PIDS_CHARS`` joined."""
    chunk: list[str] = []
    chars = 0
    for pid in pids:
        if chunk and (len(chunk) >= MAX_LIST_PIDS or chars + len(pid) + 1 > MAX_LIST_PIDS_CHARS):
            yield chunk
            chunk, chars = [], 0
        chunk.append(pid)
        chars += len(pid) + 1
    if chunk:
        yield chunk
