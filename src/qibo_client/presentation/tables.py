"""What the built-in renderers show, as plain strings: table rows, values and summary lines.

The Rich, logging and notebook renderers differ only in how they draw; which columns a
table has, how a date or a duration reads and what the final line says are
decided here once. Every function tolerates missing values and shows ``-``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from urllib.parse import urlsplit, urlunsplit

from qibo_client.domain.records import DiskQuota, JobInfo, ProjectQuota
from qibo_client.domain.status import QiboJobStatus
from qibo_client.exceptions import QiboApiError
from qibo_client.ports.renderer import BatchSnapshot, JobSnapshot

MISSING = "-"

QUOTA_HEADERS = (
    "Project",
    "Device",
    "Qubits",
    "Type",
    "Description",
    "Status",
    "Time Left [s]",
    "Shots Left",
    "Jobs Left",
)
QUOTA_STATUS_COLUMN = QUOTA_HEADERS.index("Status")

JOB_HEADERS = ("PID", "Created At", "Updated At", "Status", "Results")
JOB_STATUS_COLUMN = JOB_HEADERS.index("Status")

#: What a job's status reads before the server was first asked.
_NOT_ASKED_YET = frozenset({"LOADING", "UNKNOWN"})

#: Stages in which a queue position and an estimated start mean something.
_QUEUED = frozenset({QiboJobStatus.QUEUEING, QiboJobStatus.PENDING})


def text(value: object) -> str:
    """``value`` as a display string; ``None`` and blank strings become ``-``."""
    if value is None:
        return MISSING
    shown = str(value).strip()
    return shown or MISSING


def number(value: object, decimals: int | None = None) -> str:
    """A number for a table cell: whole values without ``.0``, ``-`` when not a number."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return MISSING
    if decimals is not None:
        return f"{value:.{decimals}f}"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def hms(seconds: object) -> str:
    """Seconds as ``h:mm:ss`` (``0:01:05``); ``-`` when unknown or negative."""
    if isinstance(seconds, bool) or not isinstance(seconds, (int, float)) or seconds < 0:
        return MISSING
    hours, rest = divmod(round(seconds), 3600)
    minutes, secs = divmod(rest, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}"


def duration(seconds: object) -> str:
    """A short elapsed time: ``1.2 s`` below a minute, ``h:mm:ss`` above."""
    if isinstance(seconds, bool) or not isinstance(seconds, (int, float)) or seconds < 0:
        return MISSING
    return f"{seconds:.1f} s" if seconds < 60 else hms(seconds)


def timestamp(value: object) -> str:
    """An ISO 8601 time as ``YYYY-MM-DD HH:MM:SS``; unreadable text is shown as sent."""
    if not isinstance(value, str) or not value.strip():
        return MISSING
    raw = value.strip()
    try:
        parsed = datetime.fromisoformat(raw[:-1] + "+00:00" if raw.endswith("Z") else raw)
    except ValueError:
        return raw
    return parsed.strftime("%Y-%m-%d %H:%M:%S")


def display_url(url: object) -> str:
    """A server URL fit to show: no user info, query or fragment (they may hold secrets)."""
    if not isinstance(url, str) or not url.strip():
        return MISSING
    try:
        parts = urlsplit(url.strip())
        host = parts.hostname or ""
        if parts.port is not None:
            host = f"{host}:{parts.port}"
    except ValueError:
        return MISSING
    return urlunsplit((parts.scheme, host, parts.path, "", "")) or MISSING


def quota_rows(projects: Sequence[ProjectQuota]) -> list[tuple[str, ...]]:
    """One row of :data:`QUOTA_HEADERS` cells per project quota."""
    rows: list[tuple[str, ...]] = []
    for quota in projects:
        partition = getattr(quota, "partition", None)
        rows.append(
            (
                text(getattr(quota, "project", None)),
                text(getattr(partition, "name", None)),
                number(getattr(partition, "max_num_qubits", None)),
                text(getattr(partition, "hardware_type", None)),
                text(getattr(partition, "description", None)),
                text(getattr(partition, "status", None)),
                number(getattr(quota, "seconds_left", None), decimals=0),
                number(getattr(quota, "shots_left", None)),
                number(getattr(quota, "jobs_left", None)),
            )
        )
    return rows


def job_rows(jobs: Sequence[JobInfo]) -> list[tuple[str, ...]]:
    """One row of :data:`JOB_HEADERS` cells per job."""
    return [
        (
            text(getattr(job, "pid", None)),
            timestamp(getattr(job, "created_at", None)),
            timestamp(getattr(job, "updated_at", None)),
            text(getattr(job, "status", None)),
            text(getattr(job, "result_path", None)),
        )
        for job in jobs
    ]


def disk_summary(disk: DiskQuota) -> str:
    """The user and disk line above the quota table."""
    left = getattr(disk, "kbs_left", None)
    most = getattr(disk, "kbs_max", None)
    used = (
        most - left if isinstance(left, (int, float)) and isinstance(most, (int, float)) else None
    )
    return (
        f"User: {text(getattr(disk, 'email', None))}    "
        f"Disk used: {number(used, 2)} KB of {number(most, 2)} KB ({number(left, 2)} KB left)"
    )


_SIZE_UNITS = ("KB", "MB", "GB", "TB", "PB")


def human_size(kilobytes: object) -> str:
    """A size given in KB (as the quota protocol counts) in the unit that reads best: ``529.5 MB``.

    Steps of 1024, as the quota's kilobytes are; ``-`` when not a number.
    """
    if isinstance(kilobytes, bool) or not isinstance(kilobytes, (int, float)):
        return MISSING
    value, unit = float(kilobytes), _SIZE_UNITS[0]
    for bigger in _SIZE_UNITS[1:]:
        if abs(value) < 1024:
            break
        value, unit = value / 1024, bigger
    return "0 KB" if value == 0 else f"{value:.1f} {unit}"


def disk_usage(disk: DiskQuota) -> str:
    """The user and disk line in human units.

    ``User: ada@lab.org    Disk: 529.5 MB used of 4.8 GB (4.3 GB left)``.
    """
    left = getattr(disk, "kbs_left", None)
    most = getattr(disk, "kbs_max", None)
    used = (
        most - left if isinstance(left, (int, float)) and isinstance(most, (int, float)) else None
    )
    return (
        f"User: {text(getattr(disk, 'email', None))}    "
        f"Disk: {human_size(used)} used of {human_size(most)} ({human_size(left)} left)"
    )


def text_table(headers: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    """An aligned plain-text table: a header, a rule of dashes, one line per row."""
    widths = [len(header) for header in headers]
    for row in rows:
        for column, cell in enumerate(row[: len(widths)]):
            widths[column] = max(widths[column], len(cell))

    def line(cells: Sequence[str]) -> str:
        padded = [cell.ljust(width) for cell, width in zip(cells, widths, strict=False)]
        return "  ".join(padded).rstrip()

    return "\n".join(
        [line(headers), line(["-" * width for width in widths]), *(line(row) for row in rows)]
    )


def in_queue(snapshot: JobSnapshot) -> bool:
    """True while the job waits in the queue (or its stage is not known yet)."""
    return snapshot.status is None or snapshot.status in _QUEUED


def status_name(snapshot: JobSnapshot) -> str:
    """The job's stage in capitals, e.g. ``QUEUEING``; ``UNKNOWN`` when not told."""
    if snapshot.status is not None:
        return snapshot.status.name
    return text(snapshot.status_text).upper() if snapshot.status_text else "UNKNOWN"


def queue_details(snapshot: JobSnapshot) -> str:
    """``position 3 in queue, estimated start in 0:01:05`` while queued, else ``""``."""
    if not in_queue(snapshot):
        return ""
    parts = []
    if snapshot.queue_position is not None:
        parts.append(f"position {snapshot.queue_position} in queue")
    if snapshot.seconds_to_job_start is not None:
        parts.append(f"estimated start in {hms(snapshot.seconds_to_job_start)}")
    return ", ".join(parts)


class StatusLines:
    """Turns a stream of snapshots into one line per change of stage.

    A queued job's position often arrives a poll after its stage; that is told
    once, too. Final stages give no line: the display's finish line reports them;
    nor does the placeholder a job shows before its first answer (``LOADING``).
    """

    def __init__(self) -> None:
        self._last: str | None = None
        self._told_queue = False

    def next_line(self, snapshot: JobSnapshot) -> str | None:
        """The line to show for ``snapshot``, or ``None`` when nothing new happened."""
        if snapshot.status is not None and snapshot.status.is_final:
            return None
        status = status_name(snapshot)
        if snapshot.status is None and status in _NOT_ASKED_YET:
            return None
        details = queue_details(snapshot)
        changed = status != self._last
        if not changed and (self._told_queue or not details):
            return None
        self._last, self._told_queue = status, bool(details)
        line = f"Job {snapshot.pid} {status}"
        where = [
            f"{k} {v}" for k, v in (("device", snapshot.device), ("project", snapshot.project)) if v
        ]
        if where and changed:
            line += f" ({', '.join(where)})"
        return f"{line}: {details}" if details else line


def finish_line(snapshot: JobSnapshot, results_folder: str | None = None) -> str:
    """The one line closing a progress display: final status, pid, time, results folder."""
    status = snapshot.status
    if status is not None and status.is_final:
        line = f"Job {snapshot.pid} finished: {status.name} in {duration(snapshot.elapsed_seconds)}"
    else:
        line = (
            f"Stopped waiting for job {snapshot.pid} (last status {status_name(snapshot)}) "
            f"after {duration(snapshot.elapsed_seconds)}"
        )
    if results_folder:
        line += f"; results in {results_folder}"
    return line


#: The order of a batch's counts: finished jobs first, then those closest to finishing.
_COUNT_ORDER = ("success", "error", "postprocessing", "running", "pending", "queueing", "submitted")


def batch_counts(counts: Mapping[str, int]) -> str:
    """``5 success, 2 error, 3 running``: each status that has jobs, finished ones first."""
    shown = [name for name in _COUNT_ORDER if counts.get(name)]
    shown += sorted(name for name in counts if name not in _COUNT_ORDER and counts[name])
    return ", ".join(f"{counts[name]} {text(name)}" for name in shown)


def _done_part(snapshot: BatchSnapshot) -> str:
    counts = batch_counts(snapshot.counts)
    done = f"{snapshot.done}/{snapshot.total} done"
    return f"{done} ({counts})" if counts else done


def batch_line(snapshot: BatchSnapshot) -> str:
    """A batch on its way: ``7/10 done (5 success, 2 error, 3 running), 0:00:04 elapsed, about 0:00:02 left``."""
    line = f"{_done_part(snapshot)}, {hms(snapshot.elapsed_seconds)} elapsed"
    if snapshot.seconds_left is not None and snapshot.done < snapshot.total:
        line += f", about {hms(snapshot.seconds_left)} left"
    return line


def batch_finish_line(snapshot: BatchSnapshot) -> str:
    """The one line closing a batch's display: ``10/10 done (10 success) in 3.2 s``."""
    if snapshot.done >= snapshot.total:
        return f"{_done_part(snapshot)} in {duration(snapshot.elapsed_seconds)}"
    return f"Stopped waiting: {_done_part(snapshot)} after {duration(snapshot.elapsed_seconds)}"


def error_line(error: BaseException) -> str:
    """One line for an error: an API error's summary, else its type and message."""
    if isinstance(error, QiboApiError):
        try:
            return error.summary()
        except Exception:  # a half-built error still deserves a line
            pass
    try:
        message = str(error).strip()
    except Exception:  # an exception whose __str__ fails
        message = ""
    return f"{type(error).__name__}: {message}" if message else type(error).__name__
