"""Reading what a server sent (already decoded from JSON) into the domain's records.

Every reader either returns a record or raises :class:`MalformedResponseError`
saying what was wrong. The rule is lenient reading, strict trust: optional
fields may be missing or odd (they read as ``None``), fields we do not know
are ignored, and nothing read here becomes a path unless it passes
:func:`validate_pid`.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from typing import Any

from qibo_client.domain.records import (
    DiskQuota,
    DryRunReport,
    JobDeletion,
    JobInfo,
    Partition,
    ProjectQuota,
    ServerVersion,
)
from qibo_client.exceptions import JobPostServerError, MalformedResponseError
from qibo_client.protocol.wire import BATCH_PIDS_FIELD, PID_PATTERN

_PID = re.compile(PID_PATTERN)
#: Status strings some servers use for a cancelled job (ours send ``error`` + ``cancelled``).
CANCELLED_STATUSES = frozenset({"cancelled", "canceled"})


def validate_pid(pid: object) -> str:
    """Return ``pid`` if it is safe to use as a folder name, else raise.

    The server's pid becomes ``<results folder>/<pid>``; ``../x`` or ``/x``
    must never reach the filesystem.
    """
    # fullmatch: "$" alone would let a trailing newline through.
    if not isinstance(pid, str) or not _PID.fullmatch(pid) or pid in {".", ".."}:
        raise MalformedResponseError(
            f"unusable job id {describe(pid)}: a pid must be 1-128 letters, "
            "digits, '.', '_' or '-', starting with a letter or digit"
        )
    return pid


def describe(value: object) -> str:
    """A short ``repr`` of a value for an error message."""
    text = repr(value)
    return text if len(text) <= 200 else text[:197] + "..."


def expect_mapping(value: object, what: str) -> Mapping[str, Any]:
    """``value`` as a JSON object, or a :class:`MalformedResponseError` naming ``what``."""
    if not isinstance(value, Mapping):
        raise MalformedResponseError(
            f"expected {what} to be a JSON object, the server sent {describe(value)}"
        )
    return value


def expect_list(value: object, what: str) -> list[Any]:
    """``value`` as a JSON array, or a :class:`MalformedResponseError` naming ``what``."""
    if not isinstance(value, list):
        raise MalformedResponseError(
            f"expected {what} to be a JSON array, the server sent {describe(value)}"
        )
    return value


def _require(obj: Mapping[str, Any], key: str, what: str) -> Any:
    if key not in obj:
        raise MalformedResponseError(
            f"{what} from the server has no '{key}' field (fields sent: "
            f"{', '.join(sorted(map(str, obj))) or 'none'})"
        )
    return obj[key]


def _optional_number(obj: Mapping[str, Any], *keys: str) -> float | int | None:
    """The first of ``keys`` holding a finite number (JSON has no NaN or Infinity,
    but Python's decoder accepts them)."""
    for key in keys:
        value = obj.get(key)
        if isinstance(value, bool):
            continue
        if isinstance(value, int) or (isinstance(value, float) and math.isfinite(value)):
            return value
    return None


def _optional_str(obj: Mapping[str, Any], key: str) -> str | None:
    value = obj.get(key)
    return value if isinstance(value, str) else None


def read_server_version(data: object) -> ServerVersion:
    """``GET qibo_version/``, of either generation (``minimum_client_qibo_version``
    in 0.2, ``minimum_qibo_version`` and ``minimum_client_version`` in 0.3)."""
    obj = expect_mapping(data, "the version answer")
    minimum = obj.get("minimum_client_qibo_version", obj.get("minimum_qibo_version"))
    if minimum is None:
        raise MalformedResponseError(
            "the version answer from the server has neither 'minimum_client_qibo_version' "
            f"nor 'minimum_qibo_version' (fields sent: {', '.join(sorted(map(str, obj))) or 'none'})"
        )
    client_minimum = obj.get("minimum_client_version")
    return ServerVersion(
        server_qibo_version=str(_require(obj, "server_qibo_version", "the version answer")),
        minimum_client_qibo_version=str(minimum),
        minimum_client_version=str(client_minimum) if client_minimum is not None else None,
        generation="0.2" if "minimum_client_qibo_version" in obj else "0.3",
    )


def read_partition(data: object) -> Partition:
    obj = expect_mapping(data, "a quota's partition")
    return Partition(
        name=str(_require(obj, "name", "a quota's partition")),
        max_num_qubits=_optional_number(obj, "max_num_qubits"),
        hardware_type=_optional_str(obj, "hardware_type"),
        description=_optional_str(obj, "description"),
        status=_optional_str(obj, "status"),
    )


def read_project_quota(data: object) -> ProjectQuota:
    obj = expect_mapping(data, "a project quota")
    return ProjectQuota(
        project=str(_require(obj, "project", "a project quota")),
        partition=read_partition(_require(obj, "partition", "a project quota")),
        seconds_left=_optional_number(obj, "seconds_left"),
        shots_left=_optional_number(obj, "shots_left"),
        jobs_left=_optional_number(obj, "jobs_left"),
        raw=obj,
    )


def read_project_quotas(data: object) -> list[ProjectQuota]:
    """``GET projectquotas/``."""
    return [read_project_quota(item) for item in expect_list(data, "the project quotas")]


def read_disk_quota(data: object) -> DiskQuota:
    """``GET disk_quota/``: a list holding one object (the bare object is accepted too)."""
    if isinstance(data, list):
        if not data:
            raise MalformedResponseError("the disk quota answer is an empty list")
        data = data[0]
    obj = expect_mapping(data, "the disk quota")
    user = expect_mapping(_require(obj, "user", "the disk quota"), "the disk quota's user")
    left = _optional_number(obj, "kbs_left")
    most = _optional_number(obj, "kbs_max")
    if left is None or most is None:
        raise MalformedResponseError(
            f"the disk quota needs numbers 'kbs_left' and 'kbs_max', got {describe(obj)}"
        )
    return DiskQuota(email=str(_require(user, "email", "the user")), kbs_left=left, kbs_max=most)


def read_job(data: object, pid: str | None = None) -> JobInfo:
    """One job object (``GET jobs/<pid>/`` or an entry of the job list).

    With ``pid`` (the job we asked about) the answer is read for that job
    whatever ``pid`` it repeats, or none (the 0.3 generation and the
    published client do not rely on it); without, its own ``pid`` must be usable.
    """
    obj = expect_mapping(data, "a job")
    pid = validate_pid(pid if pid is not None else _require(obj, "pid", "a job"))
    status = _require(obj, "status", f"job {pid}")
    if not isinstance(status, str):
        raise MalformedResponseError(
            f"job {pid} has a status that is not a string: {describe(status)}"
        )
    user = obj.get("user")
    quota = obj.get("projectquota")
    partition = quota.get("partition") if isinstance(quota, Mapping) else None
    nshots = obj.get("nshots")
    position = _optional_number(obj, "queue_position", "job_queue_position")
    frequencies = obj.get("frequencies")
    return JobInfo(
        pid=pid,
        status=status,
        user_email=_optional_str(user, "email") if isinstance(user, Mapping) else None,
        project=_optional_str(quota, "project") if isinstance(quota, Mapping) else None,
        device=_optional_str(partition, "name") if isinstance(partition, Mapping) else None,
        circuit=obj.get("circuit"),
        nshots=nshots if isinstance(nshots, int) and not isinstance(nshots, bool) else None,
        created_at=_optional_str(obj, "created_at"),
        updated_at=_optional_str(obj, "updated_at"),
        result_path=_optional_str(obj, "result_path"),
        queue_position=int(position) if position is not None else None,
        seconds_to_job_start=_optional_number(obj, "etd_seconds", "seconds_to_job_start"),
        queue_last_update=_optional_str(obj, "queue_last_update"),
        runtime=_optional_number(obj, "runtime"),
        stdout=_optional_str(obj, "stdout"),
        stderr=_optional_str(obj, "stderr"),
        frequencies=frequencies if isinstance(frequencies, Mapping) else None,
        transpiled_circuit=_optional_str(obj, "transpiled_circuit"),
        cancelled=obj.get("cancelled") is True or status.strip().lower() in CANCELLED_STATUSES,
        raw=obj,
    )


def read_job_list(data: object) -> list[JobInfo]:
    """``GET jobs/``: entries without a usable ``pid`` and ``status`` are skipped.

    Such an entry names no job we could follow or show, and one odd entry
    must not hide the user's other jobs.
    """
    jobs = []
    for item in expect_list(data, "the job list"):
        try:
            jobs.append(read_job(item))
        except MalformedResponseError:
            continue
    return jobs


def read_submission_answer(data: object) -> str:
    """The pid from a ``POST jobs/`` 2xx answer.

    A 2xx without ``pid`` is the server refusing the job: raises
    :class:`JobPostServerError` with its ``detail``.
    """
    obj = expect_mapping(data, "the job submission answer")
    if obj.get("pid") is None:
        detail = obj.get("detail")
        if isinstance(detail, str) and detail.strip():
            raise JobPostServerError(detail.strip())
        raise JobPostServerError(
            f"the server did not queue the job and gave no reason (it sent {describe(obj)})"
        )
    return validate_pid(obj["pid"])


def read_batch_answer(data: object, count: int) -> list[str]:
    """The pids from a ``POST jobs/batch/`` 2xx answer (extension ``batch``), one per job sent.

    An answer without ``pids`` is the server refusing the batch: raises
    :class:`JobPostServerError` with its ``detail``.
    """
    obj = expect_mapping(data, "the batch submission answer")
    if obj.get(BATCH_PIDS_FIELD) is None:
        detail = obj.get("detail")
        if isinstance(detail, str) and detail.strip():
            raise JobPostServerError(detail.strip())
        raise JobPostServerError(
            f"the server did not queue the batch and gave no reason (it sent {describe(obj)})"
        )
    pids = expect_list(obj[BATCH_PIDS_FIELD], f"'{BATCH_PIDS_FIELD}' of the batch answer")
    if len(pids) != count:
        raise MalformedResponseError(
            f"the batch answer names {len(pids)} pids for the {count} jobs sent; the jobs may "
            "be queued: list them with client.jobs() before sending them again"
        )
    return [validate_pid(pid) for pid in pids]


def read_deleted(data: object) -> list[str]:
    """The pids from a ``DELETE jobs/bulk_delete/`` answer."""
    obj = expect_mapping(data, "the bulk delete answer")
    deleted = expect_list(_require(obj, "deleted", "the bulk delete answer"), "'deleted'")
    return [str(pid) for pid in deleted]


def read_deletion(pid: str, data: object, response: Any = None) -> JobDeletion:
    """A ``DELETE jobs/<pid>/`` answer; its body is not relied on (a ``detail`` if any)."""
    detail = data.get("detail") if isinstance(data, Mapping) else None
    return JobDeletion(pid, detail if isinstance(detail, str) else None, response)


def read_dry_run(data: object, device: str) -> DryRunReport:
    """A ``POST jobs/dry_run/`` 2xx answer; without ``nqubits`` it is a refusal (like a submission)."""
    obj = expect_mapping(data, "the dry-run answer")
    if "nqubits" not in obj:
        read_submission_answer(obj)  # raises JobPostServerError with the server's detail
    nqubits = _optional_number(obj, "nqubits")
    memory = _optional_number(obj, "memory_bytes")
    nshots = _optional_number(obj, "nshots")
    detail = obj.get("detail")
    return DryRunReport(
        checked_by="server",
        device=_optional_str(obj, "device") or device,
        nqubits=int(nqubits) if nqubits is not None else None,
        memory_bytes=int(memory) if memory is not None else None,
        nshots=int(nshots) if nshots is not None else None,
        estimated_seconds=_optional_number(obj, "estimated_seconds"),
        detail=detail if isinstance(detail, str) else "",
    )
