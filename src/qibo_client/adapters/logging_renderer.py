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
import threading
import time
from collections.abc import Callable, Sequence
from typing import TextIO

from qibo_client.adapters.display_timing import LOG_EVERY_SECONDS, SHOW_AFTER_SECONDS, call_later
from qibo_client.domain.records import DiskQuota, JobInfo, ProjectQuota
from qibo_client.ports.renderer import (
    BatchSnapshot,
    BatchView,
    JobSnapshot,
    ProgressView,
    Renderer,
)
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
    """One line when the wait ends; for a long wait, also one per change of stage.

    Stage lines begin once the wait has lasted ``show_after`` seconds, so a
    loop of short jobs logs one line per job.
    """

    def __init__(
        self,
        logger: logging.Logger,
        snapshot: JobSnapshot,
        *,
        show_after: float = SHOW_AFTER_SECONDS,
    ) -> None:
        self._logger = logger
        self._lines = tables.StatusLines()
        self._lock = threading.Lock()
        self._latest = snapshot
        self._shown = self._closed = False
        self._show_after = show_after
        self._timer = call_later(show_after - snapshot.elapsed_seconds, self._show)

    def _show(self) -> None:
        with self._lock:
            if self._closed or self._shown:
                return
            self._shown = True
            self._log_change(self._latest)

    def _log_change(self, snapshot: JobSnapshot) -> None:
        line = self._lines.next_line(snapshot)
        if line is not None:
            self._logger.info("%s", line)

    def update(self, snapshot: JobSnapshot) -> None:
        with self._lock:
            self._latest = snapshot
            if self._shown:
                self._log_change(snapshot)
                return
        if snapshot.elapsed_seconds >= self._show_after:
            self._show()  # the timer is late (or cannot run): the wait is long already

    def finish(self, snapshot: JobSnapshot, *, results_folder: str | None = None) -> None:
        with self._lock:
            self._closed = True
            if self._timer is not None:
                self._timer.cancel()
        failed = snapshot.status is not None and snapshot.status.name == "ERROR"
        level = logging.ERROR if failed else logging.INFO
        self._logger.log(level, tables.finish_line(snapshot, results_folder))


class LoggingBatchView(BatchView):
    """A line when the batch's counts change, at most one every ``every`` seconds; one at the end."""

    def __init__(
        self,
        logger: logging.Logger,
        snapshot: BatchSnapshot,
        *,
        every: float = LOG_EVERY_SECONDS,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._logger, self._every, self._clock = logger, every, clock
        self._last_time = clock()
        self._last_counts = dict(snapshot.counts)

    def update(self, snapshot: BatchSnapshot) -> None:
        now = self._clock()
        if now - self._last_time < self._every or snapshot.counts == self._last_counts:
            return
        self._last_time, self._last_counts = now, dict(snapshot.counts)
        self._logger.info("Jobs: %s", tables.batch_line(snapshot))

    def finish(self, snapshot: BatchSnapshot) -> None:
        failed = snapshot.counts.get("error", 0) > 0
        level = logging.WARNING if failed or snapshot.done < snapshot.total else logging.INFO
        self._logger.log(level, "Jobs: %s", tables.batch_finish_line(snapshot))


class LoggingRenderer(Renderer):
    """Shows progress, tables and errors as records of one logger (``qibo_client`` by default).

    A job logs its stage changes only once its wait lasts ``show_after``
    seconds, and always one closing line; a batch logs its counts at most
    every ``log_every`` seconds, and one closing line.
    """

    def __init__(
        self,
        logger: logging.Logger | None = None,
        *,
        show_after: float = SHOW_AFTER_SECONDS,
        log_every: float = LOG_EVERY_SECONDS,
    ) -> None:
        self.show_after, self.log_every = show_after, log_every
        if logger is None:
            logger = logging.getLogger(LOGGER_NAME)
            attach_default_handler(logger)
            if os.environ.get(LEVEL_ENV, "").strip():
                # Set explicitly: applied even when the application configured logging (0.2.x did).
                logger.setLevel(level_from_env())
        self.logger = logger

    def start_progress(self, snapshot: JobSnapshot) -> ProgressView:
        return LoggingProgressView(self.logger, snapshot, show_after=self.show_after)

    def start_batch(self, snapshot: BatchSnapshot) -> BatchView:
        return LoggingBatchView(self.logger, snapshot, every=self.log_every)

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
