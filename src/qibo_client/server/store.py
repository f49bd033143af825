"""The local server's durable state: users, jobs and idempotency keys in SQLite.

One connection, guarded by a lock, shared by every thread; WAL journal, so a
process killed at any moment loses no committed change. Only sha256 hashes of
tokens are stored.
"""

from __future__ import annotations

import hashlib
import json
import sqlite3
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from qibo_client.protocol.wire import ACTIVE_STATUSES

_SCHEMA = """
CREATE TABLE IF NOT EXISTS users (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    token_sha256 TEXT NOT NULL UNIQUE,
    email TEXT NOT NULL,
    created_at TEXT NOT NULL,
    usage TEXT NOT NULL DEFAULT '{}'
);
CREATE TABLE IF NOT EXISTS jobs (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    pid TEXT NOT NULL UNIQUE,
    user_id INTEGER NOT NULL REFERENCES users(id),
    project TEXT NOT NULL,
    device TEXT NOT NULL,
    circuit TEXT NOT NULL,
    nshots INTEGER,
    num_qubits INTEGER NOT NULL,
    verbatim INTEGER NOT NULL DEFAULT 0,
    status TEXT NOT NULL,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    runtime REAL,
    stdout TEXT NOT NULL DEFAULT '',
    stderr TEXT NOT NULL DEFAULT '',
    frequencies TEXT,
    qibo_version TEXT,
    archive_size INTEGER NOT NULL DEFAULT 0,
    result_path TEXT,
    cancelled INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX IF NOT EXISTS jobs_by_user ON jobs(user_id);
CREATE INDEX IF NOT EXISTS jobs_by_status ON jobs(status);
CREATE TABLE IF NOT EXISTS idempotency_keys (
    user_id INTEGER NOT NULL REFERENCES users(id),
    key TEXT NOT NULL,
    pid TEXT NOT NULL,
    body_sha256 TEXT NOT NULL,
    created_at TEXT NOT NULL,
    PRIMARY KEY (user_id, key)
);
"""

#: The statuses a job can still leave.
ACTIVE = ACTIVE_STATUSES


def now_iso() -> str:
    """The current UTC time as ISO 8601."""
    return datetime.now(UTC).isoformat()


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


#: Columns added since the first release, for databases made before them.
_ADDED_COLUMNS = {"jobs": {"cancelled": "INTEGER NOT NULL DEFAULT 0"}}


def _add_missing_columns(db: sqlite3.Connection) -> None:
    for table, columns in _ADDED_COLUMNS.items():
        have = {row[1] for row in db.execute(f"PRAGMA table_info({table})")}
        for name, kind in columns.items():
            if name not in have:
                db.execute(f"ALTER TABLE {table} ADD COLUMN {name} {kind}")


class StateStore:
    """Thread-safe access to the SQLite database under the data folder."""

    def __init__(self, path: Path) -> None:
        self._lock = threading.RLock()
        self._path = path
        self._connection: sqlite3.Connection | None = None
        self._connect()

    def _connect(self) -> sqlite3.Connection:
        if self._connection is None:
            db = sqlite3.connect(self._path, check_same_thread=False, isolation_level=None)
            db.row_factory = sqlite3.Row
            db.execute("PRAGMA journal_mode=WAL")
            db.execute("PRAGMA synchronous=NORMAL")
            db.execute("PRAGMA busy_timeout=10000")
            db.executescript(_SCHEMA)
            _add_missing_columns(db)
            self._connection = db
        return self._connection

    @property
    def _db(self) -> sqlite3.Connection:
        return self._connect()

    @contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        """Run a block as one transaction (committed, or rolled back on error)."""
        with self._lock:
            self._db.execute("BEGIN IMMEDIATE")
            try:
                yield self._db
            except BaseException:
                # SQLite may have rolled back already (a full disk does): keep the cause.
                if self._db.in_transaction:
                    self._db.execute("ROLLBACK")
                raise
            self._db.execute("COMMIT")

    @contextmanager
    def reading(self) -> Iterator[sqlite3.Connection]:
        """The connection, for reads only: no transaction, no write lock taken."""
        with self._lock:
            yield self._db

    def query(self, sql: str, args: tuple[Any, ...] = ()) -> list[sqlite3.Row]:
        with self._lock:
            return self._db.execute(sql, args).fetchall()

    def close(self) -> None:
        """Close the connection; the next use opens it again."""
        with self._lock:
            if self._connection is not None:
                self._connection.close()
                self._connection = None

    # -- users ------------------------------------------------------------------------

    def add_user(self, token: str, email: str | None) -> None:
        digest = token_hash(token)
        with self.transaction() as db:
            if db.execute("SELECT 1 FROM users WHERE token_sha256 = ?", (digest,)).fetchone():
                return
            if email is None:
                count = db.execute("SELECT COUNT(*) FROM users").fetchone()[0]
                email = f"user-{count + 1}@localhost"
            db.execute(
                "INSERT INTO users (token_sha256, email, created_at) VALUES (?, ?, ?)",
                (digest, email, now_iso()),
            )

    def user_by_token(self, token: str) -> sqlite3.Row | None:
        rows = self.query("SELECT * FROM users WHERE token_sha256 = ?", (token_hash(token),))
        return rows[0] if rows else None

    def user_by_id(self, user_id: int) -> sqlite3.Row:
        return self.query("SELECT * FROM users WHERE id = ?", (user_id,))[0]

    @staticmethod
    def usage(user: sqlite3.Row) -> dict[str, dict[str, float]]:
        """What a user has spent per device: ``{device: {jobs, shots, seconds}}``."""
        return json.loads(user["usage"])

    @staticmethod
    def charge(db: sqlite3.Connection, user_id: int, device: str, **spent: float) -> None:
        """Add ``spent`` (jobs, shots, seconds) to a user's usage on a device, in ``db``'s transaction."""
        row = db.execute("SELECT usage FROM users WHERE id = ?", (user_id,)).fetchone()
        usage = json.loads(row[0])
        entry = usage.setdefault(device, {"jobs": 0, "shots": 0, "seconds": 0.0})
        for key, value in spent.items():
            entry[key] = entry.get(key, 0) + value
        db.execute("UPDATE users SET usage = ? WHERE id = ?", (json.dumps(usage), user_id))

    def disk_bytes(self, user_id: int) -> int:
        rows = self.query(
            "SELECT COALESCE(SUM(archive_size), 0) FROM jobs WHERE user_id = ?", (user_id,)
        )
        return int(rows[0][0])

    # -- jobs -------------------------------------------------------------------------

    def job(self, pid: str) -> sqlite3.Row | None:
        rows = self.query("SELECT * FROM jobs WHERE pid = ?", (pid,))
        return rows[0] if rows else None

    def jobs_of(self, user_id: int) -> list[sqlite3.Row]:
        return self.query("SELECT * FROM jobs WHERE user_id = ? ORDER BY seq", (user_id,))

    def unfinished(self) -> list[sqlite3.Row]:
        marks = ", ".join("?" for _ in ACTIVE)
        return self.query(f"SELECT * FROM jobs WHERE status IN ({marks}) ORDER BY seq", ACTIVE)

    def recent_runtimes(self, limit: int = 20) -> list[float]:
        rows = self.query(
            "SELECT runtime FROM jobs WHERE runtime IS NOT NULL ORDER BY seq DESC LIMIT ?",
            (limit,),
        )
        return [float(row[0]) for row in rows]

    def update_job(self, pid: str, **values: Any) -> bool:
        """Set columns of a job (and ``updated_at``); False if the job is gone."""
        values.setdefault("updated_at", now_iso())
        columns = ", ".join(f"{name} = ?" for name in values)
        with self.transaction() as db:
            cursor = db.execute(f"UPDATE jobs SET {columns} WHERE pid = ?", (*values.values(), pid))
            return cursor.rowcount > 0
