"""Write small genuine qibo result files for the loader tests.

Run it once with each numpy major version; each run writes
``<case>-np<major>.npy`` beside this script with qibo's own ``dump``:

    .venv/bin/python tests/data/results/make_fixtures.py          # numpy 2.x, qibo 0.3
    python3.11 -m venv /tmp/np1
    /tmp/np1/bin/pip install "numpy<2" "qibo<0.3"                  # numpy 1.26, qibo 0.2.16
    /tmp/np1/bin/python tests/data/results/make_fixtures.py

The files are committed; regenerating them is only needed when qibo's format changes.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import qibo
from qibo import Circuit, gates
from qibo.backends import construct_backend
from qibo.result import MeasurementOutcomes

HERE = Path(__file__).resolve().parent


def bell(nqubits: int = 3, **kwargs: object) -> Circuit:
    circuit = Circuit(nqubits, **kwargs)
    circuit.add(gates.H(0))
    circuit.add(gates.CNOT(0, 1))
    circuit.add(gates.RY(2, theta=0.3))
    return circuit


def cases() -> dict[str, object]:
    qibo.set_backend("numpy")
    np.random.seed(1234)
    results: dict[str, object] = {}

    results["state_vector"] = bell()()

    measured = bell()
    measured.add(gates.M(0, 1, 2))
    results["circuit_probabilities"] = measured(nshots=64)

    sampled = bell()
    sampled.add(gates.M(0, 1, register_name="ab"))
    sampled.add(gates.M(2, basis="X"))
    result = sampled(nshots=32)
    result.samples()  # so the dump holds the samples, not only probabilities
    results["circuit_samples"] = result

    numpy_backend = construct_backend("numpy")
    outcomes_circuit = bell()
    outcomes_circuit.add(gates.M(0, 2))
    samples = np.array([[0, 1], [1, 1], [0, 0], [1, 0], [1, 1]], dtype=np.int64)
    results["outcomes_samples"] = MeasurementOutcomes(
        outcomes_circuit.measurements, backend=numpy_backend, samples=samples, nshots=len(samples)
    )
    results["outcomes_probabilities"] = MeasurementOutcomes(
        outcomes_circuit.measurements,
        backend=numpy_backend,
        probabilities=np.array([0.5, 0.25, 0.125, 0.125]),
        nshots=100,
    )

    density = bell(density_matrix=True)
    density.add(gates.DepolarizingChannel((1,), 0.1))
    results["density_matrix"] = density()

    return results


def main() -> None:
    major = int(np.__version__.split(".")[0])
    for name, result in cases().items():
        path = HERE / f"{name}-np{major}.npy"
        result.dump(str(path))
        print(f"{path.name}: {type(result).__name__}, {path.stat().st_size} bytes")


if __name__ == "__main__":
    main()
