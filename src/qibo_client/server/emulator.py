"""Running a circuit on an emulated chip, in a worker: transpile, add the chip's noise, run.

A circuit that already fits the chip (native gates, two-qubit gates on
coupled qubits: :func:`~qibo_client.server.devices.misfit`) runs as written;
any other is transpiled with qibo's transpiler (``Preprocessing``, ``Sabre``
routing, ``Unroller`` to the native gates). Either way it is then written on
the chip's qubits, ``q[i]`` being chip qubit ``i``: that circuit, as
``Circuit.raw`` JSON, is the job's ``transpiled_circuit``.

The noise uses qibo's noise models (:class:`qibo.noise.NoiseModel`) the way
qibo's ``IBMQNoiseModel`` does: after every one-qubit gate that is not virtual
(``I``, ``Z``, ``RZ``), a depolarizing channel of ``2r`` (``r`` the qubit's
average gate infidelity) and thermal relaxation for the gate's time (T1, T2);
after every two-qubit gate, a depolarizing channel of ``4r/3`` on the pair and
thermal relaxation of both qubits. Readout error is each measurement's
bit-flip probabilities (``gates.M(p0=, p1=)``): qibo 0.3's ``IBMQNoiseModel``
puts a readout channel before a measurement once per qubit and repeats the
measurement, which loses the result of a measurement of several qubits. The
relaxation a gate's infidelity already contains is not taken out of it, so the
noise errs on the strong side. The circuit runs on a density matrix.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from qibo_client.server.chip_files import Chip
from qibo_client.server.devices import VIRTUAL_GATES, misfit, physical_qubits

#: Nanoseconds per microsecond: gate times are in ns, T1 and T2 in µs.
NS_PER_US = 1000.0


def run_on_chip(circuit: Any, submitted: dict[str, Any] | str, chip: Chip) -> tuple[Any, str]:
    """The noisy density-matrix circuit to run for ``circuit`` (rebuilt from ``submitted``),
    and the transpiled circuit as ``Circuit.raw`` JSON."""
    import qibo

    qibo.get_backend().set_seed(chip.seed)
    placed = _on_chip(circuit, submitted, chip)
    transpiled = json.dumps(placed.raw, separators=(",", ":"), default=_plain)
    return _noisy(placed, chip), transpiled


def _plain(value: Any) -> Any:
    """A numpy scalar (a gate's angle) as a Python number, for JSON."""
    return value.item() if hasattr(value, "item") else str(value)


def _on_chip(circuit: Any, submitted: dict[str, Any] | str, chip: Chip) -> Any:
    """``circuit`` on all of the chip's qubits, qubit ``i`` being chip qubit ``i``."""
    from qibo import Circuit

    physical = physical_qubits(circuit.wire_names, circuit.nqubits, chip)
    if isinstance(physical, str):
        raise ValueError(f"the circuit does not fit chip {chip.name!r}: {physical}")
    circuit.wire_names = physical
    if misfit(submitted, chip) is not None:
        circuit = _transpile(circuit, chip)
    mapping = dict(enumerate(int(name) for name in circuit.wire_names))
    placed = Circuit(chip.qubits, wire_names=list(range(chip.qubits)))
    for gate in circuit.queue:
        if gate.name == "measure":
            placed.add(_measurement(gate, mapping, chip, bitflips=False))
        else:
            placed.add(gate.on_qubits(mapping))
    return placed


def _transpile(circuit: Any, chip: Chip) -> Any:
    """qibo's transpiler: the circuit placed on its wire names, routed, in native gates."""
    import networkx as nx
    from qibo.transpiler import NativeGates, Passes, Preprocessing, Sabre, Unroller

    connectivity = nx.Graph()
    connectivity.add_nodes_from(range(chip.qubits))
    connectivity.add_edges_from(chip.couplings)
    natives = NativeGates.from_gatelist([_gate_class(name) for name in chip.native_gates])
    passes = Passes(
        connectivity=connectivity,
        passes=[Preprocessing(), Sabre(seed=chip.seed), Unroller(natives)],
    )
    transpiled, _ = passes(circuit)
    return transpiled


def _gate_class(name: str) -> Any:
    from qibo import gates

    return getattr(gates, name)


def _measurement(gate: Any, mapping: dict[int, int], chip: Chip, *, bitflips: bool) -> Any:
    """``gate`` on the chip's qubits, in the Z basis (its basis gates are already in the
    queue), with the chip's readout error added to its own bit flips when asked."""
    from qibo import gates

    qubits = [mapping[q] for q in gate.target_qubits]
    kwargs: dict[str, Any] = {"register_name": gate.register_name, "collapse": gate.collapse}
    own_p0, own_p1 = _bitflips(gate, mapping)
    if bitflips:
        own_p0 = {q: _either(own_p0.get(q, 0.0), chip.readout_error[q][0]) for q in qubits}
        own_p1 = {q: _either(own_p1.get(q, 0.0), chip.readout_error[q][1]) for q in qubits}
    if any(own_p0.values()) or any(own_p1.values()):
        # lists, not dicts: a result's JSON turns dict keys into strings qibo cannot read back
        kwargs.update(
            p0=[own_p0.get(q, 0.0) for q in qubits], p1=[own_p1.get(q, 0.0) for q in qubits]
        )
    return gates.M(*qubits, **kwargs)


def _bitflips(gate: Any, mapping: dict[int, int]) -> tuple[dict[int, float], dict[int, float]]:
    p0, p1 = getattr(gate, "bitflip_map", None) or ({}, {})
    return (
        {mapping.get(q, q): float(p) for q, p in p0.items()},
        {mapping.get(q, q): float(p) for q, p in p1.items()},
    )


def _either(first: float, second: float) -> float:
    """The chance that exactly one of two independent flips happens: the bit ends flipped."""
    return first * (1 - second) + second * (1 - first)


def _noisy(placed: Any, chip: Chip) -> Any:
    """``placed`` on a density matrix, with the chip's gate noise and readout error."""
    from qibo import Circuit
    from qibo.noise import DepolarizingError, NoiseModel, ThermalRelaxationError

    identity = {q: q for q in range(chip.qubits)}
    dense = Circuit(chip.qubits, density_matrix=True, wire_names=list(range(chip.qubits)))
    for gate in placed.queue:
        if gate.name == "measure":
            dense.add(_measurement(gate, identity, chip, bitflips=True))
        else:
            dense.add(gate)

    def one_qubit(gate: Any) -> bool:
        return len(gate.qubits) == 1 and type(gate).__name__ not in VIRTUAL_GATES

    def two_qubit(gate: Any) -> bool:
        return len(gate.qubits) == 2

    def on_pair(a: int, b: int) -> Callable[[Any], bool]:
        return lambda gate: set(gate.qubits) == {a, b}

    model = NoiseModel()
    for q in range(chip.qubits):
        t1, t2 = chip.t1_us[q] * NS_PER_US, chip.t2_us[q] * NS_PER_US
        if chip.one_qubit_gate_error[q]:
            lam = 2 * chip.one_qubit_gate_error[q]
            model.add(DepolarizingError(lam), qubits=q, conditions=one_qubit)
        model.add(
            ThermalRelaxationError(t1, t2, chip.one_qubit_gate_ns), qubits=q, conditions=one_qubit
        )
        model.add(
            ThermalRelaxationError(t1, t2, chip.two_qubit_gate_ns), qubits=q, conditions=two_qubit
        )
    for (a, b), error in zip(chip.couplings, chip.two_qubit_gate_error, strict=True):
        if error:
            lam = 4 * error / 3
            model.add(DepolarizingError(lam), qubits=(a, b), conditions=[two_qubit, on_pair(a, b)])
    return model.apply(dense)
