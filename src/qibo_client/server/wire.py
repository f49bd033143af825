"""The protocol's JSON objects as the local server builds them, and submission bodies read."""

from __future__ import annotations

import json
import sqlite3
from dataclasses import dataclass
from typing import Any

from qibo_client.server.config import DeviceConfig, ServerConfig
from qibo_client.server.errors import ServerError


@dataclass(frozen=True)
class Submission:
    """A ``POST /api/jobs/`` body, checked for shape (not yet for meaning)."""

    circuit: dict[str, Any]
    device: str
    project: str
    nshots: int | None
    verbatim: bool


def read_submission(body: object) -> Submission:
    """The body's fields, or ``ServerError(422)`` naming the field that is wrong."""
    if not isinstance(body, dict):
        raise ServerError(422, f"the job body must be a JSON object, got {type(body).__name__}")
    circuit = body.get("circuit")
    if not isinstance(circuit, dict):
        raise ServerError(
            422, "field 'circuit' is required and must be an object (the circuit's .raw dict)"
        )
    device = body.get("device")
    if not isinstance(device, str) or not device.strip():
        raise ServerError(422, "field 'device' is required and must be a device name (string)")
    project = body.get("project", "personal")
    if not isinstance(project, str) or not project.strip():
        raise ServerError(422, "field 'project' must be a project name (string)")
    nshots = body.get("nshots")
    if nshots is not None and (isinstance(nshots, bool) or not isinstance(nshots, int)):
        raise ServerError(422, f"field 'nshots' must be a whole number or null, got {nshots!r}")
    verbatim = body.get("verbatim", False)
    if not isinstance(verbatim, bool):
        raise ServerError(422, f"field 'verbatim' must be true or false, got {verbatim!r}")
    return Submission(circuit, device.strip(), project.strip(), nshots, verbatim)


def quota_numbers(
    config: ServerConfig, usage: dict[str, dict[str, float]], device: str
) -> dict[str, float]:
    """What a user has left on a device, and the maxima."""
    spent = usage.get(device, {})
    return {
        "jobs_left": max(config.jobs_max - int(spent.get("jobs", 0)), 0),
        "shots_left": max(config.shots_max - int(spent.get("shots", 0)), 0),
        "seconds_left": round(max(config.seconds_max - float(spent.get("seconds", 0.0)), 0.0), 3),
        "jobs_max": config.jobs_max,
        "shots_max": config.shots_max,
        "seconds_max": config.seconds_max,
    }


def project_quota(
    config: ServerConfig, usage: dict[str, dict[str, float]], project: str, device_name: str
) -> dict[str, Any]:
    """A project-quota object for one project on one device."""
    device = config.device(device_name) or DeviceConfig(
        name=device_name,
        max_num_qubits=1,
        description="no longer offered by this server",
        status="unavailable",
    )
    return {
        "project": project,
        "partition": {
            "name": device.name,
            "max_num_qubits": device.max_num_qubits,
            "hardware_type": device.hardware_type,
            "description": device.description,
            "status": device.status,
        },
        **quota_numbers(config, usage, device.name),
        "max_num_shots": device.max_num_shots,
        "max_walltime_seconds": device.max_walltime_seconds,
        "prealloc_seconds": 0,
        "prealloc_shots": 0,
        "prealloc_jobs": 0,
    }


def job_object(
    row: sqlite3.Row,
    email: str,
    quota: dict[str, Any],
    queue: dict[str, Any] | None,
) -> dict[str, Any]:
    """A job object with every field the protocol names (queue fields null unless queued)."""
    queue = queue or {}
    frequencies = row["frequencies"]
    return {
        "pid": row["pid"],
        "user": {"email": email},
        "projectquota": quota,
        "circuit": json.loads(row["circuit"]),
        "transpiled_circuit": None,
        "status": row["status"],
        "created_at": row["created_at"],
        "updated_at": row["updated_at"],
        "result_path": row["result_path"],
        "nshots": row["nshots"],
        "num_qubits": row["num_qubits"],
        "verbatim": bool(row["verbatim"]),
        "stdout": row["stdout"],
        "stderr": row["stderr"],
        "runtime": row["runtime"],
        "frequencies": json.loads(frequencies) if frequencies is not None else None,
        "qibo_version": row["qibo_version"],
        "qibolab_version": None,
        "queue_position": queue.get("position"),
        "job_queue_position": queue.get("position"),
        "etd_seconds": queue.get("etd"),
        "seconds_to_job_start": queue.get("etd"),
        "queue_last_update": queue.get("updated"),
    }
