"""The plain renderer: log records through the standard :mod:`logging` module.

Chosen when output is not a terminal (CI jobs, batch scripts, log files).
Importing this module changes nothing; the first :class:`LoggingRenderer`
built on our own logger gives it a stderr handler only when logging is not
configured at all (neither our logger nor the root one has a handler), so a
bare script still sees its job's progress and an application's own logging
setup is never second-guessed.
"""

from __future__ import annotations

import logging
import os
import sys
from collections.abc import Sequence
from typing import TextIO

from qibo_client.domain.records import DiskQuota, JobInfo, ProjectQuota
from qibo_client.ports.renderer import JobSnapshot, ProgressView, Renderer
from qibo_client.presentation import tables

LOGGER_NAME = "qibo_client"
LEVEL_ENV = "QIBO_CLIENT_LOGGER_LEVEL"
LOG_FORMAT = "[%(asctime)s] %(levelname)s: %(message)s"

_LEVELS = {"info": logging.INFO, "warning": logging.WARNING, "error": logging.ERROR}


class _StderrHandler(logging.StreamHandler):
    """Writes to the current ``sys.stderr``, and only while the root logger has no handler."""

    def __init__(self) -> None:
        super().__init__()
        self.setFormatter(logging.Formatter(LOG_FORMAT))

    @property
    def stream(self) -> TextIO:
        return sys.stderr

    @stream.setter
    def stream(self, _value: TextIO) -> None:
        """The stream is always the current stderr; assignments are ignored."""

    def emit(self, record: logging.LogRecord) -> None:
        # Logging configured after us (basicConfig, dictConfig) gets the record through
        # propagation; printing it here as well would show every line twice.
        if not logging.getLogger().handlers:
            super().emit(record)


def level_from_env() -> int:
    """The level ``$QIBO_CLIENT_LOGGER_LEVEL`` names (``DEBUG``, ``info``, ``20``...); INFO if unset or unknown."""
    raw = os.environ.get(LEVEL_ENV, "").strip()
    if raw.isdigit():
        return int(raw)
    level = logging.getLevelName(raw.upper()) if raw else logging.INFO
    return level if isinstance(level, int) else logging.INFO


def attach_default_handler(logger: logging.Logger) -> bool:
    """Give ``logger`` one stderr handler if neither it nor the root logger has any.

    Also sets the logger's level from ``$QIBO_CLIENT_LOGGER_LEVEL``. Returns
    True when a handler was attached; calling again attaches nothing more.
    """
    if logger.handlers or logging.getLogger().handlers:
        return False
    logger.addHandler(_StderrHandler())
    logger.setLevel(level_from_env())
    return True


class LoggingProgressView(ProgressView):
    """Logs one line when the job changes stage, and one when the wait ends."""

    def __init__(self, logger: logging.Logger, snapshot: JobSnapshot) -> None:
        self._logger = logger
        self._lines = tables.StatusLines()
        self.update(snapshot)

    def update(self, snapshot: JobSnapshot) -> None:
        line = self._lines.next_line(snapshot)
        if line is not None:
            self._logger.info("%s", line)

    def finish(self, snapshot: JobSnapshot, *, results_folder: str | None = None) -> None:
        failed = snapshot.status is not None and snapshot.status.name == "ERROR"
        level = logging.ERROR if failed else logging.INFO
        self._logger.log(level, tables.finish_line(snapshot, results_folder))


class LoggingRenderer(Renderer):
    """Shows progress, tables and errors as records of one logger (``qibo_client`` by default)."""

    def __init__(self, logger: logging.Logger | None = None) -> None:
        if logger is None:
            logger = logging.getLogger(LOGGER_NAME)
            attach_default_handler(logger)
            if os.environ.get(LEVEL_ENV, "").strip():
                # Set explicitly: applied even when the application configured logging (0.2.x did).
                logger.setLevel(level_from_env())
        self.logger = logger

    def start_progress(self, snapshot: JobSnapshot) -> ProgressView:
        return LoggingProgressView(self.logger, snapshot)

    def show_quota(self, disk: DiskQuota, projects: Sequence[ProjectQuota]) -> None:
        table = tables.text_table(tables.QUOTA_HEADERS, tables.quota_rows(projects))
        self.logger.info("%s\n%s", tables.disk_summary(disk), table)

    def show_jobs(self, user: str, jobs: Sequence[JobInfo]) -> None:
        table = tables.text_table(tables.JOB_HEADERS, tables.job_rows(jobs))
        self.logger.info("Jobs of %s\n%s", tables.text(user), table)

    def show_error(self, error: BaseException) -> None:
        self.logger.error("%s", tables.error_line(error))

    def show_message(self, text: str, *, level: str = "info") -> None:
        self.logger.log(_LEVELS.get(str(level).lower(), logging.INFO), "%s", text)
