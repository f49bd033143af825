"""The records that cross the ports: plain data in the domain's words.

Reading them from (and writing them to) the wire is the protocol's business
(:mod:`qibo_client.protocol`); here they are only data.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from qibo_client.domain.status import QiboJobStatus, convert_str_to_job_status


@dataclass(frozen=True)
class ServerVersion:
    """What a server says of its qibo and of the oldest clients it accepts.

    ``minimum_client_qibo_version`` is the oldest qibo a client may run (the
    0.3 generation calls it ``minimum_qibo_version``); ``minimum_client_version``
    the oldest qibo-client package, when the server says.
    """

    server_qibo_version: str
    minimum_client_qibo_version: str
    minimum_client_version: str | None = None
    #: ``"0.2"`` for a server that sends the 0.2 names (and the result download),
    #: ``"0.3"`` for one that sends only the new ones (results inline, no download).
    generation: str = "0.2"


@dataclass(frozen=True)
class JobSubmission:
    """A circuit to run: its ``circuit.raw`` (a dict, or an OpenQASM string) and settings."""

    circuit: Mapping[str, Any] | str
    device: str
    project: str = "personal"
    nshots: int | None = None
    verbatim: bool = False
    #: The caller's own circuit object, which ``circuit`` was taken from: never sent;
    #: an in-process server may run it as it is instead of rebuilding it.
    source: Any = field(default=None, compare=False, repr=False)


@dataclass(frozen=True)
class Partition:
    """A device as a project quota names it."""

    name: str
    max_num_qubits: int | float | None = None
    hardware_type: str | None = None
    description: str | None = None
    status: str | None = None


@dataclass(frozen=True)
class ProjectQuota:
    """What one project may still spend on one device."""

    project: str
    partition: Partition
    seconds_left: float | int | None = None
    shots_left: float | int | None = None
    jobs_left: float | int | None = None
    raw: Mapping[str, Any] = field(default_factory=dict, repr=False, compare=False)


@dataclass(frozen=True)
class DiskQuota:
    """A user's disk quota, in kilobytes."""

    email: str
    kbs_left: float
    kbs_max: float


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
    #: The circuit as the server ran it after transpiling for the device (text, as sent).
    transpiled_circuit: str | None = None
    #: True when the job was cancelled (extension ``cancel``: the server reports it
    #: as ``error`` with ``"cancelled": true``, or a ``cancelled`` status).
    cancelled: bool = False
    raw: Mapping[str, Any] = field(default_factory=dict, repr=False, compare=False)

    @property
    def job_status(self) -> QiboJobStatus | None:
        return convert_str_to_job_status(self.status)

    @property
    def is_final(self) -> bool:
        status = self.job_status
        return self.cancelled or (status is not None and status.is_final)


@dataclass(frozen=True)
class JobDeletion:
    """A job the server deleted, and what it said.

    ``response`` is the adapter's own answer object when it has one (a
    ``requests.Response`` over HTTP): the published ``QiboJob.delete()``
    hands it back as 0.2.x did.
    """

    pid: str
    detail: str | None = None
    response: Any = field(default=None, repr=False, compare=False)

    @property
    def ok(self) -> bool:
        """Always True: a refused deletion raises instead."""
        return True

    def json(self) -> dict[str, Any]:
        """The answer as the protocol's JSON object (for code written against 0.2.x)."""
        return {"pid": self.pid, "detail": self.detail or f"Deleted job {self.pid}"}


@dataclass(frozen=True)
class StoredResult:
    """Where a result store keeps one job's result.

    ``folder`` holds what the job's archive held (results or logs);
    ``result_file`` is the result itself, ``None`` when the archive held none.
    """

    server: str
    pid: str
    folder: Path
    result_file: Path | None = None


@dataclass(frozen=True)
class DryRunReport:
    """What a job would cost, checked without running it (``run_circuit(..., dry_run=True)``).

    ``checked_by`` is ``"server"`` when the server checked the circuit, device,
    project and quota (extension ``dry-run``), ``"client"`` when only this
    client could look (a server without the extension): then the fields it
    cannot know are ``None`` and named in ``unknown``.
    """

    checked_by: str
    device: str
    nqubits: int | None = None
    memory_bytes: int | None = None
    nshots: int | None = None
    estimated_seconds: float | None = None
    detail: str = ""
    unknown: tuple[str, ...] = ()
