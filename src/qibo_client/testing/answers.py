"""Answers a fake server gives: protocol JSON objects and result archives.

Each helper builds what a Qibo server would send for one request, so a
:class:`~qibo_client.testing.MockTransport` handler reads like the server it
stands in for. Nothing here imports qibo or numpy until a result is asked for.
"""

from __future__ import annotations

import importlib.metadata
import io
import tarfile
import tempfile
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from qibo_client.protocol.wire import RESULTS_FILE


def job_answer(pid: str, status: str, **fields: Any) -> dict[str, Any]:
    """A protocol job object (``GET jobs/<pid>/``), with ``fields`` added or replaced.

    ``email``, ``project`` and ``device`` fill the nested ``user`` and
    ``projectquota`` objects; any other keyword is a top-level field
    (``queue_position=3``, ``etd_seconds=2.0``, ``frequencies={...}``).
    """
    email = fields.pop("email", "user@example.org")
    project = fields.pop("project", "personal")
    device = fields.pop("device", "numpy")
    return {
        "pid": pid,
        "status": status,
        "user": {"email": email},
        "projectquota": {"project": project, "partition": {"name": device}},
        "circuit": {},
        "nshots": None,
        "created_at": "2026-01-01T10:00:00Z",
        "updated_at": "2026-01-01T10:00:01Z",
        "result_path": None,
        "queue_position": None,
        "etd_seconds": None,
        **fields,
    }


def version_answer(
    server_qibo_version: str | None = None,
    minimum_client_qibo_version: str = "0.2.8",
    minimum_client_version: str | None = None,
) -> dict[str, str]:
    """A ``GET qibo_version/`` answer; the server's qibo defaults to the installed one,
    so the client's version check passes."""
    answer = {
        "server_qibo_version": server_qibo_version or _installed_qibo(),
        "minimum_client_qibo_version": minimum_client_qibo_version,
    }
    if minimum_client_version is not None:
        answer["minimum_client_version"] = minimum_client_version
    return answer


def submission_answer(pid: str) -> dict[str, str]:
    """A ``POST jobs/`` answer that queued the job."""
    return {"pid": pid}


def refusal_answer(detail: str) -> dict[str, str]:
    """A ``POST jobs/`` answer that refused the job (2xx without a pid)."""
    return {"detail": detail}


def deletion_answer(pid: str) -> dict[str, str]:
    """A ``DELETE jobs/<pid>/`` answer."""
    return {"detail": f"job {pid} deleted", "pid": pid}


def bulk_delete_answer(pids: Iterable[str]) -> dict[str, list[str]]:
    """A ``DELETE jobs/bulk_delete/`` answer."""
    return {"deleted": list(pids)}


def disk_quota_answer(
    email: str = "user@example.org", kbs_left: float = 1000.0, kbs_max: float = 2000.0
) -> list[dict[str, Any]]:
    """A ``GET disk_quota/`` answer: a list of one object, as the protocol has it."""
    return [{"user": {"email": email}, "kbs_left": kbs_left, "kbs_max": kbs_max}]


def project_quota_answer(
    project: str = "personal", device: str = "numpy", **fields: Any
) -> dict[str, Any]:
    """One entry of a ``GET projectquotas/`` answer."""
    return {
        "project": project,
        "partition": {
            "name": device,
            "max_num_qubits": 30,
            "hardware_type": "simulator",
            "description": "a mock device",
            "status": "available",
        },
        "seconds_left": 3600.0,
        "shots_left": 1_000_000,
        "jobs_left": 1000,
        **fields,
    }


def tar_gz(files: Mapping[str, bytes]) -> bytes:
    """A ``.tar.gz`` holding ``files`` (archive name -> content) as plain files."""
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as archive:
        for name, content in files.items():
            info = tarfile.TarInfo(name)
            info.size = len(content)
            info.mode = 0o644
            archive.addfile(info, io.BytesIO(content))
    return buffer.getvalue()


def result_archive(
    result: Any = None,
    *,
    frequencies: Mapping[str, int] | None = None,
    results_npy: bytes | None = None,
) -> bytes:
    """The archive a successful job downloads: a ``.tar.gz`` holding ``results.npy``.

    Give exactly one of: ``result``, a qibo result object (what ``circuit()``
    returns); ``frequencies``, counts such as ``{"00": 70, "11": 30}``, turned
    into a measured result with exactly those counts; or ``results_npy``, the
    file's bytes as they are.
    """
    given = [value is not None for value in (result, frequencies, results_npy)]
    if sum(given) != 1:
        raise TypeError("result_archive needs exactly one of result, frequencies, results_npy")
    if results_npy is None:
        outcome = result if result is not None else outcomes_from_frequencies(frequencies or {})
        results_npy = dump_result(outcome)
    return tar_gz({RESULTS_FILE: results_npy})


def error_archive(stderr: str = "the job failed", stdout: str = "") -> bytes:
    """The archive a failed job downloads: its logs, no ``results.npy``."""
    return tar_gz({"stderr.log": stderr.encode(), "stdout.log": stdout.encode()})


def dump_result(result: Any) -> bytes:
    """``result.dump(...)``'s bytes, with measured shots drawn first (as a server does,
    so that every load gives the same counts)."""
    if hasattr(result, "samples") and getattr(result, "measurements", None):
        result.samples()
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / RESULTS_FILE
        result.dump(str(path))
        return path.read_bytes()


def outcomes_from_frequencies(frequencies: Mapping[str, int]) -> Any:
    """A qibo ``MeasurementOutcomes`` whose ``frequencies()`` are exactly ``frequencies``."""
    import numpy as np
    from qibo import gates
    from qibo.result import MeasurementOutcomes

    from qibo_client.results.loader import numpy_backend

    widths = {len(bits) for bits in frequencies}
    if len(widths) != 1 or not all(set(bits) <= {"0", "1"} for bits in frequencies):
        raise ValueError(f"frequencies need bitstrings of one length, got {list(frequencies)}")
    (width,) = widths
    rows = [[int(bit) for bit in bits] for bits, count in frequencies.items() for _ in range(count)]
    samples = np.array(rows, dtype=np.int64).reshape(len(rows), width)
    return MeasurementOutcomes(
        [gates.M(*range(width))], backend=numpy_backend(), samples=samples, nshots=len(rows)
    )


def run_on_numpy(circuit: Mapping[str, Any] | str, nshots: int | None) -> Any:
    """Run ``circuit.raw`` (or OpenQASM text) on qibo's numpy simulator, as a server would."""
    from qibo import Circuit

    from qibo_client.results.loader import numpy_backend

    built = (
        Circuit.from_qasm(circuit) if isinstance(circuit, str) else Circuit.from_dict(dict(circuit))
    )
    return numpy_backend().execute_circuit(built, nshots=nshots or 1000)


def _installed_qibo() -> str:
    try:
        return importlib.metadata.version("qibo")
    except importlib.metadata.PackageNotFoundError:  # pragma: no cover - qibo is a dependency
        return "0.3.0"
