"""The protocol's JSON objects as a server writes them, and submission bodies as it reads them.

The server side's half of the protocol (``docs/protocol.md``): what a Qibo
server sends for a version, a job, a quota, and how it reads a ``POST jobs/``
body. Plain values and mappings in, plain dicts out: no database, no HTTP, no
qibo, so the local server's core and any other server share one writer.
Both server generations are served at once (see "Generations of the real
server" in the protocol notes): the version answer carries both spellings of
the minimum qibo version, and a job object carries ``frequencies`` only once
measured.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

#: The longest OpenQASM text a submission may carry (characters).
MAX_QASM_CHARS = 4 * 1024 * 1024
#: Extension ``job-list``: ``GET jobs/`` leaves each job's ``frequencies`` out unless
#: asked with ``?frequencies=1`` (the field is optional in the protocol).
#: (These names belong with the others in ``protocol/wire.py``; they wait here for it.)
JOB_LIST = "job-list"
LIST_FREQUENCIES_PARAM = "frequencies"

_QASM_COMMENTS = re.compile(r"//[^\n]*|/\*.*?\*/", re.DOTALL)
_QASM_HEADER = re.compile(r"\s*OPENQASM\s+[23](\.\d+)?\s*;")
# `qreg q[2];` (OpenQASM 2) and `qubit[2] q;` / `qubit q;` (OpenQASM 3).
_QASM_REGISTERS = re.compile(
    r"\bqreg\s+[A-Za-z_]\w*\s*\[\s*(\d+)\s*\]\s*;|\bqubit\s*(?:\[\s*(\d+)\s*\])?\s+[A-Za-z_]\w*\s*;"
)


class InvalidSubmission(ValueError):
    """A ``POST jobs/`` body of the wrong shape; the message names the field and what is wanted.

    A server answers it as a malformed request (422), not as a refusal.
    """


@dataclass(frozen=True)
class Submission:
    """A ``POST jobs/`` body, checked for shape (not yet for meaning).

    ``circuit`` is ``circuit.raw`` of a qibo Circuit (a dict) or an OpenQASM
    text, as NVIDIA CUDA-Q's ``tii`` target sends it.
    """

    circuit: dict[str, Any] | str
    device: str
    project: str
    nshots: int | None
    verbatim: bool


def read_submission(body: object) -> Submission:
    """The body's fields, or :class:`InvalidSubmission` naming the field that is wrong."""
    if not isinstance(body, Mapping):
        raise InvalidSubmission(f"the job body must be a JSON object, got {type(body).__name__}")
    circuit = body.get("circuit")
    if isinstance(circuit, Mapping):
        circuit = dict(circuit)
    elif isinstance(circuit, str):
        if not circuit.strip():
            raise InvalidSubmission("field 'circuit' is an empty string; send OpenQASM text")
        if len(circuit) > MAX_QASM_CHARS:
            raise InvalidSubmission(
                f"field 'circuit' holds {len(circuit)} characters of OpenQASM; "
                f"this server takes at most {MAX_QASM_CHARS}"
            )
    else:
        raise InvalidSubmission(
            "field 'circuit' is required and must be an object (the circuit's .raw dict) "
            "or an OpenQASM 2 string"
        )
    device = body.get("device")
    if not isinstance(device, str) or not device.strip():
        raise InvalidSubmission("field 'device' is required and must be a device name (string)")
    project = body.get("project", "personal")
    if not isinstance(project, str) or not project.strip():
        raise InvalidSubmission("field 'project' must be a project name (string)")
    nshots = body.get("nshots")
    if nshots is not None and (isinstance(nshots, bool) or not isinstance(nshots, int)):
        raise InvalidSubmission(f"field 'nshots' must be a whole number or null, got {nshots!r}")
    verbatim = body.get("verbatim", False)
    if not isinstance(verbatim, bool):
        raise InvalidSubmission(f"field 'verbatim' must be true or false, got {verbatim!r}")
    return Submission(circuit, device.strip(), project.strip(), nshots, verbatim)


def qasm_qubit_count(text: str) -> int:
    """The qubits an OpenQASM text declares (its ``qreg``/``qubit`` registers), without parsing it.

    A cheap look for the checks made at submission (too many qubits, no
    OpenQASM header); the full parse happens where the circuit runs. Raises
    ``ValueError`` with a human reason when the text is not recognisably OpenQASM.
    """
    code = _QASM_COMMENTS.sub(" ", text)
    if not _QASM_HEADER.match(code):
        raise ValueError(
            "the circuit string is not OpenQASM: it must start with a version "
            "statement such as 'OPENQASM 2.0;'"
        )
    count = sum(int(sized or other or 1) for sized, other in _QASM_REGISTERS.findall(code))
    if count == 0:
        raise ValueError("the OpenQASM circuit declares no qubits (no 'qreg' register)")
    return count


# -- answers ------------------------------------------------------------------------------


def version_object(
    server_qibo_version: str, minimum_qibo_version: str, minimum_client_version: str
) -> dict[str, str]:
    """``GET qibo_version/`` for both generations of client.

    ``minimum_client_qibo_version`` is the 0.2 name, ``minimum_qibo_version``
    its 0.3 rename (same value); ``minimum_client_version`` is the oldest
    client package accepted, compared with ``x-qibo-client-version``.
    """
    return {
        "server_qibo_version": server_qibo_version,
        "minimum_client_qibo_version": minimum_qibo_version,
        "minimum_qibo_version": minimum_qibo_version,
        "minimum_client_version": minimum_client_version,
    }


def submitted_object(pid: str) -> dict[str, str]:
    """A queued submission's answer."""
    return {"pid": pid}


def batch_submitted_object(pids: list[str]) -> dict[str, list[str]]:
    """A queued batch's answer (extension ``batch``): the pids, in the order of the jobs."""
    return {"pids": list(pids)}


def dry_run_object(
    *,
    nqubits: int,
    memory_bytes: int,
    nshots: int | None,
    estimated_seconds: float,
    device: str,
    detail: str,
    gates: int | None = None,
) -> dict[str, Any]:
    """``POST jobs/dry_run/`` (extension ``dry-run``): what an accepted job would cost."""
    answer: dict[str, Any] = {
        "nqubits": nqubits,
        "memory_bytes": memory_bytes,
        "nshots": nshots,
        "estimated_seconds": estimated_seconds,
        "device": device,
        "detail": detail,
    }
    if gates is not None:
        answer["gates"] = gates
    return answer


def detail_object(detail: str) -> dict[str, str]:
    """A human message: an error, a refusal, a confirmation."""
    return {"detail": detail}


def quota_numbers(
    spent: Mapping[str, float], *, jobs_max: int, shots_max: int, seconds_max: float
) -> dict[str, float]:
    """What is left of a quota after ``spent`` (``jobs``, ``shots``, ``seconds``), and the maxima."""
    return {
        "jobs_left": max(jobs_max - int(spent.get("jobs", 0)), 0),
        "shots_left": max(shots_max - int(spent.get("shots", 0)), 0),
        "seconds_left": round(max(seconds_max - float(spent.get("seconds", 0.0)), 0.0), 3),
        "jobs_max": jobs_max,
        "shots_max": shots_max,
        "seconds_max": seconds_max,
    }


def partition_object(
    name: str, max_num_qubits: int, hardware_type: str, description: str, status: str
) -> dict[str, Any]:
    """A device, as a project quota's ``partition``."""
    return {
        "name": name,
        "max_num_qubits": max_num_qubits,
        "hardware_type": hardware_type,
        "description": description,
        "status": status,
    }


def project_quota(
    project: str,
    partition: Mapping[str, Any],
    numbers: Mapping[str, float],
    *,
    max_num_shots: int,
    max_walltime_seconds: float,
) -> dict[str, Any]:
    """A project-quota object: one project on one device (``numbers`` from :func:`quota_numbers`)."""
    return {
        "project": project,
        "partition": dict(partition),
        **numbers,
        "max_num_shots": max_num_shots,
        "max_walltime_seconds": max_walltime_seconds,
        "prealloc_seconds": 0,
        "prealloc_shots": 0,
        "prealloc_jobs": 0,
    }


def disk_quota_object(email: str, kbs_left: float, kbs_max: float) -> dict[str, Any]:
    """One entry of the ``GET disk_quota/`` list."""
    return {"user": {"email": email}, "kbs_left": kbs_left, "kbs_max": kbs_max}


def job_object(
    job: Mapping[str, Any],
    email: str,
    quota: Mapping[str, Any],
    queue: Mapping[str, Any] | None,
) -> dict[str, Any]:
    """A job object with every field the protocol names.

    ``job`` holds plain values under the protocol's names (``circuit`` and
    ``frequencies`` already decoded). ``frequencies`` is sent only when the
    job was measured: CUDA-Q reads any ``frequencies`` key as counts, so a
    ``null`` on an error job would read as an empty result. ``queue``
    (``position``, ``etd``, ``updated``) is given while the job waits; its
    fields are null otherwise. ``cancelled`` (extension ``cancel``) is true on
    a job stopped by its user, which ends with status ``error``.
    """
    queue = queue or {}
    answer = {
        "pid": job["pid"],
        "user": {"email": email},
        "projectquota": dict(quota),
        "circuit": job["circuit"],
        "transpiled_circuit": job.get("transpiled_circuit"),
        "status": str(job["status"]).lower(),
        "created_at": job["created_at"],
        "updated_at": job["updated_at"],
        "result_path": job.get("result_path"),
        "nshots": job.get("nshots"),
        "num_qubits": job.get("num_qubits"),
        "verbatim": bool(job.get("verbatim")),
        "stdout": job.get("stdout") or "",
        "stderr": job.get("stderr") or "",
        "runtime": job.get("runtime"),
        "qibo_version": job.get("qibo_version"),
        "qibolab_version": None,
        "queue_position": queue.get("position"),
        "job_queue_position": queue.get("position"),
        "etd_seconds": queue.get("etd"),
        "seconds_to_job_start": queue.get("etd"),
        "queue_last_update": queue.get("updated"),
        "cancelled": bool(job.get("cancelled")),
    }
    frequencies = job.get("frequencies")
    if frequencies is not None:
        answer["frequencies"] = dict(frequencies)
    return answer
