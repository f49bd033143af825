"""Reading a circuit from a file: a Python script, a JSON ``circuit.raw``, or OpenQASM."""

from __future__ import annotations

import json
import runpy
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from qibo_client.cli.errors import UsageError

SUFFIXES = (".py", ".json", ".qasm")


def load_circuit(filename: str) -> Any:
    """The circuit ``filename`` holds: a qibo ``Circuit``, or a ``circuit.raw`` dict.

    A ``.py`` file runs in a fresh namespace (not as ``__main__``, so its
    ``if __name__ == "__main__":`` block is skipped) and must set ``circuit``.
    Any problem with the file is a :class:`UsageError` naming it.
    """
    path = Path(filename)
    if not path.exists():
        raise UsageError(f"{filename}: no such file")
    if not path.is_file():
        raise UsageError(f"{filename}: not a file")
    suffix = path.suffix.lower()
    if suffix == ".py":
        return _from_script(path)
    if suffix == ".json":
        return _from_json(path)
    if suffix == ".qasm":
        return _from_qasm(path)
    raise UsageError(
        f"{filename}: unknown circuit format {path.suffix or '(no extension)'!r}; use a .py "
        "that sets `circuit`, a .json of circuit.raw, or an OpenQASM .qasm"
    )


def _read_text(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8")
    except UnicodeDecodeError as error:
        raise UsageError(f"{path}: not UTF-8 text ({error.reason})") from None


def _from_script(path: Path) -> Any:
    folder = str(path.resolve().parent)
    sys.path.insert(0, folder)  # as `python FILE` would: the script may import its neighbours
    try:
        namespace = runpy.run_path(str(path), run_name="__qibo_client_circuit__")
    except SystemExit as stop:
        raise UsageError(
            f"{path} called exit({stop.code!r}) instead of defining `circuit`"
        ) from None
    except Exception as error:
        detail = f"{type(error).__name__}: {error}".rstrip(": ")
        raise UsageError(f"running {path} failed: {detail}") from error
    finally:
        if folder in sys.path:
            sys.path.remove(folder)
    if "circuit" not in namespace:
        raise UsageError(
            f"{path} defines no `circuit`: assign the qibo Circuit to run to a variable "
            "named `circuit`"
        )
    circuit = namespace["circuit"]
    if not isinstance(circuit, Mapping) and not hasattr(circuit, "raw"):
        raise UsageError(
            f"{path}: `circuit` is a {type(circuit).__name__}, not a qibo Circuit "
            "(or its .raw dict)"
        )
    return circuit


def _from_json(path: Path) -> dict[str, Any]:
    try:
        data = json.loads(_read_text(path))
    except json.JSONDecodeError as error:
        raise UsageError(f"{path}: not valid JSON ({error})") from None
    if not isinstance(data, dict) or "queue" not in data or "nqubits" not in data:
        raise UsageError(
            f"{path}: expected the JSON object of a qibo circuit.raw (with 'nqubits' and 'queue')"
        )
    return data


def _from_qasm(path: Path) -> Any:
    text = _read_text(path)
    from qibo import Circuit

    try:
        return Circuit.from_qasm(text)
    except Exception as error:
        raise UsageError(f"{path}: not OpenQASM that qibo can read ({error})") from error
