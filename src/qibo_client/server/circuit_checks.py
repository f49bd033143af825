"""Submitted circuits checked as untrusted data, before qibo sees them.

qibo's ``Circuit.from_dict`` looks a gate's ``_class`` up with ``getattr`` on
its gates module and calls whatever it finds with the submitted arguments
(``__setattr__``, ``product``, ``exp``...), and ``gates.M`` does the same with
each ``basis`` name. So every queue entry is checked here against an
allow-list of the gates a user writes (:data:`USER_GATES`), with the type and
size of each argument, qubit indices below ``nqubits`` and a bound on the
number of gates. OpenQASM text gets a cheaper look: its declared qubits, its
statement count, and gate arguments that are numbers and ``pi`` arithmetic
(qibo's QASM reader ``eval``\\ s them).

Pure Python: no qibo import. ``tests/test_server_circuit_checks.py`` holds the
static table against qibo's own gate classes.
"""

from __future__ import annotations

import builtins
import keyword
import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from qibo_client.protocol.objects import qasm_qubit_count

#: The most qubits any circuit may declare, whatever the device (each device has its own, lower, limit).
MAX_ANY_QUBITS = 1024
#: The most qubits a gate that builds its matrix from its qubit count may act on.
MAX_MATRIX_GATE_QUBITS = 8
MAX_NAME_CHARS = 64
#: The largest magnitude of a gate parameter.
MAX_PARAMETER = 1e12
#: OpenQASM gate arguments: the longest argument list, and the longest number in it.
MAX_QASM_ARGUMENT_CHARS = 1024
MAX_QASM_NUMBER_CHARS = 32
#: Measurement bases qibo resolves by name: only the Pauli gates.
MEASUREMENT_BASES = frozenset({"X", "Y", "Z"})


class UnsafeCircuit(ValueError):
    """A circuit refused before qibo saw it; the message says where and what is wrong."""


@dataclass(frozen=True)
class GateSpec:
    """What a gate's ``init_args``/``init_kwargs`` may hold.

    ``qubits`` positional qubit indices (0: any number, at least
    ``min_qubits``); ``params`` the angles it needs (given by keyword, as
    ``Gate.raw`` writes them, or positionally after the qubits); ``optional``
    the keywords it may have besides; ``reads_controls``: qibo applies
    ``_control_qubits`` with ``controlled_by`` (False for gates controlled by
    definition, e.g. CNOT, whose controls are among their qubits).
    """

    qubits: int
    params: tuple[str, ...] = ()
    optional: tuple[str, ...] = ()
    reads_controls: bool = True
    min_qubits: int = 1


def _fixed(qubits: int, *params: str, reads_controls: bool = True) -> GateSpec:
    optional = ("trainable",) if params else ()
    return GateSpec(qubits, params, optional, reads_controls)


_ONE = ("H", "X", "Y", "Z", "S", "SDG", "T", "TDG", "SX", "SXDG")
_TWO = ("SWAP", "iSWAP", "SiSWAP", "SiSWAPDG", "FSWAP", "ECR", "SYC")
_CONTROLLED_TWO = ("CNOT", "CY", "CZ", "CH", "CSX", "CSXDG")

#: The gate classes a submitted ``circuit.raw`` may name, by ``_class``.
USER_GATES: Mapping[str, GateSpec] = {
    **{name: _fixed(1) for name in _ONE},
    **{name: _fixed(2) for name in _TWO},
    **{name: _fixed(2, reads_controls=False) for name in _CONTROLLED_TWO},
    "TOFFOLI": _fixed(3, reads_controls=False),
    "CCZ": _fixed(3, reads_controls=False),
    "I": GateSpec(0),
    "FanOut": GateSpec(0, reads_controls=False, min_qubits=2),
    "Align": GateSpec(1, (), ("delay", "trainable")),
    **{name: _fixed(1, "theta") for name in ("RX", "RY", "RZ", "U1")},
    "U2": _fixed(1, "phi", "lam"),
    "U3": _fixed(1, "theta", "phi", "lam"),
    "GPI": _fixed(1, "phi"),
    "GPI2": _fixed(1, "phi"),
    "PRX": _fixed(1, "theta", "phi"),
    "U1q": _fixed(1, "theta", "phi"),
    **{name: _fixed(2, "theta", reads_controls=False) for name in ("CRX", "CRY", "CRZ", "CU1")},
    "CU2": _fixed(2, "phi", "lam", reads_controls=False),
    "CU3": _fixed(2, "theta", "phi", "lam", reads_controls=False),
    **{name: _fixed(2, "theta") for name in ("RXX", "RYY", "RZZ", "RZX", "RXXYY", "GIVENS", "RBS")},
    "fSim": _fixed(2, "theta", "phi"),
    "MS": GateSpec(2, ("phi0", "phi1"), ("theta", "trainable")),
    "DEUTSCH": _fixed(3, "theta", reads_controls=False),
    "GeneralizedRBS": GateSpec(0, ("theta",), ("phi", "trainable")),
    "M": GateSpec(0, (), ("register_name", "collapse", "basis", "p0", "p1")),
}

#: Gate classes of qibo's gates modules a submission may not name, and why.
EXCLUDED_GATES: Mapping[str, str] = {
    "Unitary": "its matrix does not survive Gate.raw (written as a numpy repr)",
    "GeneralizedfSim": "its matrix does not survive Gate.raw (written as a numpy repr)",
    "Multiplexor": "its angle array does not survive Gate.raw",
    "Gate": "abstract",
    "ParametrizedGate": "abstract",
    "SpecialGate": "abstract; special gates are not meant for users",
    "Channel": "noise channels are not run from a submission",
    "CallbackGate": "runs a callback: special, not meant for users",
    "FusedGate": "built by qibo's fusion, not by users",
    "Barrier": "special; drawn, never simulated",
}


@dataclass(frozen=True)
class CircuitFacts:
    """What the checks learnt: the size of the circuit, without building it."""

    nqubits: int
    density_matrix: bool
    gates: int
    measured_qubits: int


def _refuse(where: str, what: str) -> UnsafeCircuit:
    return UnsafeCircuit(
        f"the circuit was refused before qibo.Circuit.from_dict read it: {where}: {what}; "
        "send circuit.raw of a qibo Circuit"
    )


def _is_int(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _number(value: object, where: str) -> float:
    if _is_int(value) and abs(value) <= MAX_PARAMETER:  # type: ignore[arg-type]
        return float(value)  # type: ignore[arg-type]
    if isinstance(value, float) and math.isfinite(value) and abs(value) <= MAX_PARAMETER:
        return value
    raise _refuse(where, f"must be a finite number of magnitude at most {MAX_PARAMETER:g}")


def _qubit(value: object, nqubits: int, where: str) -> int:
    if not _is_int(value) or not 0 <= value < nqubits:  # type: ignore[operator]
        raise _refuse(where, f"must be a qubit index from 0 to {nqubits - 1}")
    return int(value)  # type: ignore[call-overload]


def _plain_qubits(values: Sequence[Any], nqubits: int) -> bool:
    """True when every value is a qubit index below ``nqubits`` (the common case, checked
    without building the messages a refusal needs)."""
    return all(type(q) is int and 0 <= q < nqubits for q in values)


def _qubit_list(value: object, nqubits: int, where: str, minimum: int = 0) -> list[int]:
    if not isinstance(value, list | tuple) or not minimum <= len(value) <= nqubits:
        raise _refuse(where, f"must be a list of {minimum} to {nqubits} qubit indices")
    if _plain_qubits(value, nqubits):
        return list(value)
    return [_qubit(q, nqubits, f"{where}[{i}]") for i, q in enumerate(value)]


def _distinct(qubits: list[int], where: str) -> None:
    if len(set(qubits)) != len(qubits):
        raise _refuse(where, f"names a qubit twice ({qubits})")


def check_raw_circuit(raw: object, *, max_gates: int) -> CircuitFacts:
    """Check a ``circuit.raw`` dict; its facts, or :class:`UnsafeCircuit` naming the first fault."""
    if not isinstance(raw, Mapping):
        raise _refuse("the circuit", "must be an object (circuit.raw)")
    nqubits = raw.get("nqubits")
    if not _is_int(nqubits) or not 1 <= nqubits <= MAX_ANY_QUBITS:  # type: ignore[operator]
        raise _refuse("'nqubits'", f"must be a whole number from 1 to {MAX_ANY_QUBITS}")
    assert isinstance(nqubits, int)
    density_matrix = raw.get("density_matrix")
    if not isinstance(density_matrix, bool):
        raise _refuse("'density_matrix'", "must be true or false")
    wire_names = raw.get("wire_names")
    if wire_names is not None:
        _check_wire_names(wire_names, nqubits)
    queue = raw.get("queue")
    if not isinstance(queue, list | tuple):
        raise _refuse("'queue'", "must be a list of gates (Gate.raw)")
    if len(queue) > max_gates:
        raise UnsafeCircuit(
            f"the circuit has {len(queue)} gates; this device takes at most {max_gates} "
            "gates per circuit (max_gates)"
        )
    measured = 0
    for index, gate in enumerate(queue):
        measured += _check_gate(gate, nqubits, f"queue[{index}]")
    return CircuitFacts(nqubits, density_matrix, len(queue), min(measured, nqubits))


def _check_wire_names(names: object, nqubits: int) -> None:
    if not isinstance(names, list | tuple) or len(names) != nqubits:
        raise _refuse("'wire_names'", f"must be null or a list of {nqubits} names")
    for i, name in enumerate(names):
        if not (_is_int(name) or isinstance(name, str)) or len(str(name)) > MAX_NAME_CHARS:
            raise _refuse(f"'wire_names'[{i}]", f"must be a string of at most {MAX_NAME_CHARS}")
    if len({str(n) for n in names}) != len(names):
        raise _refuse("'wire_names'", "names a wire twice")


def _check_gate(gate: object, nqubits: int, where: str) -> int:
    """Check one queue entry; the number of qubits it measures."""
    if not isinstance(gate, Mapping):
        raise _refuse(where, "must be an object (Gate.raw)")
    name = gate.get("_class")
    spec = USER_GATES.get(name) if isinstance(name, str) else None
    if spec is None:
        shown = repr(name)[:40]
        raise _refuse(f"{where}._class", f"{shown} is not a gate this server runs")
    args, kwargs = gate.get("init_args"), gate.get("init_kwargs")
    if not isinstance(args, list | tuple) or len(args) > nqubits + len(spec.params) + 1:
        raise _refuse(f"{where}.init_args", "must be a list of the gate's qubits")
    if not isinstance(kwargs, Mapping):
        raise _refuse(f"{where}.init_kwargs", "must be an object")
    if name == "M":
        return _check_measurement(gate, args, kwargs, nqubits, where)
    if name == "GeneralizedRBS":
        targets = _check_rbs(args, kwargs, nqubits, where)
    else:
        targets = _check_qubits_and_params(spec, args, kwargs, nqubits, where)
    controls: list[int] = []
    raw_controls = gate.get("_control_qubits")
    if spec.reads_controls or raw_controls is not None:
        controls = _qubit_list(raw_controls, nqubits, f"{where}._control_qubits")
    if spec.reads_controls:
        _distinct(targets + controls, f"{where}: the gate's qubits and controls")
    return 0


def _check_qubits_and_params(
    spec: GateSpec, args: Sequence[Any], kwargs: Mapping[str, Any], nqubits: int, where: str
) -> list[int]:
    count = spec.qubits or len(args)
    if count < spec.min_qubits or len(args) < count:
        raise _refuse(f"{where}.init_args", f"must start with {count or spec.min_qubits} qubits")
    head = args[:count]
    if _plain_qubits(head, nqubits):
        qubits = list(head)
    else:
        qubits = [_qubit(q, nqubits, f"{where}.init_args[{i}]") for i, q in enumerate(head)]
    _distinct(qubits, f"{where}.init_args")
    _check_params(spec, args[count:], kwargs, where)
    return qubits


def _check_params(
    spec: GateSpec, positional: Sequence[Any], kwargs: Mapping[str, Any], where: str
) -> None:
    """The angles (after the qubits, or by keyword) and the optional keywords of a gate."""
    if len(positional) > len(spec.params):
        raise _refuse(f"{where}.init_args", f"has {len(positional)} arguments after the qubits")
    given = dict(zip(spec.params, positional, strict=False))
    for key, value in kwargs.items():
        if key in given or key not in (*spec.params, *spec.optional):
            raise _refuse(f"{where}.init_kwargs", f"{str(key)[:40]!r} is not an argument here")
        given[key] = value
    for key in spec.params:
        if key not in given:
            raise _refuse(f"{where}.init_kwargs", f"the parameter {key!r} is missing")
    for key, value in given.items():
        if key == "trainable":
            if not isinstance(value, bool):
                raise _refuse(f"{where}.init_kwargs.trainable", "must be true or false")
        elif key == "delay":
            if not _is_int(value) or not 0 <= value <= 10**9:
                raise _refuse(f"{where}.init_kwargs.delay", "must be a whole number >= 0")
        elif type(value) is not float or not abs(value) <= MAX_PARAMETER:  # else: fine as it is
            _number(value, f"{where}.{key}")


def _check_rbs(
    args: Sequence[Any], kwargs: Mapping[str, Any], nqubits: int, where: str
) -> list[int]:
    if len(args) != 2:
        raise _refuse(f"{where}.init_args", "must be [qubits_in, qubits_out]")
    qubits_in = _qubit_list(args[0], nqubits, f"{where}.init_args[0]", minimum=1)
    qubits_out = _qubit_list(args[1], nqubits, f"{where}.init_args[1]", minimum=1)
    targets = qubits_in + qubits_out
    if len(targets) > MAX_MATRIX_GATE_QUBITS:
        raise _refuse(where, f"acts on more than {MAX_MATRIX_GATE_QUBITS} qubits")
    _distinct(targets, f"{where}.init_args")
    _check_params(USER_GATES["GeneralizedRBS"], [], kwargs, where)
    return targets


def _check_measurement(
    gate: Mapping[str, Any],
    args: Sequence[Any],
    kwargs: Mapping[str, Any],
    nqubits: int,
    where: str,
) -> int:
    qubits = _qubit_list(args, nqubits, f"{where}.init_args", minimum=1)
    _distinct(qubits, f"{where}.init_args")
    allowed = USER_GATES["M"].optional
    for key in kwargs:
        if key not in allowed:
            raise _refuse(f"{where}.init_kwargs", f"{str(key)[:40]!r} is not an argument of M")
    register = kwargs.get("register_name")
    if register is not None and (not isinstance(register, str) or len(register) > MAX_NAME_CHARS):
        raise _refuse(f"{where}.register_name", f"must be a string of at most {MAX_NAME_CHARS}")
    if not isinstance(kwargs.get("collapse", False), bool):
        raise _refuse(f"{where}.collapse", "must be true or false")
    basis = kwargs.get("basis", "Z")
    names = basis if isinstance(basis, list | tuple) else [basis]
    if isinstance(basis, list | tuple) and len(basis) != len(qubits):
        raise _refuse(f"{where}.basis", "must name one basis per measured qubit")
    if not all(isinstance(b, str) and b in MEASUREMENT_BASES for b in names):
        raise _refuse(f"{where}.basis", "must be 'X', 'Y' or 'Z' (or a list of them)")
    for key in ("p0", "p1"):
        _check_bitflip(kwargs.get(key), len(qubits), f"{where}.{key}")
    result = gate.get("measurement_result")
    if result is not None and (
        not isinstance(result, Mapping) or result.get("samples") is not None
    ):
        raise _refuse(f"{where}.measurement_result", 'must be {"samples": null} (no samples)')
    return len(qubits)


def _check_bitflip(value: object, count: int, where: str) -> None:
    if value is None:
        return
    values = value if isinstance(value, list | tuple) else [value]
    if isinstance(value, list | tuple) and len(value) != count:
        raise _refuse(where, "must give one probability per measured qubit")
    for item in values:
        if not 0 <= _number(item, where) <= 1:
            raise _refuse(where, "must be a probability from 0 to 1")


# -- OpenQASM -------------------------------------------------------------------------------

_QASM_COMMENTS = re.compile(r"//[^\n]*|/\*.*?\*/", re.DOTALL)
_QASM_STRINGS = re.compile(r'"[^"\n]*"')
_QASM_GATE_PARAMETERS = re.compile(r"\bgate\s+[A-Za-z_]\w*\s*\(([^()]*)\)")
_QASM_TOKEN = re.compile(
    r"\s*(?:(?P<number>(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?)|(?P<name>[A-Za-z_]\w*)"
    r"|(?P<op>[-+*/(),])|(?P<other>\S))"
)
_FORBIDDEN_PARAMETER_NAMES = frozenset(dir(builtins)) | frozenset(keyword.kwlist) | {"np"}


def check_qasm(text: str, *, max_gates: int) -> CircuitFacts:
    """Look at OpenQASM text without parsing it: qubits, statements, gate arguments.

    Gate arguments (the text between a gate's parentheses) may hold only
    numbers, ``pi``, the parameter names of the text's own ``gate``
    definitions, ``+ - * /``, commas and parentheses: qibo's QASM reader
    hands them to Python's ``eval``.
    """
    try:
        nqubits = qasm_qubit_count(text)
    except ValueError as error:
        raise UnsafeCircuit(str(error)) from None
    code = _QASM_STRINGS.sub('""', _QASM_COMMENTS.sub(" ", text))
    statements = code.count(";")
    if statements > max_gates + 2 * nqubits + 16:
        raise UnsafeCircuit(
            f"the OpenQASM circuit has {statements} statements; this device takes at most "
            f"{max_gates} gates per circuit (max_gates)"
        )
    declared = {"pi"}
    for group in _QASM_GATE_PARAMETERS.findall(code):
        for name in (part.strip() for part in group.split(",")):
            if name and (
                not re.fullmatch(r"[A-Za-z]\w{0,31}", name)
                or name in _FORBIDDEN_PARAMETER_NAMES
                or name.startswith("__")
            ):
                raise UnsafeCircuit(
                    f"the OpenQASM gate parameter name {name[:40]!r} is not allowed here; "
                    "use plain names such as theta"
                )
            declared.add(name)
    for argument in _qasm_argument_lists(code):
        _check_qasm_argument(argument, declared)
    return CircuitFacts(nqubits, False, statements, nqubits)


def _qasm_argument_lists(code: str) -> list[str]:
    """The text inside each outermost pair of parentheses."""
    found, depth, start = [], 0, 0
    for index, char in enumerate(code):
        if char == "(":
            if depth == 0:
                start = index + 1
            depth += 1
            if depth > 16:
                raise UnsafeCircuit("an OpenQASM gate argument nests parentheses too deeply")
        elif char == ")":
            depth -= 1
            if depth < 0:
                raise UnsafeCircuit("the OpenQASM text closes a parenthesis it never opened")
            if depth == 0:
                found.append(code[start:index])
    if depth:
        raise UnsafeCircuit("the OpenQASM text leaves a parenthesis open")
    return found


def _check_qasm_argument(argument: str, declared: set[str]) -> None:
    if len(argument) > MAX_QASM_ARGUMENT_CHARS:
        raise UnsafeCircuit(
            f"an OpenQASM gate argument list is longer than {MAX_QASM_ARGUMENT_CHARS} characters"
        )
    previous = ""
    for match in _QASM_TOKEN.finditer(argument):
        kind = match.lastgroup
        token = match.group(kind) if kind else ""
        bad = (
            kind == "other"
            or (kind == "number" and len(token) > MAX_QASM_NUMBER_CHARS)
            or (kind == "name" and token not in declared)
            or (token == "(" and previous not in ("", "op"))
            or (token == "*" and argument[match.end() :].lstrip().startswith("*"))
        )
        if bad:
            raise UnsafeCircuit(
                f"the OpenQASM gate argument {argument.strip()[:60]!r} is not plain arithmetic: "
                "use numbers, pi, + - * / and parentheses (and the parameters of your own "
                "gate definitions)"
            )
        previous = kind or ""
