"""How large a job's result can be, from what the client knows of the job.

A result archive holds a ``results.npy`` (the final state, the measured
probabilities, the samples) and perhaps a few logs. Its unpacked size is
bounded by what a result of that circuit can need, so that a small download
cannot unpack to gigabytes: a state of n qubits is 2^n complex128 amplitudes
(16 x 2^n bytes), a density matrix 4^n of them, probabilities 2^n float64 and
samples one int64 per shot and measured qubit.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

#: The most shots whose samples the client builds itself: from inline counts, or drawn
#: from a file's probabilities (a sample costs one int64 per measured qubit).
MAX_SHOTS = 10_000_000
#: Room for what is not one of the arrays: pickle framing, measurement gates, logs.
OVERHEAD_BYTES = 16 << 20
#: The bound when the circuit's qubits are not known (a 26-qubit state vector).
UNKNOWN_JOB_BYTES = 1 << 30
#: A circuit wider than this is no circuit a result can come back for.
MAX_QUBITS = 64

_QREG = re.compile(r"\bqreg\s+[A-Za-z_]\w*\s*\[\s*(\d{1,4})\s*\]")


def circuit_qubits(circuit: object) -> tuple[int, bool] | None:
    """The circuit's qubit count and whether it runs as a density matrix, when known.

    ``circuit`` is what a job carries: qibo's ``circuit.raw`` dict, or an
    OpenQASM text (its ``qreg`` sizes added up).
    """
    if isinstance(circuit, Mapping):
        qubits = circuit.get("nqubits")
        if type(qubits) is not int or not 0 <= qubits <= MAX_QUBITS:
            return None
        return qubits, circuit.get("density_matrix") is True
    if isinstance(circuit, str):
        sizes = [int(size) for size in _QREG.findall(circuit)]
        total = sum(sizes)
        return (total, False) if sizes and total <= MAX_QUBITS else None
    return None


def result_size_bound(circuit: Any, nshots: Any) -> int:
    """The most bytes the result archive of a job with this circuit and shot count can need.

    :data:`UNKNOWN_JOB_BYTES` when the circuit's qubits are not known.
    """
    known = circuit_qubits(circuit)
    if known is None:
        return UNKNOWN_JOB_BYTES
    qubits, density_matrix = known
    amplitudes = 4**qubits if density_matrix else 2**qubits
    shots = nshots if type(nshots) is int and nshots > 0 else 0
    return 16 * amplitudes + 8 * 2**qubits + 8 * shots * qubits + OVERHEAD_BYTES
