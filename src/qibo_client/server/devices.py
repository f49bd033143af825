"""Devices that mirror the Qibo cloud's: aliases of its device names, and emulated chips.

An **alias** gives a device a second name, so a script written for the cloud
runs here unchanged: by default ``sim``, the name the Qibo cloud and
qibo-client's published documentation give the cloud's simulator
(``client.run_circuit(circuit, device="sim")``), runs on ``numpy``.

An **emulated chip** is a device defined by a chip file
(:mod:`qibo_client.server.chip_files`). A worker transpiles a circuit
to the chip with qibo's transpiler and runs it with the chip's noise on a
density matrix (:mod:`qibo_client.server.emulator`); a ``verbatim`` circuit
must already fit, which :func:`chip_refusal` checks at submission, as data,
without qibo. ``docs/guide/local-server.md`` shows how a lab adds its own chip.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Mapping, Sequence
from pathlib import Path

from qibo_client.server.chip_files import Chip
from qibo_client.server.circuit_checks import USER_GATES

#: Cloud device names offered here by default, and the device each one runs on.
DEFAULT_ALIASES: Mapping[str, str] = {"sim": "numpy"}
#: Gates applied in software (a frame change), so without gate error or gate time.
VIRTUAL_GATES = frozenset({"I", "Z", "RZ"})
#: The ``backend`` a chip device hands its worker starts with this, then the chip as JSON.
EMULATOR_PREFIX = "emulator:"
#: A transpiled circuit larger than this (bytes of JSON) is not kept with its job.
MAX_TRANSPILED_BYTES = 4 * 1024 * 1024
TRANSPILED_SUFFIX = ".transpiled.json"


def alias_description(alias: str, target: str, description: str) -> str:
    """The partition description of an alias, so ``print_quota_info`` says what it is."""
    return f"{description} (alias of {target})"


# -- what a device hands its worker -------------------------------------------------------


def emulator_backend(chip: Chip) -> str:
    """The ``backend`` a chip device gives its worker: the chip itself, so a job runs on the
    chip the server was configured with (also one queued before a restart)."""
    return EMULATOR_PREFIX + chip.to_json()


def chip_of_backend(backend: str) -> Chip | None:
    """The chip a worker task's ``backend`` carries, ``None`` for a plain qibo backend."""
    if not backend.startswith(EMULATOR_PREFIX):
        return None
    return Chip.from_json(backend[len(EMULATOR_PREFIX) :])


# -- verbatim circuits --------------------------------------------------------------------


def physical_qubits(wire_names: object, nqubits: int, chip: Chip) -> list[int] | str:
    """The chip qubit each of a circuit's qubits is, from its ``wire_names`` (qibo: the
    physical names); a reason when they do not name the chip's qubits."""
    if wire_names is None:
        return list(range(nqubits))
    if not isinstance(wire_names, Sequence) or isinstance(wire_names, str):
        return "its wire_names are not a list"
    physical: list[int] = []
    for name in wire_names:
        text = str(name)
        index = int(text) if text.isdecimal() else -1
        if not 0 <= index < chip.qubits:
            return (
                f"its wire_names name qubit {text[:40]!r}, which chip {chip.name!r} lacks "
                f"(its qubits are 0 to {chip.qubits - 1})"
            )
        physical.append(index)
    return physical


def misfit(circuit: object, chip: Chip) -> str | None:
    """Why ``circuit`` (a ``circuit.raw`` already checked by
    :mod:`~qibo_client.server.circuit_checks`) cannot run on ``chip`` as written, or
    ``None`` when it can: every gate native, every two-qubit gate on coupled qubits."""
    if not isinstance(circuit, Mapping):
        return "it is OpenQASM text; send the circuit as circuit.raw (a qibo Circuit)"
    nqubits = int(circuit["nqubits"])
    physical = physical_qubits(circuit.get("wire_names"), nqubits, chip)
    if isinstance(physical, str):
        return physical
    natives = set(chip.native_gates)
    for index, gate in enumerate(circuit["queue"]):
        name = gate["_class"]
        where = f"queue[{index}] ({name})"
        if name not in natives:
            return f"{where} is not native; chip {chip.name!r} runs {', '.join(chip.native_gates)}"
        spec = USER_GATES[name]
        args = list(gate["init_args"])
        qubits = args if name in ("M", "I") else args[: spec.qubits]
        if spec.reads_controls and gate.get("_control_qubits"):
            return f"{where} is controlled (controlled_by); only native gates run verbatim"
        if name not in ("M", "I") and len(qubits) == 2:
            a, b = (physical[q] for q in qubits)
            if not chip.coupled(a, b):
                return (
                    f"{where} acts on qubits {a} and {b}, which are not coupled on chip "
                    f"{chip.name!r} (couplings: {', '.join(f'{x}-{y}' for x, y in chip.couplings)})"
                )
    return None


def chip_refusal(circuit: object, verbatim: bool, device: str, chip: Chip) -> str | None:
    """Why a submission to a chip device is refused, or ``None``. A verbatim circuit must
    fit the chip as written; any circuit's ``wire_names`` must name the chip's qubits."""
    if verbatim:
        reason = misfit(circuit, chip)
        if reason is not None:
            return (
                f"a verbatim circuit must run on device {device!r} as written, but {reason}; "
                "send it with verbatim=False to have it transpiled"
            )
        return None
    if isinstance(circuit, Mapping):
        physical = physical_qubits(circuit.get("wire_names"), int(circuit["nqubits"]), chip)
        if isinstance(physical, str):
            return f"the circuit cannot run on device {device!r}: {physical}"
    return None


# -- the transpiled circuit a job keeps ---------------------------------------------------


def transpiled_path(results_dir: Path, pid: str) -> Path:
    """Where a job's transpiled circuit is kept: beside its result archive."""
    return results_dir / f"{pid}{TRANSPILED_SUFFIX}"


def save_transpiled(results_dir: Path, pid: str, text: object) -> None:
    """Keep a job's transpiled circuit beside its archive (readable by the server only)."""
    if not isinstance(text, str) or len(text) > MAX_TRANSPILED_BYTES:
        return
    path = transpiled_path(results_dir, pid)
    with contextlib.suppress(OSError):
        descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(descriptor, "w", encoding="utf-8") as handle:
            handle.write(text)


def load_transpiled(results_dir: Path, pid: str) -> str | None:
    """A job's transpiled circuit (``Circuit.raw`` JSON), ``None`` if it kept none."""
    try:
        return transpiled_path(results_dir, pid).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError):
        return None


def forget_transpiled(results_dir: Path, pid: str) -> None:
    """Remove a deleted job's transpiled circuit."""
    with contextlib.suppress(OSError):
        transpiled_path(results_dir, pid).unlink()
