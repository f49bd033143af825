"""The job lifecycle, as the protocol names it."""

from __future__ import annotations

from enum import Enum


class QiboJobStatus(Enum):
    """The stages a job goes through, from submission to completion.

    ``queueing -> pending -> running -> postprocessing -> success | error``;
    a job may go to ``error`` from any stage.
    """

    QUEUEING = 1
    """Job is in the queue waiting for resources"""
    PENDING = 2
    """Job is pending execution"""
    RUNNING = 3
    """Job is actively running"""
    POSTPROCESSING = 4
    """Job is being post-processed (results being generated)"""
    SUCCESS = 5
    """Job completed successfully"""
    ERROR = 6
    """Job failed with an error"""

    @property
    def is_final(self) -> bool:
        """True for ``SUCCESS`` and ``ERROR``: the job will not change again."""
        return self in FINAL_STATUSES


FINAL_STATUSES = frozenset({QiboJobStatus.SUCCESS, QiboJobStatus.ERROR})


def convert_str_to_job_status(status: str) -> QiboJobStatus | None:
    """Map a status string from the server to :class:`QiboJobStatus`.

    Case-insensitive (servers have sent ``ERROR``); anything unrecognised,
    including a non-string, gives ``None`` ("unknown") rather than an error.
    """
    if not isinstance(status, str):
        return None
    return QiboJobStatus.__members__.get(status.strip().upper())
