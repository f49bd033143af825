"""The records that cross the ports, and their reading from protocol JSON.

Every reader here takes what a server sent (already decoded from JSON) and
either returns a record or raises :class:`MalformedResponseError` saying what
was wrong with it. Optional fields the protocol allows to be missing stay
``None``; a server that adds fields we do not know is fine.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from qibo_client.domain.status import QiboJobStatus, convert_str_to_job_status
from qibo_client.exceptions import MalformedResponseError

#: What a pid may look like: it names a folder on the user's disk, so no path tricks.
PID_PATTERN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$")


def validate_pid(pid: object) -> str:
    """Return ``pid`` if it is safe to use as a folder name, else raise.

    The server's pid becomes ``<results folder>/<pid>``; ``../x`` or ``/x``
    must never reach the filesystem.
    """
    # fullmatch: "$" alone would let a trailing newline through.
    if not isinstance(pid, str) or not PID_PATTERN.fullmatch(pid) or pid in {".", ".."}:
        raise MalformedResponseError(
            f"unusable job id {pid!r}: a pid must be 1-128 letters, "
            "digits, '.', '_' or '-', starting with a letter or digit"
        )
    return pid


def _describe(value: object) -> str:
    text = repr(value)
    return text if len(text) <= 200 else text[:197] + "..."


def expect_mapping(value: object, what: str) -> Mapping[str, Any]:
    """``value`` as a JSON object, or a :class:`MalformedResponseError` naming ``what``."""
    if not isinstance(value, Mapping):
        raise MalformedResponseError(
            f"expected {what} to be a JSON object, the server sent {_describe(value)}"
        )
    return value


def expect_list(value: object, what: str) -> list[Any]:
    """``value`` as a JSON array, or a :class:`MalformedResponseError` naming ``what``."""
    if not isinstance(value, list):
        raise MalformedResponseError(
            f"expected {what} to be a JSON array, the server sent {_describe(value)}"
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


@dataclass(frozen=True)
class ServerVersion:
    """What ``GET /api/qibo_version/`` tells: the server's qibo and the oldest it accepts."""

    server_qibo_version: str
    minimum_client_qibo_version: str

    @classmethod
    def from_wire(cls, data: object) -> ServerVersion:
        obj = expect_mapping(data, "the version answer")
        return cls(
            server_qibo_version=str(_require(obj, "server_qibo_version", "the version answer")),
            minimum_client_qibo_version=str(
                _require(obj, "minimum_client_qibo_version", "the version answer")
            ),
        )


@dataclass(frozen=True)
class JobSubmission:
    """A circuit to run, as ``POST /api/jobs/`` takes it."""

    circuit: Mapping[str, Any]
    device: str
    project: str = "personal"
    nshots: int | None = None
    verbatim: bool = False

    def to_wire(self) -> dict[str, Any]:
        return {
            "circuit": dict(self.circuit),
            "nshots": self.nshots,
            "device": self.device,
            "project": self.project,
            "verbatim": self.verbatim,
        }


@dataclass(frozen=True)
class Partition:
    """A device as a project quota names it."""

    name: str
    max_num_qubits: int | float | None = None
    hardware_type: str | None = None
    description: str | None = None
    status: str | None = None

    @classmethod
    def from_wire(cls, data: object) -> Partition:
        obj = expect_mapping(data, "a quota's partition")
        return cls(
            name=str(_require(obj, "name", "a quota's partition")),
            max_num_qubits=_optional_number(obj, "max_num_qubits"),
            hardware_type=_optional_str(obj, "hardware_type"),
            description=_optional_str(obj, "description"),
            status=_optional_str(obj, "status"),
        )


@dataclass(frozen=True)
class ProjectQuota:
    """What one project may still spend on one device."""

    project: str
    partition: Partition
    seconds_left: float | int | None = None
    shots_left: float | int | None = None
    jobs_left: float | int | None = None
    raw: Mapping[str, Any] = field(default_factory=dict, repr=False, compare=False)

    @classmethod
    def from_wire(cls, data: object) -> ProjectQuota:
        obj = expect_mapping(data, "a project quota")
        return cls(
            project=str(_require(obj, "project", "a project quota")),
            partition=Partition.from_wire(_require(obj, "partition", "a project quota")),
            seconds_left=_optional_number(obj, "seconds_left"),
            shots_left=_optional_number(obj, "shots_left"),
            jobs_left=_optional_number(obj, "jobs_left"),
            raw=obj,
        )


@dataclass(frozen=True)
class DiskQuota:
    """A user's disk quota, in kilobytes."""

    email: str
    kbs_left: float
    kbs_max: float

    @classmethod
    def from_wire(cls, data: object) -> DiskQuota:
        # The protocol answers a list holding one object; accept the bare object too.
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
                f"the disk quota needs numbers 'kbs_left' and 'kbs_max', got {_describe(obj)}"
            )
        return cls(email=str(_require(user, "email", "the user")), kbs_left=left, kbs_max=most)


@dataclass(frozen=True)
class JobInfo:
    """One job object as the server describes it.

    ``status`` is the server's string; :attr:`job_status` its enum (``None``
    for a status we do not know). ``raw`` keeps the whole object.
    """

    pid: str
    status: str
    user_email: str | None = None
    project: str | None = None
    device: str | None = None
    circuit: Any = None
    nshots: int | None = None
    created_at: str | None = None
    updated_at: str | None = None
    result_path: str | None = None
    queue_position: int | None = None
    seconds_to_job_start: float | int | None = None
    queue_last_update: str | None = None
    runtime: float | int | None = None
    stdout: str | None = None
    stderr: str | None = None
    frequencies: Mapping[str, int] | None = None
    raw: Mapping[str, Any] = field(default_factory=dict, repr=False, compare=False)

    @property
    def job_status(self) -> QiboJobStatus | None:
        return convert_str_to_job_status(self.status)

    @property
    def is_final(self) -> bool:
        status = self.job_status
        return status is not None and status.is_final

    @classmethod
    def from_wire(cls, data: object) -> JobInfo:
        obj = expect_mapping(data, "a job")
        pid = validate_pid(_require(obj, "pid", "a job"))
        status = _require(obj, "status", f"job {pid}")
        if not isinstance(status, str):
            raise MalformedResponseError(
                f"job {pid} has a status that is not a string: {_describe(status)}"
            )
        user = obj.get("user")
        quota = obj.get("projectquota")
        partition = quota.get("partition") if isinstance(quota, Mapping) else None
        nshots = obj.get("nshots")
        position = _optional_number(obj, "queue_position", "job_queue_position")
        frequencies = obj.get("frequencies")
        return cls(
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
            raw=obj,
        )


def parse_job_list(data: object) -> list[JobInfo]:
    """Read the answer of ``GET /api/jobs/``."""
    return [JobInfo.from_wire(item) for item in expect_list(data, "the job list")]


def parse_project_quotas(data: object) -> list[ProjectQuota]:
    """Read the answer of ``GET /api/projectquotas/``."""
    return [ProjectQuota.from_wire(item) for item in expect_list(data, "the project quotas")]


def parse_submission_answer(data: object) -> str:
    """The pid from a ``POST /api/jobs/`` 2xx answer.

    A 2xx without ``pid`` is the server refusing the job: raises
    :class:`JobPostServerError` with its ``detail``.
    """
    from qibo_client.exceptions import JobPostServerError

    obj = expect_mapping(data, "the job submission answer")
    if obj.get("pid") is None:
        detail = obj.get("detail")
        if isinstance(detail, str) and detail.strip():
            raise JobPostServerError(detail.strip())
        raise JobPostServerError(
            f"the server did not queue the job and gave no reason (it sent {_describe(obj)})"
        )
    return validate_pid(obj["pid"])


def parse_deleted(data: object) -> list[str]:
    """The pids from a ``DELETE /api/jobs/bulk_delete/`` answer."""
    obj = expect_mapping(data, "the bulk delete answer")
    deleted = expect_list(_require(obj, "deleted", "the bulk delete answer"), "'deleted'")
    return [str(pid) for pid in deleted]
