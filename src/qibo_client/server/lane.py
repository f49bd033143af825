"""The in-process lane of a ``local://`` server: small jobs run in the calling process.

A ``local://`` server lives in its user's own process, where qibo is already
imported (the user built a circuit with it). Sending a small circuit to a
worker process there costs ten times running it: a pipe round trip, qibo's
``dump`` of the result, an archive written and read back. So a job that is
small enough runs here instead:

- the tiniest (estimated at most :data:`NOW_SECONDS`) run in the thread that
  submits them, and are recorded once, already ended;
- the others up to :data:`LANE_SECONDS` (and :data:`LANE_MEMORY` bytes) run
  in one lane thread, in submission order;
- bigger ones, OpenQASM texts, emulated chips and other backends go to the
  worker processes, as on any server.

A job that ran here keeps qibo's result object in memory (up to
:data:`HELD_BYTES`; the oldest are written out first), and the ``local://``
transport hands it to the client as it is: no file, no archive. A download
(another client, the published client's way) gets the result file written
then (:meth:`InProcessLane.write_result`). A server in a kept folder writes
every result out in the background, so its jobs outlive the process.

What the lane gives up against a worker: it cannot stop a running job (a
cancel or a delete takes effect when it ends, after at most about
:data:`LANE_SECONDS`), and no address-space limit is set, since the jobs are
bounded by their estimated cost instead. qibo's sampling draws from numpy's
global generator, as calling the circuit does: ``qibo.set_seed`` makes these
jobs' samples repeatable, and they consume that generator's sequence.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import queue
import shutil
import sys
import threading
import time
import traceback
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from qibo_client.protocol.readers import validate_pid
from qibo_client.protocol.wire import ERROR, SUCCESS
from qibo_client.server.admission import Admitted
from qibo_client.server.circuit_checks import CircuitFacts

log = logging.getLogger("qibo_client.server")

#: Jobs estimated to take at most this many seconds run in the submitting thread.
NOW_SECONDS = 0.05
#: Jobs estimated to take at most this many seconds run in the lane thread.
LANE_SECONDS = 2.0
#: Jobs estimated to need more memory than this go to a worker (which has a memory limit).
LANE_MEMORY = 256 * 1024**2
#: Results held in memory, in bytes (estimated); beyond it the oldest are written out.
HELD_BYTES = 256 * 1024**2
#: How much of a failed job's traceback is kept (the end of it), as a worker keeps.
LOG_LIMIT = 64 * 1024
#: The only qibo backend the lane runs (the default simulator, always installed).
LANE_BACKEND = "numpy"

#: What the lane thread reports: a job's start (True: run it) and its end.
Started = Callable[[str], bool]
Ended = Callable[[str, "Ran"], None]


@dataclass
class Ran:
    """A job run here: its outcome (as a worker reports one) and qibo's result object."""

    outcome: dict[str, Any]
    result: Any
    nbytes: int

    @property
    def status(self) -> str:
        return SUCCESS if self.outcome["ok"] else ERROR

    def fields(self, qibo_version: str) -> dict[str, Any]:
        """The job's columns at its end (the store's ``jobs`` table)."""
        outcome = self.outcome
        frequencies = outcome.get("frequencies")
        return {
            "status": self.status,
            "runtime": outcome["runtime"],
            "stdout": outcome.get("stdout", ""),
            "stderr": outcome.get("stderr", ""),
            "frequencies": None if frequencies is None else json.dumps(frequencies),
            "qibo_version": qibo_version if outcome["ok"] else None,
        }


class InProcessLane:
    """Runs small jobs in this process and holds their results (see the module's text).

    ``spill_dir`` (the server's results folder) receives results written out of
    memory, as ``<pid>.npy``, where a download looks for a job's result file;
    ``keep`` (a server in a kept folder) writes every result out, in a background thread.
    """

    def __init__(self, spill_dir: Path, *, keep: bool, held_bytes: int = HELD_BYTES) -> None:
        self.spill_dir = spill_dir
        self.keep = keep
        self.held_bytes = held_bytes
        self._run_lock = threading.Lock()
        self._backend: Any = None
        self._qibo_version = ""
        self._held: OrderedDict[str, tuple[Any, int]] = OrderedDict()
        self._held_total = 0
        self._owners: dict[str, int] = {}
        self._held_lock = threading.Condition()
        #: Results on their way to disk: still answered from memory until written.
        self._writing: dict[str, Any] = {}
        self._jobs: queue.Queue[tuple[str, Admitted] | None] = queue.Queue()
        self._spills: queue.Queue[str | None] = queue.Queue()
        self._threads: list[threading.Thread] = []

    # -- life -------------------------------------------------------------------------

    def start(self, started: Started, ended: Ended) -> None:
        """Start the lane thread (and the writer); ``started``/``ended`` report each job."""
        self.spill_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
        for name, target, args in (
            ("qibo-local-lane", self._serve, (started, ended)),
            ("qibo-local-writer", self._write_out, ()),
        ):
            thread = threading.Thread(target=target, args=args, name=name, daemon=True)
            self._threads.append(thread)
            thread.start()

    def close(self) -> None:
        """Stop the threads. Jobs still waiting for the lane are dropped here: they stay
        queued on disk, and the next start of the server runs them."""
        with contextlib.suppress(queue.Empty):
            while True:
                self._jobs.get_nowait()
        self._jobs.put(None)
        self._spills.put(None)
        for thread in self._threads:
            thread.join(timeout=LANE_SECONDS + 10)
        self._threads.clear()

    # -- which jobs -------------------------------------------------------------------

    def takes(self, admitted: Admitted) -> bool:
        """True when ``admitted`` runs here: a circuit dict, small, on qibo's numpy simulator,
        in a process that has imported qibo already."""
        device, cost = admitted.device, admitted.cost
        return (
            isinstance(admitted.job.circuit, dict)
            and device.chip is None
            and device.backend == LANE_BACKEND
            and cost.estimated_seconds <= min(LANE_SECONDS, device.max_walltime_seconds)
            and cost.memory_bytes <= LANE_MEMORY
            and "qibo" in sys.modules
        )

    def facts_of(self, source: Any, raw: object) -> CircuitFacts | None:
        """The size of the caller's own qibo Circuit ``source``, read from the object (no
        walk of its dict), when it is the circuit ``raw`` was made from; else ``None``.

        Only for a job run at once, from a copy of ``source``: one rebuilt from its
        dict (later, or in a worker) has the dict checked field by field.
        """
        if "qibo" not in sys.modules or not isinstance(raw, dict):
            return None
        import qibo
        from qibo.gates import M

        if not isinstance(source, qibo.Circuit) or raw.get("nqubits") != source.nqubits:
            return None
        queue = source.queue
        if len(raw.get("queue") or ()) != len(queue):
            return None
        measured = {q for gate in queue if isinstance(gate, M) for q in gate.target_qubits}
        return CircuitFacts(source.nqubits, bool(source.density_matrix), len(queue), len(measured))

    def runs_now(self, admitted: Admitted) -> bool:
        """True when ``admitted`` is run at once, in the submitting thread."""
        return admitted.cost.estimated_seconds <= NOW_SECONDS and self.takes(admitted)

    def queue(self, pid: str, admitted: Admitted) -> None:
        """Run the job in the lane thread, after those queued before it."""
        self._jobs.put((pid, admitted))

    # -- running ----------------------------------------------------------------------

    def run(self, admitted: Admitted, source: Any = None) -> Ran:
        """Run the job here and now; its outcome, also when it fails.

        ``source`` is the caller's own qibo Circuit the submission was made
        from; a copy of it is run, sparing the rebuild from the dict.
        """
        job, cost = admitted.job, admitted.cost
        outcome: dict[str, Any] = {"ok": True, "frequencies": None}
        result = None
        started = time.perf_counter()
        try:
            with self._run_lock:
                result = self._execute(job.circuit, job.nshots, source, cost.nqubits)
                outcome["frequencies"] = _frequencies(result)
        except MemoryError:
            outcome = {"ok": False, "stderr": "MemoryError: the job needed more memory than "}
            outcome["stderr"] += "this machine has free; use fewer qubits or shots"
        except Exception as error:
            outcome = {"ok": False, "error": f"{type(error).__name__}: {error}"}
            outcome["stderr"] = traceback.format_exc()[-LOG_LIMIT:]
        outcome["runtime"] = time.perf_counter() - started
        return Ran(outcome, result if outcome["ok"] else None, cost.memory_bytes)

    @property
    def qibo_version(self) -> str:
        return self._qibo_version

    def _execute(self, circuit: Any, nshots: int | None, source: Any, nqubits: int) -> Any:
        import qibo

        if self._backend is None:
            self._backend = _numpy_backend()
            self._qibo_version = str(qibo.__version__)
        if isinstance(source, qibo.Circuit) and source.nqubits == nqubits:
            # A copy: running a circuit leaves its samples in its measurement gates.
            built = source.copy(deep=True)
        else:
            built = qibo.Circuit.from_dict(circuit)  # checked as data at admission
        if nshots is None:
            return self._backend.execute_circuit(built)
        return self._backend.execute_circuit(built, nshots=nshots)

    def _serve(self, started: Started, ended: Ended) -> None:
        while (item := self._jobs.get()) is not None:
            pid, admitted = item
            try:
                if started(pid):
                    ended(pid, self.run(admitted))
            except Exception:  # a bug here must not stop the lane
                log.exception("job %s: the in-process lane failed", pid)

    # -- held results -----------------------------------------------------------------

    def hold(self, pid: str, ran: Ran, owner: int) -> None:
        """Keep ``ran``'s result for its ``owner`` (a user id); the oldest go to disk
        beyond the budget."""
        if ran.result is None:
            return
        with self._held_lock:
            self._owners[pid] = owner
            self._held[pid] = (ran.result, ran.nbytes)
            self._held_total += ran.nbytes
            while self._held_total > self.held_bytes and len(self._held) > 1:
                old, (result, nbytes) = self._held.popitem(last=False)
                self._held_total -= nbytes
                self._writing[old] = result
                self._spills.put(old)
            if self.keep and pid in self._held:
                self._writing[pid] = ran.result
                self._spills.put(pid)

    def held(self, pid: str, owner: int) -> Any | None:
        """The result object held for ``pid`` of ``owner``, else ``None`` (on disk, or gone)."""
        with self._held_lock:
            if self._owners.get(pid) != owner:
                return None
            entry = self._held.get(pid)
            if entry is not None:
                self._held.move_to_end(pid)
                return entry[0]
            return self._writing.get(pid)

    def forget(self, pid: str) -> None:
        """The job was deleted: drop its result, held or written out."""
        with self._held_lock:
            entry = self._held.pop(pid, None)
            if entry is not None:
                self._held_total -= entry[1]
            self._writing.pop(pid, None)
            self._owners.pop(pid, None)
        with contextlib.suppress(OSError, ValueError):
            self._spilled(pid).unlink()

    def write_result(self, pid: str, path: Path) -> bool:
        """Write ``pid``'s result to ``path`` (qibo's ``dump``); False when none is here."""
        try:
            spilled = self._spilled(pid)
        except ValueError:
            return False
        with self._held_lock:  # a write-out under way ends first: one writer per file
            self._held_lock.wait_for(lambda: pid not in self._writing)
            entry = self._held.get(pid)
        if spilled.is_file():
            if spilled != path:
                _dump_copy(spilled, path)
            return True
        if entry is not None:
            _dump(entry[0], path)
            return True
        return False

    def _spilled(self, pid: str) -> Path:
        return self.spill_dir / f"{validate_pid(pid)}.npy"

    def _write_out(self) -> None:
        while (pid := self._spills.get()) is not None:
            with self._held_lock:
                result = self._writing.get(pid)
            try:
                if result is not None:
                    _dump(result, self._spilled(pid))
            except Exception:
                log.exception("job %s: its result could not be written out", pid)
                with self._held_lock:  # kept in memory, then: never lost to a write error
                    if result is not None and pid not in self._held:
                        self._held[pid] = (result, 0)
            finally:
                with self._held_lock:
                    self._writing.pop(pid, None)
                    if pid not in self._held:  # written out: nothing held to hand over
                        self._owners.pop(pid, None)
                    self._held_lock.notify_all()


def _numpy_backend() -> Any:
    """qibo's numpy simulator at double precision, as a worker runs it.

    The user's own global backend object when it is exactly that (calling a
    circuit uses it too; making another takes milliseconds), else a new one:
    the global backend, and its settings, stay the user's either way.
    """
    from qibo import backends

    current: Any = getattr(getattr(backends, "_Global", None), "_backend", None)
    if type(current) is backends.NumpyBackend and str(current.dtype) == "complex128":
        return current
    return backends.construct_backend(LANE_BACKEND)


def _frequencies(result: Any) -> dict[str, int] | None:
    from qibo.result import MeasurementOutcomes

    if not isinstance(result, MeasurementOutcomes):
        return None
    # qibo keeps the counts it draws here: the held result and the job's agree.
    return {str(k): int(v) for k, v in result.frequencies().items()}


def _dump(result: Any, path: Path) -> None:
    """qibo's ``dump`` into ``path``, written whole or not at all.

    A sampling result's shots are drawn first (from the counts it already has):
    a file without samples is sampled anew on every load, and would disagree
    with the job's counts.
    """
    from qibo.result import MeasurementOutcomes

    if isinstance(result, MeasurementOutcomes):
        result.samples()
    partial = path.with_name(f"{path.name}.{os.getpid()}-{threading.get_ident()}.partial.npy")
    result.dump(str(partial))
    os.replace(partial, path)


def _dump_copy(source: Path, path: Path) -> None:
    partial = path.with_name(f"{path.name}.{os.getpid()}-{threading.get_ident()}.partial")
    shutil.copyfile(source, partial)
    os.replace(partial, path)
