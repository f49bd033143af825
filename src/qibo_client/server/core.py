"""The local Qibo server's core: users, jobs, quotas and the queue, without HTTP.

:class:`QiboServer` keeps its state in SQLite under a data folder and runs
circuits in warm worker processes (:mod:`qibo_client.server.dispatch`). Every
answer is a protocol JSON object written by :mod:`qibo_client.protocol.objects`
(``docs/protocol.md``); the HTTP face and the in-process ``local://``
transport both call it, from many threads at once.
"""

from __future__ import annotations

import functools
import hashlib
import importlib.metadata
import json
import shutil
import sqlite3
import time
import uuid
from pathlib import Path
from typing import Any

from qibo_client.protocol import objects
from qibo_client.protocol.wire import (
    BATCH,
    CANCEL,
    DRY_RUN,
    FINAL_STATUSES,
    IDEMPOTENCY,
    JOB_LIST_PIDS,
    LONG_POLL,
    MAX_BATCH_JOBS,
    MAX_HOLD_SECONDS,
    MAX_LIST_PIDS,
    QUEUEING,
)
from qibo_client.server import idempotency
from qibo_client.server.admission import PROJECT, Admitted, admit, read_body
from qibo_client.server.config import DeviceConfig, ServerConfig
from qibo_client.server.costs import size
from qibo_client.server.devices import forget_transpiled, load_transpiled
from qibo_client.server.dispatch import Dispatcher
from qibo_client.server.errors import JobRefused, ServerError
from qibo_client.server.lane import InProcessLane, Ran
from qibo_client.server.storage import DISK_FULL_DETAIL, is_disk_full, make_private
from qibo_client.server.store import StateStore, now_iso

__all__ = [
    "EXTENSIONS",
    "DeviceConfig",
    "JobRefused",
    "QiboServer",
    "ServerConfig",
    "ServerError",
]

#: The protocol extensions this server implements (``docs/protocol.md``).
EXTENSIONS: tuple[str, ...] = (
    LONG_POLL,
    IDEMPOTENCY,
    CANCEL,
    DRY_RUN,
    objects.JOB_LIST,
    BATCH,
    JOB_LIST_PIDS,
)

#: How long a submission's disk-quota check reuses a user's summed disk usage, in seconds.
DISK_USAGE_SECONDS = 1.0

#: The oldest client-side qibo this server accepts.
MINIMUM_CLIENT_QIBO = "0.3.0"

#: The oldest client package this server accepts: the published 0.2.x and ours both pass.
MINIMUM_CLIENT_VERSION = "0.2.0"


@functools.cache
def _installed_qibo_version() -> str:
    try:
        return importlib.metadata.version("qibo")
    except importlib.metadata.PackageNotFoundError:  # pragma: no cover - qibo is a dependency
        return "unknown"


def _batch_refusal(index: int, count: int, detail: str) -> str:
    """A batch's refusal: which job (from 0), why, and that nothing was queued."""
    return f"job {index} of the batch of {count} (counting from 0): {detail}; no job was queued"


def _batch_key(key: str, index: int) -> str:
    """The idempotency record of a batch's ``index``-th job; a NUL no header can carry keeps
    these apart from single submissions' keys."""
    return f"\0batch\0{index}\0{key}"


class QiboServer:
    """A Qibo server on qibo's simulators, keeping its state under ``data_dir``.

    ``workers`` worker processes run jobs in parallel. ``runner``, the import
    path ``"module:function"`` of a function run in the worker instead of the
    default one (:func:`qibo_client.server.worker.run_circuit_task`), lets a
    deployment (or a test) change how a job is executed. ``in_process`` (for
    ``local://``: the server lives in its user's process) runs small jobs in
    this process (:mod:`qibo_client.server.lane`); ``keep=False`` (a folder
    removed at exit) lets their results stay in memory only.
    """

    def __init__(
        self,
        data_dir: Path,
        *,
        config: ServerConfig | None = None,
        workers: int = 1,
        runner: str | None = None,
        in_process: bool = False,
        keep: bool = True,
    ) -> None:
        self.data_dir = Path(data_dir).expanduser().resolve()
        self.data_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
        self.config = config or ServerConfig.load(self.data_dir)
        self.store = StateStore(self.data_dir / "server.sqlite3")
        self._disk_seen: dict[int, tuple[float, int]] = {}
        make_private(self.data_dir)  # emails, circuits, results and token hashes live here
        self.dispatcher = Dispatcher(
            self.store,
            self.config,
            results_dir=self.data_dir / "results",
            work_dir=self.data_dir / "work",
            workers=max(int(workers), 1),
            runner=runner,
            # A deployment's own runner decides how every job runs: no lane then.
            lane=(
                InProcessLane(self.data_dir / "results", keep=keep)
                if in_process and runner is None
                else None
            ),
        )

    def __repr__(self) -> str:
        return f"QiboServer(data_dir={str(self.data_dir)!r})"

    # -- life -------------------------------------------------------------------------

    def start(self) -> None:
        """Start the worker processes and resume unfinished jobs (again: no effect)."""
        with self.store.transaction() as db:
            idempotency.forget_expired(db, self.config.idempotency_seconds)
        self.dispatcher.start()

    def close(self) -> None:
        """Stop the workers; every job stays on disk and resumes at the next start."""
        self.dispatcher.close()
        self.store.close()

    def __enter__(self) -> QiboServer:
        self.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    # -- users ------------------------------------------------------------------------

    def add_user(self, token: str, email: str | None = None) -> None:
        """Let ``token`` in (no effect if it already is); the email names the user."""
        if not isinstance(token, str) or not token:
            raise ValueError("a user's token must be a non-empty string")
        self.store.add_user(token, email)

    def _user(self, token: str | None) -> Any:
        if not token:
            raise ServerError(401, "missing API token: send the token you were given")
        user = self.store.user_by_token(token)
        if user is None:
            raise ServerError(
                403, "invalid token: this server knows no user with it; check the token"
            )
        return user

    def _own_job(self, user: Any, pid: str) -> Any:
        row = self.store.job(pid) if isinstance(pid, str) else None
        if row is None or row["user_id"] != user["id"]:
            raise ServerError(404, f"job {pid} not found")
        return row

    def _job_object(self, row: Any, user: Any, *, frequencies: bool = True) -> dict[str, Any]:
        quota = self._project_quota(StateStore.usage(user), row["project"], row["device"])
        job = dict(zip(row.keys(), row, strict=True))
        job["status"] = self.dispatcher.live_status(row["pid"], row["status"])
        job.update(self.dispatcher.recorder.unrecorded(row["pid"]) or {})
        job["circuit"] = json.loads(row["circuit"])
        counts = job["frequencies"] if frequencies else None
        job["frequencies"] = json.loads(counts) if counts is not None else None
        device = self.config.device(row["device"])
        if frequencies and device is not None and device.chip is not None:
            job["transpiled_circuit"] = load_transpiled(self.dispatcher.results_dir, row["pid"])
        queue = self.dispatcher.queue_info(row["pid"])
        return objects.job_object(job, user["email"], quota, queue)

    def _quota_numbers(self, usage: dict[str, dict[str, float]], device: str) -> dict[str, float]:
        return objects.quota_numbers(
            usage.get(device, {}),
            jobs_max=self.config.jobs_max,
            shots_max=self.config.shots_max,
            seconds_max=self.config.seconds_max,
        )

    def _project_quota(
        self, usage: dict[str, dict[str, float]], project: str, device_name: str
    ) -> dict[str, Any]:
        device = self.config.device(device_name) or DeviceConfig(
            name=device_name,
            max_num_qubits=1,
            description="no longer offered by this server",
            status="unavailable",
        )
        partition = objects.partition_object(
            device.name,
            device.max_num_qubits,
            device.hardware_type,
            device.description,
            device.status,
        )
        return objects.project_quota(
            project,
            partition,
            self._quota_numbers(usage, device.name),
            max_num_shots=device.max_num_shots,
            max_walltime_seconds=device.max_walltime_seconds,
        )

    # -- the protocol -----------------------------------------------------------------

    def version(self) -> dict[str, str]:
        """The installed qibo's version, the oldest client qibo and client package accepted."""
        return objects.version_object(
            _installed_qibo_version(), MINIMUM_CLIENT_QIBO, MINIMUM_CLIENT_VERSION
        )

    def submit(
        self,
        token: str,
        body: object,
        idempotency_key: str | None = None,
        *,
        in_process: bool = False,
        circuit: Any = None,
    ) -> dict[str, str]:
        """Queue a job; ``{"pid": ...}``. A repeated ``idempotency_key`` gives the same pid.

        ``in_process`` says the body is a Python object handed over in this
        process, never parsed from JSON: its nesting is not bounded (the
        circuit is still checked field by field). ``circuit``, the caller's
        own qibo Circuit that ``body`` was made from, is what the in-process
        lane runs when it runs the job at once, instead of one rebuilt from ``body``.

        Raises :class:`ServerError` (422) for a body of the wrong shape and
        :class:`JobRefused` for a job this server will not run as asked.
        """
        user = self._user(token)
        if idempotency_key is not None and (
            not isinstance(idempotency_key, str) or not 0 < len(idempotency_key) <= 128
        ):
            raise ServerError(400, "the idempotency key must be a string of 1-128 characters")
        submission = read_body(body, check_depth=not in_process)
        body_hash = ""
        if idempotency_key is not None:
            body_hash = hashlib.sha256(
                json.dumps(body, sort_keys=True, default=str).encode("utf-8")
            ).hexdigest()
            with self.store.reading() as db:  # asked again when the job is written
                earlier = idempotency.earlier_pid(
                    db, user["id"], idempotency_key, body_hash, self.config.idempotency_seconds
                )
            if earlier:
                return objects.submitted_object(earlier)
        lane = self.dispatcher.lane
        facts = lane.facts_of(circuit, submission.circuit) if lane and in_process else None
        admitted = admit(submission, self.config, facts=facts)
        pid = str(uuid.uuid4())
        # A tiny job of an in-process server runs now (from a copy of the caller's own
        # circuit, when given) and is written once, already ended.
        ran = None
        if lane is not None and lane.runs_now(admitted):
            ran = lane.run(admitted, circuit)
            lane.hold(pid, ran, owner=user["id"])
        elif facts is not None:  # to be rebuilt from its dict: the dict's own checks
            admitted = admit(submission, self.config)
        try:
            self.dispatcher.recorder.flush()
            earlier = self._insert_job(
                user, admitted, pid, now_iso(), idempotency_key, body_hash, ran
            )
        except (sqlite3.Error, OSError) as error:
            if lane is not None:
                lane.forget(pid)
            if is_disk_full(error):
                raise ServerError(507, DISK_FULL_DETAIL) from None
            raise
        except JobRefused:
            if lane is not None:
                lane.forget(pid)
            raise
        if earlier:
            if lane is not None:
                lane.forget(pid)
            return objects.submitted_object(earlier)
        if ran is not None:
            self.dispatcher.ended_here(pid, ran)
        else:
            self.dispatcher.enqueue(pid, admitted)
        return objects.submitted_object(pid)

    def _insert_job(
        self,
        user: Any,
        admitted: Admitted,
        pid: str,
        stamp: str,
        idempotency_key: str | None,
        body_hash: str,
        ran: Ran | None = None,
    ) -> str | None:
        """Write the job, charge the quota and remember the key; an earlier pid for the key.

        A job already ``ran`` (the in-process lane) is written ended, its time charged too.
        """
        job, device = admitted.job, admitted.device
        max_age = self.config.idempotency_seconds
        with self.store.transaction() as db:
            if idempotency_key is not None:
                earlier = idempotency.earlier_pid(
                    db, user["id"], idempotency_key, body_hash, max_age
                )
                if earlier:
                    return earlier
            self._check_quota(db, user, device.name, job.nshots or 0)
            self._write_job(db, user, admitted, pid, stamp, ran)
            if idempotency_key is not None:
                idempotency.remember(db, user["id"], idempotency_key, pid, body_hash, stamp)
        return None

    def submit_many(
        self, token: str, bodies: object, idempotency_key: str | None = None
    ) -> dict[str, list[str]]:
        """Queue every submission of ``bodies`` or none (extension ``batch``); ``{"pids": [...]}``
        in order. Each body is checked as :meth:`submit` checks it, quotas counting the
        jobs before it; the first refusal raises :class:`JobRefused` (or :class:`ServerError`
        for a malformed body) naming its index, and nothing is queued. All jobs are written
        in one transaction. A repeated ``idempotency_key`` with the same bodies answers the
        same pids."""
        user = self._user(token)
        if idempotency_key is not None and (
            not isinstance(idempotency_key, str) or not 0 < len(idempotency_key) <= 128
        ):
            raise ServerError(400, "the idempotency key must be a string of 1-128 characters")
        if not isinstance(bodies, list) or not bodies:
            raise ServerError(422, "a batch is a non-empty list of submissions under 'jobs'")
        if len(bodies) > MAX_BATCH_JOBS:
            raise ServerError(
                422,
                f"the batch holds {len(bodies)} jobs; at most {MAX_BATCH_JOBS} per request: "
                "send the rest in another batch",
            )
        batch_hash = hashlib.sha256(
            json.dumps(bodies, sort_keys=True, default=str).encode("utf-8")
        ).hexdigest()
        if idempotency_key is not None:
            with self.store.transaction() as db:
                earlier = self._earlier_batch(db, user, idempotency_key, batch_hash, len(bodies))
            if earlier:
                return objects.batch_submitted_object(earlier)
        admitted = []
        for index, body in enumerate(bodies):
            try:
                admitted.append(admit(read_body(body), self.config))
            except JobRefused as error:
                raise JobRefused(_batch_refusal(index, len(bodies), error.detail)) from None
            except ServerError as error:
                detail = _batch_refusal(index, len(bodies), error.detail)
                raise ServerError(error.status, detail) from None
        pids = [str(uuid.uuid4()) for _ in admitted]
        try:
            self.dispatcher.recorder.flush()
            earlier = self._insert_batch(user, admitted, pids, idempotency_key, batch_hash)
        except (sqlite3.Error, OSError) as error:
            if is_disk_full(error):
                raise ServerError(507, DISK_FULL_DETAIL) from None
            raise
        if earlier:
            return objects.batch_submitted_object(earlier)
        for pid, job in zip(pids, admitted, strict=True):
            self.dispatcher.enqueue(pid, job)
        return objects.batch_submitted_object(pids)

    def _insert_batch(
        self,
        user: Any,
        admitted: list[Admitted],
        pids: list[str],
        idempotency_key: str | None,
        batch_hash: str,
    ) -> list[str] | None:
        """Write every job of a batch in one transaction, quota checked job by job (a refusal
        rolls all back); the pids a repeated key made earlier, else ``None``."""
        stamp = now_iso()
        with self.store.transaction() as db:
            if idempotency_key is not None:
                earlier = self._earlier_batch(db, user, idempotency_key, batch_hash, len(pids))
                if earlier:
                    return earlier
            for index, (pid, job) in enumerate(zip(pids, admitted, strict=True)):
                try:
                    self._check_quota(db, user, job.device.name, job.job.nshots or 0)
                except JobRefused as error:
                    raise JobRefused(_batch_refusal(index, len(pids), error.detail)) from None
                self._write_job(db, user, job, pid, stamp)
                if idempotency_key is not None:
                    key = _batch_key(idempotency_key, index)
                    idempotency.remember(db, user["id"], key, pid, batch_hash, stamp)
        return None

    def _earlier_batch(
        self, db: Any, user: Any, key: str, batch_hash: str, count: int
    ) -> list[str] | None:
        """The pids a live batch key made, ``None`` if none; 409 if some were deleted since."""
        max_age = self.config.idempotency_seconds
        found = [
            idempotency.earlier_pid(db, user["id"], _batch_key(key, i), batch_hash, max_age)
            for i in range(count)
        ]
        if not any(found):
            return None
        if not all(found):
            raise ServerError(
                409,
                "some jobs this idempotency key queued were deleted since; use a fresh key "
                "to queue the batch again",
            )
        return [pid for pid in found if pid]

    def _write_job(
        self,
        db: Any,
        user: Any,
        admitted: Admitted,
        pid: str,
        stamp: str,
        ran: Ran | None = None,
    ) -> None:
        """Insert one admitted job, queued (or, ``ran`` by the in-process lane, ended), and
        charge it to the user's quota, in ``db``'s transaction."""
        job, device = admitted.job, admitted.device
        columns: dict[str, Any] = {
            "pid": pid,
            "user_id": user["id"],
            "project": job.project,
            "device": device.name,
            "circuit": json.dumps(job.circuit),
            "nshots": job.nshots,
            "num_qubits": admitted.cost.nqubits,
            "verbatim": int(job.verbatim),
            "status": QUEUEING,
            "created_at": stamp,
            "updated_at": stamp,
        }
        spent: dict[str, float] = {"jobs": 1, "shots": job.nshots or 0}
        if ran is not None:
            lane = self.dispatcher.lane
            columns.update(ran.fields(lane.qibo_version if lane is not None else ""))
            spent["seconds"] = float(ran.outcome["runtime"])
        db.execute(
            f"INSERT INTO jobs ({', '.join(columns)}) VALUES ({', '.join('?' * len(columns))})",
            tuple(columns.values()),
        )
        StateStore.charge(db, user["id"], device.name, **spent)

    def dry_run(self, token: str, body: object) -> dict[str, Any]:
        """What a submission would cost, checked as :meth:`submit` checks it, queueing nothing
        (extension ``dry-run``). Raises what :meth:`submit` raises for the same body."""
        user = self._user(token)
        admitted = admit(read_body(body), self.config)
        job, cost = admitted.job, admitted.cost
        with self.store.transaction() as db:
            self._check_quota(db, user, admitted.device.name, job.nshots or 0)
        return objects.dry_run_object(
            nqubits=cost.nqubits,
            memory_bytes=cost.memory_bytes,
            nshots=job.nshots,
            estimated_seconds=cost.estimated_seconds,
            device=admitted.device.name,
            detail=(
                f"the job would be queued: {cost.nqubits} qubits "
                f"({'density matrix' if cost.density_matrix else 'state vector'}), "
                f"{cost.gates} gates, about {size(cost.memory_bytes)} of memory and "
                f"{cost.estimated_seconds:g} s to run (a rough estimate); nothing was queued"
            ),
            gates=cost.gates,
        )

    def _check_quota(self, db: Any, user: Any, device: str, nshots: int) -> None:
        row = db.execute("SELECT usage FROM users WHERE id = ?", (user["id"],)).fetchone()
        left = self._quota_numbers(json.loads(row[0]), device)
        if left["jobs_left"] < 1:
            raise JobRefused(f"job quota exhausted on device {device!r}: no jobs left")
        if nshots > left["shots_left"]:
            raise JobRefused(
                f"shot quota exhausted on device {device!r}: {left['shots_left']} shots left, "
                f"the job asks for {nshots}"
            )
        if left["seconds_left"] <= 0:
            raise JobRefused(f"time quota exhausted on device {device!r}: no seconds left")
        if self._disk_used(user["id"]) >= self.config.disk_kbs_max * 1024:
            raise JobRefused(
                "disk quota exhausted: delete old jobs (client.delete_all_jobs()) to make room"
            )

    def get_job(
        self, token: str, pid: str, *, wait: float = 0.0, known_status: str | None = None
    ) -> dict[str, Any]:
        """The job object; with ``wait > 0``, held until its status changes (at most
        ``MAX_HOLD_SECONDS``)."""
        user = self._user(token)
        if wait and wait > 0:
            version = self.dispatcher.version(pid)
            row = self._own_job(user, pid)
            self.dispatcher.wait_for_change(
                pid, min(float(wait), MAX_HOLD_SECONDS), row["status"], known_status, version
            )
        return self._job_object(self._own_job(user, pid), self.store.user_by_id(user["id"]))

    def list_jobs(
        self, token: str, *, frequencies: bool = False, pids: list[str] | None = None
    ) -> list[dict[str, Any]]:
        """The caller's jobs, oldest first; without their ``frequencies`` unless asked
        (extension ``job-list``: one job's counts can be megabytes, and a job's own
        object, ``GET jobs/<pid>/``, always has them). With ``pids`` (extension
        ``job-list-pids``, at most ``MAX_LIST_PIDS``), only those jobs, read in one
        query; a pid of no job of the caller's is simply absent."""
        user = self._user(token)
        if pids is None:
            rows = self.store.jobs_of(user["id"])
        else:
            wanted = list(dict.fromkeys(pid for pid in pids if isinstance(pid, str) and pid))
            if len(wanted) > MAX_LIST_PIDS:
                raise ServerError(
                    422,
                    f"the job list names {len(wanted)} pids; at most {MAX_LIST_PIDS} per "
                    "request: ask for the rest in further requests",
                )
            if not wanted:
                return []
            marks = ",".join("?" for _ in wanted)
            rows = self.store.query(
                f"SELECT * FROM jobs WHERE user_id = ? AND pid IN ({marks}) ORDER BY seq",
                (user["id"], *wanted),
            )
        return [self._job_object(row, user, frequencies=frequencies) for row in rows]

    def result_archive(self, token: str, pid: str) -> Path:
        """The finished job's ``.tar.gz`` (results on success, logs on error)."""
        row = self._own_job(self._user(token), pid)
        unrecorded = self.dispatcher.recorder.unrecorded(pid)
        if unrecorded is not None:
            raise ServerError(404, f"job {pid} has no result: {unrecorded['stderr']}")
        if row["status"] not in FINAL_STATUSES:
            status = self.dispatcher.live_status(pid, row["status"])
            raise ServerError(
                404, f"job {pid} has no result yet: it is {status}; wait until it ends"
            )
        try:  # built on the first download
            return self.dispatcher.result_archive(pid)
        except FileNotFoundError:
            if self.store.job(pid) is None:
                raise ServerError(404, f"job {pid} not found") from None
            raise ServerError(500, f"the result of job {pid} is missing on the server") from None
        except OSError as error:
            if is_disk_full(error):
                raise ServerError(507, DISK_FULL_DETAIL) from error
            detail = f"the server could not pack job {pid}'s result: {error}"
            raise ServerError(500, detail) from error

    def held_result(self, token: str, pid: str) -> Any | None:
        """The qibo result object the in-process lane holds for one of the caller's jobs."""
        lane = self.dispatcher.lane
        if lane is None:
            return None
        return lane.held(pid, owner=self._user(token)["id"])

    def cancel_job(self, token: str, pid: str) -> dict[str, Any]:
        """Stop one of the caller's jobs (extension ``cancel``): taken off the queue, or its
        worker killed at once. It ends ``error`` with ``"cancelled": true``, recorded
        before this returns; a job that already ended is left as it is."""
        row = self._own_job(self._user(token), pid)
        if row["status"] not in FINAL_STATUSES and not self.dispatcher.cancel(pid):
            self.dispatcher.cancel_idle(pid)  # a server whose workers never started
        row = self.store.job(pid) or row
        if row["cancelled"]:
            detail = f"job {pid} cancelled"
        else:
            detail = f"job {pid} had already ended ({row['status']}); nothing to cancel"
        return {"detail": detail, "pid": pid, "cancelled": bool(row["cancelled"])}

    def delete_job(self, token: str, pid: str) -> dict[str, Any]:
        """Delete one of the caller's jobs, with its archive."""
        self._own_job(self._user(token), pid)
        self._remove(pid)
        return {"detail": f"job {pid} deleted", "pid": pid}

    def bulk_delete(self, token: str) -> dict[str, list[str]]:
        """Delete every job of the caller."""
        user = self._user(token)
        pids = [row["pid"] for row in self.store.jobs_of(user["id"])]
        for pid in pids:
            self._remove(pid)
        return {"deleted": pids}

    def _remove(self, pid: str) -> None:
        with self.store.transaction() as db:
            db.execute("DELETE FROM jobs WHERE pid = ?", (pid,))
            idempotency.forget_job(db, pid)
        self.dispatcher.forget(pid)
        forget_transpiled(self.dispatcher.results_dir, pid)

    def _disk_used(self, user_id: int) -> int:
        """Bytes the user's jobs keep on disk, as summed at most ``DISK_USAGE_SECONDS`` ago
        (a sum over all their jobs: not redone for every submission of a batch)."""
        now = time.monotonic()
        seen = self._disk_seen.get(user_id)
        if seen is not None and now - seen[0] < DISK_USAGE_SECONDS:
            return seen[1]
        used = self.store.disk_bytes(user_id)
        self._disk_seen[user_id] = (now, used)
        return used

    def _disk(self, user: Any) -> dict[str, Any]:
        used = self.store.disk_bytes(user["id"]) / 1024
        kbs_max = self.config.disk_kbs_max
        return objects.disk_quota_object(user["email"], round(max(kbs_max - used, 0.0), 3), kbs_max)

    def disk_quota(self, token: str) -> list[dict[str, Any]]:
        """The caller's disk quota, as a list of one object (as the protocol has it)."""
        return [self._disk(self._user(token))]

    def project_quotas(self, token: str) -> list[dict[str, Any]]:
        """The caller's quota on every device and alias, for the project ``personal``."""
        usage = StateStore.usage(self._user(token))
        return [self._project_quota(usage, PROJECT, d.name) for d in self.config.offered()]

    # -- for the operator and tests -------------------------------------------------------

    def wait_idle(self, timeout: float = 60.0) -> bool:
        """Block until no job is queued or running; False if ``timeout`` passed first."""
        deadline = time.monotonic() + timeout
        return self.dispatcher.wait_idle(deadline)

    def remove_data(self) -> None:
        """Close the server and delete its data folder (for temporary servers)."""
        self.close()
        shutil.rmtree(self.data_dir, ignore_errors=True)
