"""Extension ``idempotency``: a repeated ``Idempotency-Key`` answers the job it first made.

A key is remembered per user for ``idempotency_seconds`` (a day by default)
and forgotten with its job: replaying it after the job was deleted, or after
it expired, queues a new job instead of answering a pid that names nothing.
"""

from __future__ import annotations

import sqlite3
from datetime import UTC, datetime, timedelta

from qibo_client.server.errors import ServerError


def _oldest_kept(max_age: float) -> str:
    return (datetime.now(UTC) - timedelta(seconds=max_age)).isoformat()


def earlier_pid(
    db: sqlite3.Connection, user_id: int, key: str, body_hash: str, max_age: float
) -> str | None:
    """The pid a live key made, ``None`` for an unknown or expired key; 422 for another body."""
    row = db.execute(
        "SELECT pid, body_sha256, created_at FROM idempotency_keys WHERE user_id = ? AND key = ?",
        (user_id, key),
    ).fetchone()
    if row is None or row["created_at"] < _oldest_kept(max_age):
        return None
    if row["body_sha256"] != body_hash:
        raise ServerError(
            422,
            "this idempotency key was already used for a different submission; "
            "use a fresh key for a new job",
        )
    return str(row["pid"])


def remember(
    db: sqlite3.Connection, user_id: int, key: str, pid: str, body_hash: str, stamp: str
) -> None:
    """Record ``key`` for ``pid`` (replacing an expired record of the same key)."""
    db.execute(
        "INSERT OR REPLACE INTO idempotency_keys VALUES (?,?,?,?,?)",
        (user_id, key, pid, body_hash, stamp),
    )


def forget_job(db: sqlite3.Connection, pid: str) -> None:
    """The job was deleted: its keys name nothing any more."""
    db.execute("DELETE FROM idempotency_keys WHERE pid = ?", (pid,))


def forget_expired(db: sqlite3.Connection, max_age: float) -> None:
    db.execute("DELETE FROM idempotency_keys WHERE created_at < ?", (_oldest_kept(max_age),))
