"""What a job will cost, from the facts its circuit checks gave, bounded per device.

Memory is the state (2^n amplitudes, or 4^n for a density matrix, of 16
bytes) plus the samples (shots x measured qubits); work is gates x
amplitudes. Both are bounded at submission, before anything runs; the worker
runs under a memory limit too (``worker.py``), in case an estimate is short.
"""

from __future__ import annotations

from dataclasses import dataclass

from qibo_client.server.circuit_checks import CircuitFacts
from qibo_client.server.config import AMPLITUDE_BYTES, SAMPLE_BYTES, DeviceConfig
from qibo_client.server.errors import JobRefused

#: A rough speed of qibo's numpy simulator, for ``estimated_seconds``: amplitude
#: updates per second, and samples (shots x measured qubits) drawn per second.
AMPLITUDE_UPDATES_PER_SECOND = 2e8
SAMPLES_PER_SECOND = 5e7
#: The least a job takes: building the circuit, writing its result.
BASE_SECONDS = 0.01


@dataclass(frozen=True)
class JobCost:
    """The size of one job: memory in bytes, work in gate x amplitude updates, a rough time."""

    nqubits: int
    density_matrix: bool
    gates: int
    nshots: int | None
    state_bytes: int
    sample_bytes: int
    gate_work: int
    estimated_seconds: float

    @property
    def memory_bytes(self) -> int:
        return self.state_bytes + self.sample_bytes


def job_cost(facts: CircuitFacts, nshots: int | None) -> JobCost:
    """The cost of running ``facts``' circuit with ``nshots`` (call after the qubit check)."""
    amplitudes = (4 if facts.density_matrix else 2) ** facts.nqubits
    samples = (nshots or 0) * max(facts.measured_qubits, 1) if nshots else 0
    work = facts.gates * amplitudes
    seconds = BASE_SECONDS + work / AMPLITUDE_UPDATES_PER_SECOND + samples / SAMPLES_PER_SECOND
    return JobCost(
        nqubits=facts.nqubits,
        density_matrix=facts.density_matrix,
        gates=facts.gates,
        nshots=nshots,
        state_bytes=AMPLITUDE_BYTES * amplitudes,
        sample_bytes=SAMPLE_BYTES * samples,
        gate_work=work,
        estimated_seconds=round(seconds, 3),
    )


def size(nbytes: float) -> str:
    """``nbytes`` for people: 64 GiB, 512 MiB, 3 KiB."""
    for unit in ("B", "KiB", "MiB", "GiB", "TiB"):
        if nbytes < 1024 or unit == "TiB":
            return f"{nbytes:.3g} {unit}"
        nbytes /= 1024
    return f"{nbytes:.3g} TiB"  # pragma: no cover - the loop returns


def check_cost(cost: JobCost, device: DeviceConfig) -> None:
    """:class:`JobRefused`, naming the limit, when ``cost`` exceeds what ``device`` allows."""
    cap = device.memory_cap()
    if cost.memory_bytes > cap:
        kind = "density matrix" if cost.density_matrix else "state vector"
        base = 4 if cost.density_matrix else 2
        parts = f"a {kind} of {cost.nqubits} qubits: {base}^{cost.nqubits} amplitudes x 16 bytes"
        if cost.sample_bytes:
            parts += f", and {size(cost.sample_bytes)} of samples"
        hint = "use fewer qubits or shots"
        if cost.density_matrix:
            hint += ", or a state vector (density_matrix=False)"
        raise JobRefused(
            f"the job needs about {size(cost.memory_bytes)} of memory ({parts}); device "
            f"{device.name!r} allows {size(cap)} per job (max_memory_bytes): {hint}"
        )
    work_cap = device.gate_work_cap()
    if cost.gate_work > work_cap:
        raise JobRefused(
            f"the circuit applies {cost.gates} gates to {cost.gate_work // max(cost.gates, 1)} "
            f"amplitudes ({cost.gate_work:.3g} updates); device {device.name!r} allows "
            f"{work_cap:.3g} per job (max_gate_work): use fewer gates or qubits"
        )
