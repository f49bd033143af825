"""The protocol's JSON objects as pydantic models, for a server's OpenAPI document.

They describe what :mod:`qibo_client.protocol.objects` writes
(``docs/protocol.md``); the local server's HTTP face returns those dicts as
they are and uses these models to check requests and to document answers.
pydantic comes with the ``server`` extra only, so nothing but the HTTP face
(and tests) imports this module. Extra fields are allowed everywhere: the
protocol lets a server add fields and a client must ignore them.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from qibo_client.protocol.wire import MAX_BATCH_JOBS

#: The statuses of ``protocol.wire.STATUSES`` (a test keeps the two equal).
Status = Literal["queueing", "pending", "running", "postprocessing", "success", "error"]


class _Open(BaseModel):
    model_config = ConfigDict(extra="allow")


class ServerVersion(_Open):
    """``GET /api/qibo_version/``: both generations' names for the minimum qibo version."""

    server_qibo_version: str
    minimum_client_qibo_version: str = Field(description="the 0.2 name of minimum_qibo_version")
    minimum_qibo_version: str = Field(description="the oldest client-side qibo accepted")
    minimum_client_version: str = Field(description="the oldest qibo-client package accepted")


class JobSubmission(_Open):
    """``POST /api/jobs/``: what to run, where, and how many shots."""

    model_config = ConfigDict(extra="allow", strict=True)

    circuit: dict[str, Any] | str = Field(
        description="circuit.raw of a qibo Circuit, or an OpenQASM 2 text"
    )
    device: str = Field(min_length=1, pattern=r"\S", description="the device's name")
    project: str = Field("personal", min_length=1, pattern=r"\S")
    nshots: int | None = Field(None, description="number of shots; null for none")
    verbatim: bool = False


class Submitted(_Open):
    """The job was queued under ``pid``."""

    pid: str


class BatchSubmission(_Open):
    """``POST /api/jobs/batch/`` (extension batch): several submissions, queued all or none."""

    jobs: list[JobSubmission] = Field(
        min_length=1,
        max_length=MAX_BATCH_JOBS,
        description=f"each a POST /api/jobs/ body; 1 to {MAX_BATCH_JOBS} of them",
    )


class BatchSubmitted(_Open):
    """Every job of the batch was queued: their pids, in the order of the jobs."""

    pids: list[str]


class Detail(BaseModel):
    """A human message: an error, a refusal to queue a job, or a confirmation."""

    detail: str


class ValidationDetail(Detail):
    """A malformed request: ``detail`` says what is wrong, ``errors`` where."""

    errors: list[dict[str, Any]] = Field(default_factory=list)


class UserRef(_Open):
    email: str


class Partition(_Open):
    """A device."""

    name: str
    max_num_qubits: int
    hardware_type: Literal["simulator", "hardware"]
    description: str
    status: Literal["available", "unavailable"]


class ProjectQuota(_Open):
    """What a user has left on one device for one project, and the maxima."""

    project: str
    partition: Partition
    seconds_left: float
    shots_left: float
    jobs_left: float
    max_num_shots: float
    max_walltime_seconds: float
    seconds_max: float
    shots_max: float
    jobs_max: float
    prealloc_seconds: float
    prealloc_shots: float
    prealloc_jobs: float


class DiskQuota(_Open):
    user: UserRef
    kbs_left: float
    kbs_max: float


class Job(_Open):
    """A job object; ``frequencies`` only once measured; queue fields null unless queued."""

    pid: str
    user: UserRef
    projectquota: ProjectQuota
    circuit: dict[str, Any] | str
    status: Status
    created_at: datetime
    updated_at: datetime
    transpiled_circuit: str | None = None
    num_qubits: int | None = None
    result_path: str | None = None
    frequencies: dict[str, int] | None = Field(
        None, description="bitstring -> count; absent until the job is measured"
    )
    nshots: int | None = None
    stdout: str | None = None
    stderr: str | None = None
    qibo_version: str | None = None
    qibolab_version: str | None = None
    verbatim: bool | None = None
    runtime: float | None = None
    queue_position: int | None = None
    job_queue_position: int | None = None
    etd_seconds: float | None = None
    seconds_to_job_start: float | None = None
    queue_last_update: datetime | None = None
    cancelled: bool = Field(
        False, description="extension cancel: the job was stopped by its user (status error)"
    )


class Deleted(_Open):
    """``DELETE /api/jobs/<pid>/``."""

    detail: str
    pid: str


class DryRun(_Open):
    """``POST /api/jobs/dry_run/`` (extension dry-run): what the job would cost; nothing queued."""

    nqubits: int
    memory_bytes: int = Field(description="state (2^n or 4^n amplitudes x 16 bytes) and samples")
    nshots: int | None
    estimated_seconds: float = Field(description="a rough estimate of the run time")
    device: str
    detail: str
    gates: int | None = None


class Cancelled(_Open):
    """``POST /api/jobs/<pid>/cancel/`` (extension cancel): whether the job ended cancelled."""

    detail: str
    pid: str
    cancelled: bool


class BulkDeleted(_Open):
    """``DELETE /api/jobs/bulk_delete/``: the pids deleted."""

    deleted: list[str]
