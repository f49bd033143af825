"""A user's module: run a Bell circuit on a Qibo server and report how often the qubits agree.

Nothing here knows about tests: it takes a ``Client`` like any code would.
``test_bell_parity.py`` beside it tests it offline with ``qibo_client.testing``.
"""

from __future__ import annotations

from qibo import Circuit, gates

from qibo_client import Client


def bell_circuit() -> Circuit:
    """Two qubits in (|00> + |11>)/sqrt(2), both measured."""
    circuit = Circuit(2)
    circuit.add(gates.H(0))
    circuit.add(gates.CNOT(0, 1))
    circuit.add(gates.M(0, 1))
    return circuit


def parity(counts: dict[str, int]) -> float:
    """<Z0 Z1> from two-bit counts: +1 when the qubits always agree, -1 when they never do."""
    total = sum(counts.values())
    if total == 0:
        raise ValueError("no shots were counted")
    agree = sum(n for bits, n in counts.items() if bits[0] == bits[1])
    return (2 * agree - total) / total


def measure_bell_parity(client: Client, *, device: str = "numpy", nshots: int = 1000) -> float:
    """Run the Bell circuit on ``device`` and return its parity.

    Raises ``RuntimeError`` naming the job when the job fails on the server.
    """
    job = client.run_circuit(bell_circuit(), device=device, nshots=nshots)
    result = job.result(verbose=False)
    if result is None:
        raise RuntimeError(
            f"job {job.pid} failed on {device}; its logs are in {job.results_folder}"
        )
    return parity(dict(result.frequencies()))
