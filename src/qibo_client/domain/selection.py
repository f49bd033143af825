"""Choosing among a user's jobs: by status and device, newest first, at most so many."""

from __future__ import annotations

from collections.abc import Iterable

from qibo_client.domain.records import JobInfo
from qibo_client.domain.status import QiboJobStatus, convert_str_to_job_status
from qibo_client.exceptions import InvalidArgumentError


def select_jobs(
    infos: Iterable[JobInfo],
    status: str | QiboJobStatus | None = None,
    device: str | None = None,
    limit: int | None = None,
) -> list[JobInfo]:
    """The jobs with ``status`` (a name or a :class:`QiboJobStatus`) on ``device``, newest first.

    An unknown status name is an :class:`InvalidArgumentError` listing the known ones.
    """
    wanted = convert_str_to_job_status(status) if isinstance(status, str) else status
    if isinstance(status, str) and wanted is None:
        raise InvalidArgumentError(
            f"unknown status {status!r}; use one of "
            f"{', '.join(s.name.lower() for s in QiboJobStatus)}",
            method="GET",
        )
    newest_first = sorted(infos, key=lambda info: info.created_at or "", reverse=True)
    selected = [
        info
        for info in newest_first
        if (wanted is None or info.job_status is wanted)
        and (device is None or info.device == device)
    ]
    return selected[:limit] if limit is not None else selected
