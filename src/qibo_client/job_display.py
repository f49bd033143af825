"""How a job shows itself: ``repr``, Rich's pretty printer and a Jupyter table."""

from __future__ import annotations

import html
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from qibo_client.qibo_job import QiboJob


def fields(job: QiboJob) -> dict[str, Any]:
    """What a job shows of itself, in order (no token, no headers)."""
    status = job._status.name if job._status else (job.status_text or "unknown")
    shown: dict[str, Any] = {
        "pid": job.pid,
        "status": status,
        "device": job.device,
        "project": job.project,
        "base_url": job.base_url,
    }
    if job.queue_position is not None:
        shown["queue_position"] = job.queue_position
    folder = getattr(job, "_results_folder", None)  # as stored so far: showing stores nothing
    if folder is not None:
        shown["results_folder"] = str(folder)
    return shown


def text(job: QiboJob) -> str:
    inner = ", ".join(
        f"{key}={value}" if key == "status" else f"{key}={value!r}"
        for key, value in fields(job).items()
    )
    return f"QiboJob({inner})"


def html_table(job: QiboJob) -> str:
    rows = "".join(
        f"<tr><th style='text-align:left'>{html.escape(key)}</th>"
        f"<td>{html.escape(str(value))}</td></tr>"
        for key, value in fields(job).items()
    )
    return f"<table><caption>QiboJob</caption>{rows}</table>"
