"""Shared material for the renderer tests: sample records, snapshots, capturing outputs."""

from __future__ import annotations

import io
import logging
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from rich.console import Console

from qibo_client.domain.records import JobInfo, Partition, ProjectQuota
from qibo_client.domain.status import QiboJobStatus
from qibo_client.ports import JobSnapshot
from qibo_client.protocol.readers import read_disk_quota, read_project_quota

SERVER = "https://cloud.qibo.science"


def plain_console(*, terminal: bool = False, width: int = 120) -> Console:
    """A console writing uncoloured text to a StringIO (``console.file.getvalue()``)."""
    return Console(file=io.StringIO(), width=width, force_terminal=terminal, color_system=None)


def output(console: Console) -> str:
    file = console.file
    assert isinstance(file, io.StringIO)
    return file.getvalue()


def snapshot(status: QiboJobStatus | None, **fields: Any) -> JobSnapshot:
    """A snapshot of job ``pid-1`` on numpy, project personal, with ``fields`` changed."""
    values: dict[str, Any] = {
        "pid": "pid-1",
        "status": status,
        "status_text": status.name if status else "LOADING",
        "base_url": SERVER,
        "device": "numpy",
        "project": "personal",
    }
    values.update(fields)
    return JobSnapshot(**values)


def queued(**fields: Any) -> JobSnapshot:
    """Job ``pid-1`` queueing, third in the queue, starting in about an hour (unless ``fields`` say)."""
    values: dict[str, Any] = {"queue_position": 3, "seconds_to_job_start": 3725.0}
    values.update(fields)
    return snapshot(QiboJobStatus.QUEUEING, **values)


DISK = read_disk_quota(
    [{"user": {"email": "ada@lab.org"}, "kbs_left": 1500.0, "kbs_max": 2000.0}]
)

PROJECTS = [
    read_project_quota(
        {
            "project": "personal",
            "partition": {
                "name": "numpy",
                "max_num_qubits": 30,
                "hardware_type": "simulator",
                "description": "CPU simulator",
                "status": "available",
            },
            "seconds_left": 7199.6,
            "shots_left": 1000000,
            "jobs_left": 42.0,
        }
    ),
    # Everything optional left out; the description looks like Rich markup.
    ProjectQuota("lab-qpu", Partition("qpu1", description="[bold]five qubits[/]")),
]

JOBS = [
    JobInfo(
        "job-a",
        "success",
        created_at="2026-11-23T10:00:00Z",
        updated_at="2026-11-23T10:05:07.123456+00:00",
        result_path="/results/job-a.tar.gz",
    ),
    JobInfo("job-b", "error", created_at="yesterday-ish", updated_at=None, result_path=None),
    JobInfo("job-c", "running", created_at="", updated_at="2026-11-23T11:00:00"),
]


class ListHandler(logging.Handler):
    """Keeps every record it gets, for assertions."""

    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)

    @property
    def messages(self) -> list[str]:
        return [record.getMessage() for record in self.records]


def listening_logger(name: str) -> tuple[logging.Logger, ListHandler]:
    """A fresh logger at DEBUG with a :class:`ListHandler` and no propagation."""
    logger = logging.getLogger(name)
    for handler in list(logger.handlers):
        logger.removeHandler(handler)
    handler = ListHandler()
    logger.addHandler(handler)
    logger.setLevel(logging.DEBUG)
    logger.propagate = False
    return logger, handler


@contextmanager
def bare_logging(name: str = "qibo_client") -> Iterator[logging.Logger]:
    """Logging as a fresh interpreter has it: no handler on root or on ``name``.

    Everything removed (and the logger's level) is put back afterwards, and
    whatever the test attached is taken off again.
    """
    root, logger = logging.getLogger(), logging.getLogger(name)
    saved_root, saved_ours, saved_level = root.handlers[:], logger.handlers[:], logger.level
    for handler in saved_root:
        root.removeHandler(handler)
    for handler in saved_ours:
        logger.removeHandler(handler)
    try:
        yield logger
    finally:
        for handler in logger.handlers[:]:
            logger.removeHandler(handler)
        for handler in saved_ours:
            logger.addHandler(handler)
        for handler in root.handlers[:]:
            root.removeHandler(handler)
        for handler in saved_root:
            root.addHandler(handler)
        logger.setLevel(saved_level)
