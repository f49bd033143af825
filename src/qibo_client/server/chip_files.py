"""Emulated chips: what a chip file (TOML) says, read and checked before any job runs.

A chip is its qubits (numbered from 0), couplings, native gates and
calibration-style numbers: readout error, one- and two-qubit gate errors
(average gate infidelities, as randomized benchmarking measures them), T1, T2
and gate times. qibo-client ships a few chips (``chips/*.toml``); a lab names
its own chip file in ``server.toml`` (``docs/guide/local-server.md``). Pure
Python: the server reads chips without importing qibo.
"""

from __future__ import annotations

import json
import math
import tomllib
from collections.abc import Mapping
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

#: The chip files shipped with qibo-client (``<name>.toml``).
CHIPS_DIR = Path(__file__).parent / "chips"
#: The most qubits a chip may have: its noise is simulated on a 4^n density matrix.
MAX_CHIP_QUBITS = 10
#: Gates a chip may name as native: qibo's ``NativeGates`` (``qibo.transpiler.unroller``).
KNOWN_NATIVE_GATES = frozenset(
    {"I", "Z", "RZ", "M", "GPI2", "U3", "CZ", "iSWAP", "CNOT", "X", "Y", "H", "S", "SDG"}
    | {"T", "TDG", "SX", "SXDG", "RX", "RY", "PRX"}
)
TWO_QUBIT_NATIVE_GATES = frozenset({"CZ", "iSWAP", "CNOT"})


@dataclass(frozen=True)
class Chip:
    """A chip to emulate. Qubits are numbered ``0 .. qubits-1``; per-qubit numbers are in
    that order. Errors are probabilities: readout as ``(p(1|0), p(0|1))``, gate errors as
    average gate infidelities (what randomized benchmarking measures)."""

    name: str
    qubits: int
    couplings: tuple[tuple[int, int], ...]
    native_gates: tuple[str, ...]
    readout_error: tuple[tuple[float, float], ...]
    one_qubit_gate_error: tuple[float, ...]
    #: Per coupling ``(a, b)`` with ``a < b``, in the order of ``couplings``.
    two_qubit_gate_error: tuple[float, ...]
    t1_us: tuple[float, ...]
    t2_us: tuple[float, ...]
    one_qubit_gate_ns: float
    two_qubit_gate_ns: float
    description: str = ""
    #: Fixes the routing and the sampling of every job (for tests); ``None``: random.
    seed: int | None = None

    def coupled(self, a: int, b: int) -> bool:
        return (min(a, b), max(a, b)) in self.couplings

    def pair_error(self, a: int, b: int) -> float:
        return self.two_qubit_gate_error[self.couplings.index((min(a, b), max(a, b)))]

    def to_json(self) -> str:
        return json.dumps(asdict(self), separators=(",", ":"), sort_keys=True)

    @classmethod
    def from_json(cls, text: str) -> Chip:
        data = json.loads(text)
        return cls(
            **{
                **data,
                "couplings": tuple(tuple(p) for p in data["couplings"]),
                "native_gates": tuple(data["native_gates"]),
                "readout_error": tuple(tuple(p) for p in data["readout_error"]),
                **{
                    key: tuple(data[key])
                    for key in ("one_qubit_gate_error", "two_qubit_gate_error", "t1_us", "t2_us")
                },
            }
        )


def shipped_chips() -> list[str]:
    """The names of the chips that come with qibo-client."""
    return sorted(path.stem for path in CHIPS_DIR.glob("*.toml"))


def read_chip(reference: str, base: Path | None = None) -> Chip:
    """The chip a device's ``chip = ...`` names: a shipped chip's name, or a chip file's
    path (relative to ``base``, the server's data folder). ``ValueError`` saying what is
    wrong otherwise."""
    if not isinstance(reference, str) or not reference:
        raise ValueError("chip must name a chip file (or a chip shipped with qibo-client)")
    path = CHIPS_DIR / f"{reference}.toml"
    if reference not in shipped_chips():
        path = Path(reference).expanduser()
        if not path.is_absolute() and base is not None:
            path = base / path
        if not path.is_file():
            raise ValueError(
                f"chip {reference!r}: no such chip file ({path}); the chips shipped with "
                f"qibo-client are: {', '.join(shipped_chips())}"
            )
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as error:
        raise ValueError(f"chip file {path} is not valid TOML: {error}") from None
    try:
        return chip_from_table(data, path.stem)
    except ValueError as error:
        raise ValueError(f"chip file {path}: {error}") from None


_CHIP_KEYS = {
    "name",
    "description",
    "qubits",
    "couplings",
    "native_gates",
    "readout_error",
    "one_qubit_gate_error",
    "two_qubit_gate_error",
    "t1_us",
    "t2_us",
    "one_qubit_gate_ns",
    "two_qubit_gate_ns",
}


def chip_from_table(data: Mapping[str, Any], default_name: str) -> Chip:
    """A chip from a chip file's table; ``ValueError`` naming the first key that is wrong."""
    unknown = set(data) - _CHIP_KEYS
    if unknown:
        raise ValueError(f"unknown key(s) {', '.join(sorted(unknown))}")
    qubits = data.get("qubits")
    if (
        not isinstance(qubits, int)
        or isinstance(qubits, bool)
        or not 1 <= qubits <= MAX_CHIP_QUBITS
    ):
        raise ValueError(
            f"qubits must be a whole number from 1 to {MAX_CHIP_QUBITS} (an emulated chip's "
            "noise is simulated on a density matrix)"
        )
    couplings = _couplings(data.get("couplings", []), qubits)
    natives = data.get("native_gates")
    if not isinstance(natives, list) or not all(isinstance(g, str) for g in natives):
        raise ValueError("native_gates must be a list of qibo gate names, e.g. ['GPI2', 'CZ']")
    unknown_gates = set(natives) - KNOWN_NATIVE_GATES
    if unknown_gates:
        raise ValueError(
            f"native_gates: {', '.join(sorted(unknown_gates))} cannot be native; use "
            f"{', '.join(sorted(KNOWN_NATIVE_GATES))}"
        )
    if qubits > 1 and not TWO_QUBIT_NATIVE_GATES & set(natives):
        raise ValueError("native_gates must include a two-qubit gate: CZ, iSWAP or CNOT")
    t1 = _per_qubit(data, "t1_us", qubits, positive=True)
    t2 = _per_qubit(data, "t2_us", qubits, positive=True)
    for q in range(qubits):
        if t2[q] > 2 * t1[q]:
            raise ValueError(f"qubit {q}: t2_us ({t2[q]}) may be at most twice t1_us ({t1[q]})")
    return Chip(
        name=_text(data.get("name", default_name), "name"),
        description=_text(data.get("description", ""), "description"),
        qubits=qubits,
        couplings=couplings,
        native_gates=tuple(dict.fromkeys([*natives, "M"])),
        readout_error=_readout(data.get("readout_error", 0.0), qubits),
        one_qubit_gate_error=_per_qubit(data, "one_qubit_gate_error", qubits, probability=True),
        two_qubit_gate_error=_pair_errors(data.get("two_qubit_gate_error", 0.0), couplings),
        t1_us=t1,
        t2_us=t2,
        one_qubit_gate_ns=_positive(data.get("one_qubit_gate_ns"), "one_qubit_gate_ns"),
        two_qubit_gate_ns=_positive(data.get("two_qubit_gate_ns"), "two_qubit_gate_ns"),
    )


def _is_int(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _is_number(value: object) -> bool:
    return (_is_int(value) or isinstance(value, float)) and math.isfinite(value)  # type: ignore[arg-type]


def _text(value: object, key: str) -> str:
    if not isinstance(value, str) or len(value) > 200:
        raise ValueError(f"{key} must be a string of at most 200 characters")
    return value


def _positive(value: object, key: str) -> float:
    if not _is_number(value) or value <= 0:  # type: ignore[operator]
        raise ValueError(f"{key} must be a positive number")
    return float(value)  # type: ignore[arg-type]


def _probability(value: object, key: str) -> float:
    if not _is_number(value) or not 0 <= value <= 1:  # type: ignore[operator]
        raise ValueError(f"{key} must hold probabilities from 0 to 1, got {value!r}")
    return float(value)  # type: ignore[arg-type]


def _per_qubit(
    data: Mapping[str, Any],
    key: str,
    qubits: int,
    *,
    positive: bool = False,
    probability: bool = False,
) -> tuple[float, ...]:
    """One number per qubit; a single number stands for every qubit."""
    value = data.get(key, 0.0 if probability else None)
    values = value if isinstance(value, list) else [value] * qubits
    if len(values) != qubits:
        raise ValueError(f"{key} must give one number per qubit ({qubits}), or one for all")
    if positive:
        return tuple(_positive(v, key) for v in values)
    return tuple(_probability(v, key) for v in values)


def _readout(value: object, qubits: int) -> tuple[tuple[float, float], ...]:
    """Per qubit ``(p(1|0), p(0|1))``; a number is the same error both ways."""
    values = value if isinstance(value, list) else [value] * qubits
    if len(values) != qubits:
        raise ValueError(f"readout_error must give one entry per qubit ({qubits}), or one for all")
    result = []
    for entry in values:
        pair = entry if isinstance(entry, list) else [entry, entry]
        if len(pair) != 2:
            raise ValueError("readout_error: an entry is a probability or [p(1|0), p(0|1)]")
        result.append(
            (_probability(pair[0], "readout_error"), _probability(pair[1], "readout_error"))
        )
    return tuple(result)


def _couplings(value: object, qubits: int) -> tuple[tuple[int, int], ...]:
    if not isinstance(value, list):
        raise ValueError("couplings must be a list of qubit pairs, e.g. [[0, 1], [1, 2]]")
    pairs: list[tuple[int, int]] = []
    for pair in value:
        if (
            not isinstance(pair, list)
            or len(pair) != 2
            or not all(_is_int(q) and 0 <= q < qubits for q in pair)
            or pair[0] == pair[1]
        ):
            raise ValueError(
                f"couplings: {pair!r} is not a pair of two qubits from 0 to {qubits - 1}"
            )
        key = (min(pair), max(pair))
        if key not in pairs:
            pairs.append(key)
    reached, frontier = {0}, [0]
    while frontier:
        q = frontier.pop()
        for a, b in pairs:
            for near in (b,) if a == q else (a,) if b == q else ():
                if near not in reached:
                    reached.add(near)
                    frontier.append(near)
    if len(reached) != qubits:
        raise ValueError("couplings must connect every qubit (qibo's transpiler needs that)")
    return tuple(pairs)


def _pair_errors(value: object, couplings: tuple[tuple[int, int], ...]) -> tuple[float, ...]:
    """Per coupling; a number for all of them, or a table ``{"0-2" = 0.03, ...}``."""
    if not isinstance(value, Mapping):
        return tuple(_probability(value, "two_qubit_gate_error") for _ in couplings)
    errors: dict[tuple[int, int], float] = {}
    for key, error in value.items():
        try:
            a, b = (int(part) for part in str(key).split("-"))
        except ValueError:
            raise ValueError(f'two_qubit_gate_error: {key!r} is not a pair such as "0-2"') from None
        if (min(a, b), max(a, b)) not in couplings:
            raise ValueError(f"two_qubit_gate_error: qubits {key} are not coupled")
        errors[(min(a, b), max(a, b))] = _probability(error, "two_qubit_gate_error")
    missing = [f"{a}-{b}" for a, b in couplings if (a, b) not in errors]
    if missing:
        raise ValueError(f"two_qubit_gate_error: no error for {', '.join(missing)}")
    return tuple(errors[pair] for pair in couplings)
