"""Helpers for the command-line tests: run ``main`` in-process, parse its tables, write circuits."""

from __future__ import annotations

import contextlib
import json
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from qibo_client.cli.main import main
from qibo_client.plugins import get_plugin_manager, hookimpl
from qibo_client.plugins.manager import RendererPlugin
from qibo_client.ports import JobSnapshot, ProgressView, Renderer

HEAVY_MODULES = ("qibo", "requests", "rich", "numpy", "fastapi")


@dataclass
class Outcome:
    """What one ``qibo-client`` invocation gave: exit status, stdout and stderr."""

    code: int
    out: str
    err: str

    def json(self) -> Any:
        return json.loads(self.out)

    def json_lines(self) -> list[Any]:
        return [json.loads(line) for line in self.out.splitlines() if line.strip()]

    def table(self) -> list[dict[str, str]]:
        return parse_table(self.out)


def command_line(*argv: object) -> list[str]:
    """The argv of ``qibo-client ARGV`` as a separate process (this interpreter, this install)."""
    return [sys.executable, "-m", "qibo_client.cli.main", *(str(arg) for arg in argv)]


def run_cli(capsys: pytest.CaptureFixture[str], *argv: str) -> Outcome:
    """Call ``main(argv)`` in this process and capture what it printed."""
    capsys.readouterr()
    code = main([str(arg) for arg in argv])
    captured = capsys.readouterr()
    return Outcome(code, captured.out, captured.err)


def parse_table(text: str) -> list[dict[str, str]]:
    """Rows of a plain-text table (header, rule of dashes, rows) as dicts.

    Column boundaries come from the rule line, so cells may hold spaces;
    the table ends at the first blank line.
    """
    lines = text.splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith("-") and i > 0)
    header, rule = lines[start - 1], lines[start]
    spans = []
    position = 0
    for dashes in rule.split("  "):
        spans.append((position, position + len(dashes)))
        position += len(dashes) + 2
    names = [header[a:b].strip() for a, b in spans]

    def cells(line: str) -> list[str]:
        bounds = [a for a, _ in spans[1:]] + [len(line)]
        return [line[a : max(b, a)].strip() for (a, _), b in zip(spans, bounds, strict=True)]

    body = lines[start + 1 :]
    end = next((i for i, line in enumerate(body) if not line.strip()), len(body))
    return [dict(zip(names, cells(line), strict=True)) for line in body[:end]]


# -- circuit files --------------------------------------------------------------------------

BELL_SCRIPT = """\
from qibo import Circuit, gates

circuit = Circuit(2)
circuit.add(gates.H(0))
circuit.add(gates.CNOT(0, 1))
{measure}
if __name__ == "__main__":
    raise SystemExit("the CLI must not run the main block")
"""

FLIP_QASM = """\
OPENQASM 2.0;
include "qelib1.inc";
qreg q[2];
creg c[2];
x q[0];
measure q[0] -> c[0];
measure q[1] -> c[1];
"""


def bell_script(folder: Path, *, measure: bool = True, name: str = "bell.py") -> Path:
    path = folder / name
    line = "circuit.add(gates.M(0, 1))" if measure else ""
    path.write_text(BELL_SCRIPT.format(measure=line), encoding="utf-8")
    return path


def ghz_json(folder: Path, nqubits: int = 3) -> Path:
    from qibo import Circuit, gates

    circuit = Circuit(nqubits)
    circuit.add(gates.H(0))
    for qubit in range(nqubits - 1):
        circuit.add(gates.CNOT(qubit, qubit + 1))
    circuit.add(gates.M(*range(nqubits)))
    path = folder / "ghz.json"
    path.write_text(json.dumps(circuit.raw), encoding="utf-8")
    return path


def spread_json(folder: Path, nqubits: int = 6) -> Path:
    """H on every qubit, then measure: all 2**nqubits outcomes about equally likely."""
    from qibo import Circuit, gates

    circuit = Circuit(nqubits)
    for qubit in range(nqubits):
        circuit.add(gates.H(qubit))
    circuit.add(gates.M(*range(nqubits)))
    path = folder / "spread.json"
    path.write_text(json.dumps(circuit.raw), encoding="utf-8")
    return path


def slow_json(folder: Path, nqubits: int = 24, layers: int = 200) -> Path:
    """A circuit numpy takes minutes to simulate: a job to press Ctrl-C on while it waits."""
    from qibo import Circuit, gates

    circuit = Circuit(nqubits)
    for layer in range(layers):
        for qubit in range(nqubits):
            circuit.add(gates.RX(qubit, theta=0.1 * (qubit + layer)))
        for qubit in range(nqubits - 1):
            circuit.add(gates.CNOT(qubit, qubit + 1))
    circuit.add(gates.M(*range(nqubits)))
    path = folder / "slow.json"
    path.write_text(json.dumps(circuit.raw), encoding="utf-8")
    return path


def flip_qasm(folder: Path) -> Path:
    path = folder / "flip.qasm"
    path.write_text(FLIP_QASM, encoding="utf-8")
    return path


def broken_json(folder: Path) -> Path:
    """A circuit.raw that passes the server's checks but qibo cannot build (a collapsing
    measurement with bit-flip noise): the job ends in error."""
    raw = {
        "nqubits": 1,
        "queue": [
            {
                "name": "measure",
                "_class": "M",
                "init_args": [0],
                "init_kwargs": {"collapse": True, "p0": 0.1},
                "_target_qubits": [0],
                "_control_qubits": [],
            }
        ],
        "density_matrix": False,
        "wire_names": [0],
    }
    path = folder / "broken.json"
    path.write_text(json.dumps(raw), encoding="utf-8")
    return path


# -- a renderer registered at run time, through the plugin hooks ----------------------------


class _View(ProgressView):
    def __init__(self, on_update: Callable[[JobSnapshot], None]) -> None:
        self._on_update = on_update

    def update(self, snapshot: JobSnapshot) -> None:
        self._on_update(snapshot)

    def finish(self, snapshot: JobSnapshot, *, results_folder: str | None = None) -> None:
        pass


@dataclass
class ScriptedRenderer(Renderer):
    """A renderer that calls ``on_update`` for every progress snapshot and records messages."""

    on_update: Callable[[JobSnapshot], None] = lambda snapshot: None
    messages: list[str] = field(default_factory=list)

    def start_progress(self, snapshot: JobSnapshot) -> ProgressView:
        return _View(self.on_update)

    def show_quota(self, disk: Any, projects: Any) -> None:
        pass

    def show_jobs(self, user: str, jobs: Any) -> None:
        pass

    def show_error(self, error: BaseException) -> None:
        self.messages.append(str(error))

    def show_message(self, text: str, *, level: str = "info") -> None:
        self.messages.append(text)


@contextlib.contextmanager
def registered_renderer(name: str, renderer: Renderer) -> Iterator[None]:
    """Offer ``renderer`` as ``--ui NAME`` for the duration of the block (a run-time plugin)."""

    class Plugin:
        @staticmethod
        @hookimpl
        def qibo_client_register_renderers(register: Callable[[RendererPlugin], None]) -> None:
            register(RendererPlugin(name, lambda: renderer, description="test renderer"))

    manager = get_plugin_manager()
    manager.register(Plugin, name=f"test-renderer-{name}")
    try:
        yield
    finally:
        manager.unregister(name=f"test-renderer-{name}")
