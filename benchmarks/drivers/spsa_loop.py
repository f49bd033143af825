"""The variational loop both sides run: the same ansatz, the same cost, the same SPSA steps.

Standard library only. ``ours_task.py`` builds the circuits in qibo and runs
them through ``local://`` (and in qibo directly); ``braket_task.py`` builds
them in Braket and runs them on its ``LocalSimulator``. Each iteration is one
SPSA step: the cost at two perturbed parameter sets, so two sampling jobs.
"""

from __future__ import annotations

import math
import random
import time
from collections.abc import Callable, Mapping, Sequence
from typing import Any

#: One gate of the ansatz: ``("ry", qubit, parameter index)`` or ``("cz", qubit, qubit)``.
Gate = tuple[str, int, int]


def ansatz(nqubits: int, layers: int) -> list[Gate]:
    """``layers`` of an RY on every qubit then a chain of CZs; measured on every qubit."""
    gates: list[Gate] = []
    for layer in range(layers):
        gates += [("ry", qubit, layer * nqubits + qubit) for qubit in range(nqubits)]
        gates += [("cz", qubit, qubit + 1) for qubit in range(nqubits - 1)]
    return gates


def parameter_count(gates: Sequence[Gate]) -> int:
    return 1 + max((index for name, _, index in gates if name == "ry"), default=-1)


def cost(counts: Mapping[str, int]) -> float:
    """The sum of <Z_i Z_i+1> over neighbours, estimated from counts (bit strings, qubit 0 first)."""
    total = sum(counts.values())
    energy = 0.0
    for bits, count in counts.items():
        energy += count * sum(1 if bits[i] == bits[i + 1] else -1 for i in range(len(bits) - 1))
    return energy / total


def run(
    evaluate: Callable[[list[float]], Mapping[str, int]],
    nparams: int,
    iterations: int,
    seed: int = 11,
) -> dict[str, Any]:
    """SPSA for ``iterations`` steps; each step's wall time and the last step's mean cost.

    ``evaluate(parameters)`` runs the ansatz with those angles and returns its counts.
    """
    rng = random.Random(seed)
    theta = [rng.uniform(0.0, math.pi) for _ in range(nparams)]
    steps: list[float] = []
    last = 0.0
    for k in range(iterations):
        started = time.perf_counter()
        a, c = 0.3 / (k + 1) ** 0.602, 0.2 / (k + 1) ** 0.101
        delta = [rng.choice((-1.0, 1.0)) for _ in range(nparams)]
        plus = cost(evaluate([t + c * d for t, d in zip(theta, delta, strict=True)]))
        minus = cost(evaluate([t - c * d for t, d in zip(theta, delta, strict=True)]))
        gradient = (plus - minus) / (2 * c)
        theta = [t - a * gradient * d for t, d in zip(theta, delta, strict=True)]
        last = (plus + minus) / 2
        steps.append(time.perf_counter() - started)
    return {"steps": steps, "cost": last}
