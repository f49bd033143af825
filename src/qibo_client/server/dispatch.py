"""The queue and the workers: hands queued jobs to warm worker processes and records the outcome.

One supervisor thread per worker process takes the oldest queued job, sends
the worker a small task, and waits on the worker's connection (so completion
is heard at once), within the device's walltime. Tiny jobs queued right
behind each other go together, one message each way (:data:`BATCH_MAX`); a
batch that fails as a whole has its jobs run again one by one. A job's steps
(pending, running, postprocessing) are held in memory only
(:meth:`Dispatcher.live_status`): a restart queues an unfinished job again
whatever step it had reached. Its end is written to SQLite in one
transaction (its result file kept as the worker wrote it: the archive waits
for a download), then announced through one condition variable, which
long-poll requests wait on. A job cancelled or deleted while it runs has its
worker killed at once (the supervisor hears the worker go, records the job
and starts a replacement); one still queued is just taken off.
"""

from __future__ import annotations

import contextlib
import itertools
import json
import logging
import shutil
import statistics
import threading
import time
import uuid
from collections import deque
from pathlib import Path
from typing import Any

from qibo_client.protocol.wire import (
    ACTIVE_STATUSES,
    PENDING,
    POSTPROCESSING,
    QUEUEING,
    RESULTS_FILE,
    RUNNING,
)
from qibo_client.server.admission import Admitted
from qibo_client.server.archives import remove_stale_temporaries
from qibo_client.server.config import DeviceConfig, ServerConfig
from qibo_client.server.lane import InProcessLane, Ran
from qibo_client.server.outcomes import Recorder
from qibo_client.server.pool import WorkerGone, WorkerProcess
from qibo_client.server.storage import is_disk_full
from qibo_client.server.store import StateStore, now_iso

log = logging.getLogger("qibo_client.server")

#: How many ended jobs keep their status and change marks in memory.
KEPT_ENDED = 10_000

#: The estimate of a job's runtime before any job has run.
DEFAULT_RUNTIME = 1.0
#: The statuses kept in memory only: a restart queues such a job again anyway.
_LIVE_ONLY = frozenset({PENDING, RUNNING, POSTPROCESSING})
#: At most this many tiny jobs go to a worker in one message.
BATCH_MAX = 32
#: A job is tiny (batched) when its circuit is a dict of at most this many characters,
#: on at most this many qubits, with at most this many shots, on a device without a
#: chip whose walltime is at least MIN_BATCH_WALLTIME seconds: it runs in milliseconds.
TINY_CIRCUIT_CHARS = 20_000
TINY_QUBITS = 10
TINY_SHOTS = 10_000
MIN_BATCH_WALLTIME = 1.0


class Dispatcher:
    """The queue of jobs, the worker processes, and the announcements of changes."""

    def __init__(
        self,
        store: StateStore,
        config: ServerConfig,
        *,
        results_dir: Path,
        work_dir: Path,
        workers: int,
        runner: str | None,
        lane: InProcessLane | None = None,
    ) -> None:
        self.store = store
        self.config = config
        self.results_dir = results_dir
        self.work_dir = work_dir
        self.workers = workers
        self.runner = runner
        #: The most tiny jobs sent to a worker in one message: batches only with the
        #: default runner, whose jobs' time the server estimates (another runner may
        #: take any time over any job; its deployment may still set this).
        self.batch_max = BATCH_MAX if runner is None else 1
        self.recorder = Recorder(store, results_dir)
        #: Runs small jobs in this process (``local://``), else ``None``: workers run all.
        self.lane = lane
        lock = threading.RLock()
        #: Every change of a job, for those waiting on one (long-polls, cancels, idleness).
        self._changed = threading.Condition(lock)
        #: Work for the supervisors (a job queued, or closing): a job's every change
        #: does not wake them, which would cost a thread switch per change.
        self._work = threading.Condition(lock)
        self._queue: deque[str] = deque()
        self._busy: set[str] = set()
        #: The worker running each busy job, once its task is on the way.
        self._runs: dict[str, WorkerProcess] = {}
        #: Busy jobs asked to stop, and why ("cancel" or "delete").
        self._stopping: dict[str, str] = {}
        self._statuses: dict[str, str] = {}
        self._versions: dict[str, int] = {}
        #: Ended (or deleted) jobs, oldest first, whose marks are still kept.
        self._ended: deque[str] = deque()
        self.kept_ended = KEPT_ENDED
        self._runtimes: deque[float] = deque(maxlen=20)
        self._queue_updated = now_iso()
        self._threads: list[threading.Thread] = []
        self._processes: dict[int, WorkerProcess] = {}
        self._running = False
        self._closing = False

    # -- life -------------------------------------------------------------------------

    def start(self) -> None:
        with self._changed:
            if self._running:
                return
            self._running, self._closing = True, False
        self.results_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
        remove_stale_temporaries(self.results_dir)
        shutil.rmtree(self.work_dir, ignore_errors=True)
        self._runtimes.extend(reversed(self.store.recent_runtimes()))
        resumed = self.store.unfinished()
        for row in resumed:
            if row["status"] != QUEUEING:
                self.store.update_job(row["pid"], status=QUEUEING)
        with self._changed:
            queued = set(self._queue)
            self._queue.extendleft(
                row["pid"] for row in reversed(resumed) if row["pid"] not in queued
            )
            self._touch_queue()
            self._changed.notify_all()
            self._work.notify_all()
        if self.lane is not None:
            self.lane.start(self._lane_started, self._lane_ended)
        for slot in range(self.workers):
            thread = threading.Thread(
                target=self._supervise, args=(slot,), name=f"qibo-server-worker-{slot}", daemon=True
            )
            self._threads.append(thread)
            thread.start()

    def close(self) -> None:
        with self._changed:
            if not self._running:
                return
            self._closing = True
            self._changed.notify_all()
            self._work.notify_all()
            processes = list(self._processes.values())
        if self.lane is not None:
            self.lane.close()  # jobs it had not started stay queued on disk
        for process in processes:
            process.terminate()
        for thread in self._threads:
            thread.join(timeout=10)
        self._threads.clear()
        with self._changed:
            self._running = False
            self._queue.clear()
            self._busy.clear()

    # -- the queue --------------------------------------------------------------------

    def _touch_queue(self) -> None:
        self._queue_updated = now_iso()

    def _announce(self, pid: str, status: str | None) -> None:
        """Record a change of ``pid`` (``None``: deleted) and wake whoever waits on it.

        The marks of ended jobs are kept for the last ``kept_ended`` of them only
        (a long-poll that began before an end has seen it by then): a server that
        runs millions of jobs does not keep a mark for each.
        """
        with self._changed:
            if status is None:
                self._statuses.pop(pid, None)
            else:
                self._statuses[pid] = status
            self._versions[pid] = self._versions.get(pid, 0) + 1
            self._changed.notify_all()
            if status not in ACTIVE_STATUSES:
                self._ended.append(pid)
                while len(self._ended) > self.kept_ended:
                    old = self._ended.popleft()
                    if self._statuses.get(old) not in ACTIVE_STATUSES:
                        self._statuses.pop(old, None)
                        self._versions.pop(old, None)

    def enqueue(self, pid: str, admitted: Admitted | None = None) -> None:
        """Queue a job: for the in-process lane when it takes it, else for a worker."""
        if self.lane is not None and admitted is not None and self.lane.takes(admitted):
            with self._changed:
                self._busy.add(pid)
                self._statuses[pid] = QUEUEING
                self._touch_queue()
            self.lane.queue(pid, admitted)
            return
        with self._changed:
            self._queue.append(pid)
            self._statuses[pid] = QUEUEING
            self._touch_queue()
            self._changed.notify_all()
            self._work.notify_all()

    def forget(self, pid: str) -> None:
        """The job was deleted: drop it from the queue, stop its run, remove its files."""
        self._stop(pid, "delete")
        self.recorder.forget(pid)
        if self.lane is not None:
            self.lane.forget(pid)
        self.recorder.discard(pid)
        self._announce(pid, None)

    def cancel(self, pid: str, *, timeout: float = 10.0) -> bool:
        """Take a queued job off the queue or kill the worker running it; it ends ``error``
        with ``cancelled``. Waits (up to ``timeout``) until that is recorded; False when
        the job was neither queued nor running here."""
        where = self._stop(pid, "cancel")
        if where == "queued":
            self._finish_stopped(pid, "cancel", None)
        elif where == "running":
            with self._changed:
                self._changed.wait_for(
                    lambda: self._statuses.get(pid) not in ACTIVE_STATUSES,
                    timeout=timeout,
                )
        return bool(where)

    def cancel_idle(self, pid: str) -> None:
        """Cancel a job that is active on disk but neither queued nor running in this
        process (its workers were never started)."""
        self._finish_stopped(pid, "cancel", None)

    def _stop(self, pid: str, reason: str) -> str:
        """Take ``pid`` off the queue ("queued"), or mark it and kill its worker ("running")."""
        with self._changed:
            if pid in self._queue:
                self._queue.remove(pid)
                self._touch_queue()
                self._changed.notify_all()
                return "queued"
            if pid not in self._busy:
                return ""
            self._stopping.setdefault(pid, reason)
            worker = self._runs.get(pid)
            if worker is not None:
                # Under the lock: the supervisor takes the job off `_runs` under it
                # too, so the worker killed here is still the one running this job.
                worker.terminate()
            return "running"

    def _finish_stopped(self, pid: str, reason: str, workdir: Path | None = None) -> None:
        # ``workdir`` is not the job's: each worker keeps one folder for all its jobs.
        if reason == "cancel":
            outcome = {"ok": False, "stderr": "the job was cancelled by its user"}
            self._finish(pid, outcome, None, cancelled=True)
        else:  # deleted: nothing left to record
            self.recorder.discard(pid)
            self._announce(pid, None)

    def queue_info(self, pid: str) -> dict[str, Any] | None:
        """Position (1 = next), estimated seconds to start and last queue change, if queued."""
        with self._changed:
            try:
                index = self._queue.index(pid)
            except ValueError:
                return None
            ahead = index + len(self._busy)
            average = statistics.fmean(self._runtimes) if self._runtimes else DEFAULT_RUNTIME
            return {
                "position": index + 1,
                "etd": round(ahead * average / self.workers, 3),
                "updated": self._queue_updated,
            }

    def version(self, pid: str) -> int:
        with self._changed:
            return self._versions.get(pid, 0)

    def wait_for_change(
        self, pid: str, wait: float, status: str, known_status: str | None, version: int
    ) -> None:
        """Block up to ``wait`` s until the status differs from ``known_status``.

        ``status`` is the job's status read after ``version`` was taken; without
        ``known_status``, any change after ``version`` ends the wait.
        """
        status = self.live_status(pid, status)
        if known_status is not None and status.lower() != known_status.lower():
            return
        deadline = time.monotonic() + wait
        with self._changed:
            while not self._closing:
                if self._versions.get(pid, 0) != version:
                    if known_status is None:
                        return
                    current = self._statuses.get(pid)
                    if current is None or current.lower() != known_status.lower():
                        return  # changed, or deleted
                    version = self._versions[pid]
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    return
                self._changed.wait(remaining)

    def wait_idle(self, deadline: float) -> bool:
        with self._changed:
            return self._changed.wait_for(
                lambda: not self._queue and not self._busy,
                timeout=max(deadline - time.monotonic(), 0.0),
            )

    def live_status(self, pid: str, stored: str) -> str:
        """The status a job shows: ``stored`` (its row's), unless the job is active and has
        reached a step that is held in memory only (pending, running, postprocessing)."""
        if stored not in ACTIVE_STATUSES:
            return stored
        with self._changed:
            live = self._statuses.get(pid)
        return live if live in _LIVE_ONLY else stored

    def archive_path(self, pid: str) -> Path:
        return self.recorder.archive_path(pid)

    def result_archive(self, pid: str) -> Path:
        """The ended job's archive, built on its first download (:meth:`Recorder.archive`);
        a result held by the in-process lane is written out for it first."""
        return self.recorder.archive(pid, getattr(self, "lane", None))

    def _next_job(self) -> str | None:
        with self._work:
            self._work.wait_for(lambda: self._closing or bool(self._queue))
            if self._closing:
                return None
            pid = self._queue.popleft()
            self._busy.add(pid)
            self._touch_queue()
            return pid

    # -- the workers ------------------------------------------------------------------

    def _start_worker(self, slot: int) -> WorkerProcess | None:
        failures = 0
        while not self._closing:
            try:
                worker = WorkerProcess(
                    self.runner,
                    env=self._worker_env(),
                    memory_budget=self.config.worker_memory_budget(),
                )
                with self._changed:
                    self._processes[slot] = worker
                    if self._closing:
                        worker.terminate()
                worker.wait_ready()
                return worker
            except Exception as error:  # any failure to start is retried, never fatal
                if self._closing:
                    return None
                failures += 1
                log.warning(
                    "worker %d could not start (attempt %d): %s",
                    slot,
                    failures,
                    error,
                    exc_info=not isinstance(error, WorkerGone),
                )
                if failures >= 3:
                    self._fail_next(f"the server could not start a worker process: {error}")
                with self._work:
                    self._work.wait_for(lambda: self._closing, timeout=min(2**failures, 30))
        return None

    def _worker_env(self) -> dict[str, str]:
        """qibo's own qubit bounds, and fewer malloc arenas (they count against RLIMIT_AS)."""
        state, density = self.config.worker_max_qubits()
        return {
            "QIBO_MAX_QUBITS": str(state),
            "QIBO_MAX_QUBITS_DM": str(density),
            "MALLOC_ARENA_MAX": "2",
        }

    def _fail_next(self, reason: str) -> None:
        with self._changed:
            pid = self._queue.popleft() if self._queue else None
        if pid is not None:
            self._finish(pid, {"ok": False, "stderr": reason}, None)

    def _supervise(self, slot: int) -> None:
        worker: WorkerProcess | None = None
        workdir: Path | None = None
        #: Jobs of a failed batch, still busy here: each runs alone, with its own walltime.
        alone: deque[str] = deque()
        try:
            while not self._closing:
                if worker is None:
                    if workdir is not None:
                        shutil.rmtree(workdir, ignore_errors=True)
                    if self.lane is not None and not alone and not self._work_for_a_worker():
                        return
                    worker = self._start_worker(slot)
                    if worker is None:
                        return
                    # A folder per worker process: one orphaned by a killed server (or
                    # killed here) never writes into the folder of the one replacing it.
                    workdir = self.work_dir / f"worker-{slot}.{uuid.uuid4().hex[:12]}"
                    workdir.mkdir(parents=True, exist_ok=True, mode=0o700)
                solo = bool(alone)
                pid = alone.popleft() if solo else self._next_job()
                if pid is None:
                    return
                try:
                    assert workdir is not None
                    batch = {} if solo else self._take_batch(pid)
                    if batch:
                        keep, left = self._run_batch(worker, pid, batch, workdir)
                        alone.extend(left)
                    else:
                        keep = self._run(worker, pid, workdir)
                    if not keep:
                        worker.kill()
                        worker = None
                except Exception as error:  # a bug here must not stop the queue
                    log.exception("job %s: the server failed while running it", pid)
                    with contextlib.suppress(Exception):
                        reason = f"the server failed while running the job: {error!r}"
                        self._finish(pid, {"ok": False, "stderr": reason}, None)
                    if worker is not None:
                        worker.kill()
                    worker = None
                finally:
                    if pid not in alone:
                        self._done_with([pid])
        finally:
            if worker is not None:
                worker.stop()
            if workdir is not None:
                shutil.rmtree(workdir, ignore_errors=True)
            with self._changed:
                self._processes.pop(slot, None)

    def _done_with(self, pids: list[str]) -> None:
        """These jobs are no longer this supervisor's (ended, or stopped)."""
        with self._changed:
            for pid in pids:
                self._busy.discard(pid)
                self._stopping.pop(pid, None)  # asked while its outcome was recorded
            self._changed.notify_all()

    def _take_batch(self, pid: str) -> dict[str, Any]:
        """Rows of queued jobs to send along with ``pid`` (taken off the queue, now busy):
        when ``pid`` and the jobs right behind it are tiny. Leaves other workers their share."""
        with self._changed:
            share = min(self.batch_max - 1, len(self._queue) // max(self.workers, 1))
            behind = list(itertools.islice(self._queue, share))
        if not behind:
            return {}
        marks = ", ".join("?" for _ in range(len(behind) + 1))
        rows = self.store.query(f"SELECT * FROM jobs WHERE pid IN ({marks})", (pid, *behind))
        by_pid = {row["pid"]: row for row in rows}
        if not self._tiny(by_pid.get(pid)):
            return {}
        taken: dict[str, Any] = {pid: by_pid[pid]}
        with self._changed:
            for follower in itertools.takewhile(lambda p: self._tiny(by_pid.get(p)), behind):
                if not self._queue or self._queue[0] != follower:
                    break  # the queue changed meanwhile
                self._queue.popleft()
                self._busy.add(follower)
                taken[follower] = by_pid[follower]
            if len(taken) > 1:
                self._touch_queue()
        return taken if len(taken) > 1 else {}

    def _tiny(self, row: Any) -> bool:
        if row is None or not row["circuit"].startswith("{"):
            return False
        device = self.config.device(row["device"])
        return (
            device is not None
            and device.chip is None
            and device.max_walltime_seconds >= MIN_BATCH_WALLTIME
            and len(row["circuit"]) <= TINY_CIRCUIT_CHARS
            and row["num_qubits"] <= TINY_QUBITS
            and (row["nshots"] or 0) <= TINY_SHOTS
        )

    def _run_batch(
        self, worker: WorkerProcess, pid: str, rows: dict[str, Any], workdir: Path
    ) -> tuple[bool, list[str]]:
        """Run tiny jobs (``pid`` first, then the others of ``rows``, all busy) in one
        message to ``worker``; (worker still usable, jobs to run alone next).

        When the batch fails as a whole (past the walltime, the worker gone), its jobs
        are run again one by one, so each meets its own walltime; a job cancelled or
        deleted meanwhile ends as such and kills the worker, as a single job does.
        """
        with self._changed:
            stopped = {p: self._stopping.pop(p) for p in rows if p in self._stopping}
            running = [p for p in rows if p not in stopped]
            for p in running:
                self._runs[p] = worker
        finished: set[str] = set()
        try:
            for p, reason in stopped.items():
                self._finish_stopped(p, reason)
                finished.add(p)
            if not running:
                return True, []
            devices = {p: self.config.device(rows[p]["device"]) for p in running}
            tasks = []
            for index, p in enumerate(running):
                device = devices[p]
                assert device is not None
                tasks.append({
                    "pid": p,
                    "circuit": json.loads(rows[p]["circuit"]),
                    "nshots": rows[p]["nshots"],
                    "backend": device.backend,
                    "max_qubits": device.max_num_qubits,
                    "max_gates": device.max_gates,
                    "workdir": str(workdir / f"batch-{index}"),
                })  # fmt: skip
            with self._changed:
                for p in running:
                    self._statuses[p] = RUNNING
                    self._versions[p] = self._versions.get(p, 0) + 1
                self._changed.notify_all()
            walltime = min(d.max_walltime_seconds for d in devices.values() if d is not None)
            answers = self._exchange_batch(worker, tasks, walltime)
            with self._changed:
                for p in running:
                    self._runs.pop(p, None)
                stopped = {p: self._stopping.pop(p) for p in running if p in self._stopping}
            for p, reason in stopped.items():
                self._finish_stopped(p, reason)
                finished.add(p)
            if answers is None:
                if self._closing:  # they stay active, resumed at the next start
                    finished.update(running)
                    return False, []
                return False, [p for p in running if p not in finished]
            for index, (p, answer) in enumerate(zip(running, answers, strict=True)):
                if p not in finished:
                    self._finish(p, answer, worker.qibo_version, workdir / f"batch-{index}")
                    finished.add(p)
            return not stopped, []
        except Exception:
            for p in rows:
                if p not in finished and p != pid:
                    with contextlib.suppress(Exception):
                        reason = "the server failed while running the job"
                        self._finish(p, {"ok": False, "stderr": reason}, None)
                    finished.add(p)
            raise
        finally:
            self._done_with([p for p in finished if p != pid])

    def _exchange_batch(
        self, worker: WorkerProcess, tasks: list[dict[str, Any]], walltime: float
    ) -> list[dict[str, Any]] | None:
        """Send the tasks in one message and hear their answers in one; ``None`` when the
        batch ran past ``walltime`` (the worker is killed) or the worker went away."""
        deadline = time.monotonic() + walltime
        try:
            worker.send({"op": "run_many", "tasks": tasks})
            while True:
                message = worker.receive(max(deadline - time.monotonic(), 0.0))
                if message is None:
                    worker.terminate()
                    return None
                if message.get("event") == "done_many":
                    answers: list[dict[str, Any]] = message["answers"]
                    return answers
        except WorkerGone:
            return None

    def _run(self, worker: WorkerProcess, pid: str, workdir: Path) -> bool:
        """Run one job on ``worker``, whose results go in ``workdir``; False when the
        worker must be replaced."""
        row = self.store.job(pid)
        if row is None:
            return True
        device = self.config.device(row["device"])
        if device is None:
            reason = f"device {row['device']!r} is no longer offered by this server"
            self._finish(pid, {"ok": False, "stderr": reason}, None)
            return True
        with contextlib.suppress(FileNotFoundError):  # a failed job's leftover
            (workdir / RESULTS_FILE).unlink()
        with self._changed:
            stopped = self._stopping.pop(pid, None)
            if stopped is None:
                self._runs[pid] = worker
        if stopped is not None:  # cancelled before its task was sent
            self._finish_stopped(pid, stopped, workdir)
            return True
        self._set_status(pid, PENDING)
        task = {
            "op": "run",
            "pid": pid,
            "circuit": json.loads(row["circuit"]),
            "nshots": row["nshots"],
            "backend": device.backend,
            "max_qubits": device.max_num_qubits,
            "max_gates": device.max_gates,
            "workdir": str(workdir),
        }
        try:
            outcome, keep = self._exchange(worker, task, device)
        finally:
            with self._changed:
                self._runs.pop(pid, None)
                stopped = self._stopping.pop(pid, None)
        if stopped is not None:  # its worker was killed
            self._finish_stopped(pid, stopped)
            return False
        if outcome is None:
            return False  # the server is closing: the job stays active, resumed at the next start
        if keep:
            self._set_status(pid, POSTPROCESSING)
        self._finish(pid, outcome, worker.qibo_version if keep else None, workdir)
        return keep

    def _exchange(
        self, worker: WorkerProcess, task: dict[str, Any], device: DeviceConfig
    ) -> tuple[dict[str, Any] | None, bool]:
        """Send the task and hear the outcome; (outcome, worker still usable).

        The outcome is ``None`` when the worker went away because the server is closing.
        """
        pid = task["pid"]
        deadline = time.monotonic() + device.max_walltime_seconds
        try:
            worker.send(task)
            while True:
                message = worker.receive(max(deadline - time.monotonic(), 0.0))
                if message is None:
                    reason = (
                        f"the job ran past the walltime of {device.max_walltime_seconds:g} s "
                        f"of device {device.name!r} and was stopped"
                    )
                    worker.terminate()
                    return {"ok": False, "stderr": reason}, False
                if message.get("event") == "running":
                    self._set_status(pid, RUNNING)
                elif message.get("event") == "done":
                    return message, True
        except WorkerGone as error:
            if self._closing:
                return None, False
            reason = f"the worker process running the job crashed ({error})"
            with self._changed:
                if pid not in self._stopping:
                    log.warning("job %s: %s", pid, reason)
            return {"ok": False, "stderr": reason}, False

    def _set_status(self, pid: str, status: str) -> None:
        """Announce a step of a running job; held in memory only, not written (a restart
        queues an unfinished job again whatever step it had reached)."""
        with self._changed:
            if self._stopping.get(pid) == "delete":
                return
        self._announce(pid, status)

    def _finish(
        self,
        pid: str,
        outcome: dict[str, Any],
        qibo_version: str | None,
        workdir: Path | None = None,
        *,
        cancelled: bool = False,
    ) -> None:
        """Record the job's end (:class:`~qibo_client.server.outcomes.Recorder`) and announce it."""
        self.recorder.flush()
        status = self.recorder.finish(pid, outcome, qibo_version, workdir, cancelled=cancelled)
        runtime = outcome.get("runtime")
        if runtime and status is not None:
            self._runtimes.append(float(runtime))
        self._announce(pid, status)

    # -- the in-process lane (``local://``) ----------------------------------------------

    def _work_for_a_worker(self) -> bool:
        """With the in-process lane, a worker starts only once a job needs one (its
        start, importing qibo, takes seconds of a core the caller may be using)."""
        with self._work:
            self._work.wait_for(lambda: self._closing or bool(self._queue))
            return not self._closing

    @property
    def live_workers(self) -> int:
        """How many worker processes are running now."""
        with self._changed:
            return len(self._processes)

    def ended_here(self, pid: str, ran: Ran) -> None:
        """A job run in the submitting thread was recorded, already ended: announce it."""
        self._runtimes.append(float(ran.outcome["runtime"]))
        self._announce(pid, ran.status)

    def _lane_started(self, pid: str) -> bool:
        """The lane takes ``pid`` up: False when it was cancelled or deleted meanwhile."""
        with self._changed:
            stopped = self._stopping.pop(pid, None)
        if stopped is None:
            self._announce(pid, RUNNING)
            return True
        try:
            self._finish_stopped(pid, stopped, None)
        finally:
            self._release(pid)
        return False

    def _lane_ended(self, pid: str, ran: Ran) -> None:
        """Record the end of a job the lane ran (one transaction) and announce it."""
        assert self.lane is not None
        try:
            with self._changed:
                stopped = self._stopping.pop(pid, None)
            if stopped is not None:  # cancelled or deleted while it ran
                self._finish_stopped(pid, stopped, None)
                return
            row = self.store.job(pid)
            if row is None:  # deleted while it ran
                return
            self.lane.hold(pid, ran, owner=row["user_id"])
            try:
                fields = {**ran.fields(self.lane.qibo_version), "updated_at": now_iso()}
                recorded = self.recorder.record(pid, fields, ran.outcome["runtime"])
            except Exception as error:
                if not is_disk_full(error):
                    raise
                self.lane.forget(pid)
                self._finish(pid, {"ok": False, "stderr": str(error)}, None)
                return
            if not recorded:  # deleted while it ran
                self.lane.forget(pid)
                return
            self.ended_here(pid, ran)
        finally:
            self._release(pid)

    def _release(self, pid: str) -> None:
        with self._changed:
            self._busy.discard(pid)
            self._stopping.pop(pid, None)
            self._changed.notify_all()
