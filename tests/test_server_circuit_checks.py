"""The static allow-list of gates, held against qibo's own gate classes.

The server checks submitted circuits without importing qibo
(``server/circuit_checks.py``); these tests make sure its table matches the
installed qibo: every allowed class exists and is a user gate, every user
gate qibo adds is either allowed or excluded with a reason, and what qibo
writes with ``Circuit.raw`` passes the checks and is rebuilt by qibo.
"""

from __future__ import annotations

import contextlib
import inspect
import json
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from qibo import Circuit, gates
from qibo.gates.abstract import GATES_CONTROLLED_BY_DEFAULT, Gate, SpecialGate
from qibo.gates.channels import Channel

from qibo_client.server.circuit_checks import (
    EXCLUDED_GATES,
    USER_GATES,
    UnsafeCircuit,
    check_qasm,
    check_raw_circuit,
)

MODULES = (gates.gates, gates.measurements)


def qibo_gate_classes() -> dict[str, type]:
    """The Gate classes the two modules ``Gate.from_dict`` searches define themselves."""
    found = {}
    for module in MODULES:
        for name, value in vars(module).items():
            own = inspect.isclass(value) and value.__module__.startswith("qibo.gates")
            if own and issubclass(value, Gate) and not name.startswith("_"):
                found[name] = value
    return found


def sample_gate(name: str, qubits: int = 3) -> Gate:
    """One instance of an allowed gate, built with qibo's own API."""
    spec = USER_GATES[name]
    cls = getattr(gates, name)
    if name == "GeneralizedRBS":
        return cls([0], [1], theta=0.3)
    if name == "M":
        return cls(0, 1, register_name="m", basis=["X", "Z"], p0=0.1)
    count = spec.qubits or max(spec.min_qubits, 2)
    params = {key: 0.1 * (i + 1) for i, key in enumerate(spec.params)}
    return cls(*range(count), **params)


def test_every_allowed_class_is_a_user_gate_of_qibo():
    classes = qibo_gate_classes()
    for name in USER_GATES:
        assert name in classes, f"{name} is no longer a gate of qibo"
        assert not issubclass(classes[name], SpecialGate)
        assert "callback" not in inspect.signature(classes[name].__init__).parameters


def test_every_gate_of_qibo_is_allowed_or_excluded_with_a_reason():
    classes = qibo_gate_classes()
    channels = {name for name, cls in classes.items() if issubclass(cls, Channel)}
    undecided = set(classes) - set(USER_GATES) - set(EXCLUDED_GATES) - channels
    assert undecided == set(), "decide whether users may send these gates"
    assert not channels & set(USER_GATES)


@pytest.mark.parametrize("name", sorted(USER_GATES))
def test_controls_are_read_exactly_where_qibo_reads_them(name):
    gate = sample_gate(name)
    if name != "M":
        assert USER_GATES[name].reads_controls == (gate.name not in GATES_CONTROLLED_BY_DEFAULT)


@pytest.mark.parametrize("name", sorted(USER_GATES))
def test_what_qibo_writes_for_each_allowed_gate_passes_and_rebuilds(name):
    circuit = Circuit(3)
    circuit.add(sample_gate(name))
    raw = json.loads(json.dumps(circuit.raw))
    facts = check_raw_circuit(raw, max_gates=10)
    assert (facts.nqubits, facts.gates) == (3, len(raw["queue"]))
    rebuilt = Circuit.from_dict(raw)
    assert [g.__class__.__name__ for g in rebuilt.queue][-1] == name


# -- random circuits built with qibo: what qibo writes, the checks accept --------------------

ONE_QUBIT = sorted(n for n, s in USER_GATES.items() if s.qubits == 1 and n != "Align")


@st.composite
def qibo_circuits(draw: Any) -> Circuit:
    nqubits = draw(st.integers(1, 5))
    circuit = Circuit(nqubits, density_matrix=draw(st.booleans()))
    for _ in range(draw(st.integers(0, 8))):
        name = draw(st.sampled_from(sorted(USER_GATES)))
        spec = USER_GATES[name]
        if name in ("M", "GeneralizedRBS", "Align") or max(spec.qubits, spec.min_qubits) > nqubits:
            continue
        count = spec.qubits or draw(st.integers(spec.min_qubits, nqubits))
        qubits = draw(st.permutations(range(nqubits)))[:count]
        angles = {k: draw(st.floats(-7, 7)) for k in spec.params}
        gate = getattr(gates, name)(*qubits, **angles)
        free = [q for q in range(nqubits) if q not in qubits]
        if spec.reads_controls and free and draw(st.booleans()):
            # some of qibo's gates cannot be controlled (U1q with one control raises)
            with contextlib.suppress(Exception):
                gate = gate.controlled_by(*free[: draw(st.integers(1, len(free)))])
        circuit.add(gate)
    if draw(st.booleans()):
        circuit.add(gates.M(*range(nqubits)))
    return circuit


@settings(max_examples=150, deadline=None)
@given(circuit=qibo_circuits())
def test_circuits_written_by_qibo_pass_the_checks_and_qibo_rebuilds_them(circuit):
    raw = json.loads(json.dumps(circuit.raw))
    facts = check_raw_circuit(raw, max_gates=100)
    assert facts.gates == len(raw["queue"])
    assert Circuit.from_dict(raw).nqubits == circuit.nqubits


def test_an_openqasm_text_written_by_qibo_passes():
    circuit = Circuit(3)
    circuit.add(gates.U3(0, 0.1, 0.2, 0.3))
    circuit.add(gates.RX(1, 2.5))
    circuit.add(gates.CNOT(0, 2))
    circuit.add(gates.M(0, 1, 2))
    facts = check_qasm(circuit.to_qasm(), max_gates=100)
    assert facts.nqubits == 3


@pytest.mark.parametrize(
    ("raw", "said"),
    [
        ({"nqubits": 0, "density_matrix": False, "queue": []}, "'nqubits'"),
        ({"nqubits": True, "density_matrix": False, "queue": []}, "'nqubits'"),
        ({"nqubits": 10**9, "density_matrix": False, "queue": []}, "'nqubits'"),
        ({"nqubits": 2, "queue": []}, "'density_matrix'"),
        ({"nqubits": 2, "density_matrix": False, "queue": {}}, "'queue'"),
        ({"nqubits": 2, "density_matrix": False, "queue": [], "wire_names": ["a"]}, "wire_names"),
        ({"nqubits": 2, "density_matrix": False, "queue": [[]]}, r"queue\[0\]"),
    ],
)
def test_malformed_circuits_are_refused_naming_where(raw, said):
    with pytest.raises(UnsafeCircuit, match=said):
        check_raw_circuit(raw, max_gates=10)
