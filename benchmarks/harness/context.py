"""What every case gets: both interpreters, the server, the sizes, a scratch folder."""

from __future__ import annotations

import tempfile
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from harness.environment import BENCH_DIR, LocalServer, run_driver

#: Tasks only our client can do (``local://``, the in-process server), and Braket's loop.
OURS_DRIVER = BENCH_DIR / "drivers" / "ours_task.py"
BRAKET_DRIVER = BENCH_DIR / "drivers" / "braket_task.py"


@dataclass
class Bench:
    """One benchmark run. ``smoke`` shrinks every case to a size that only proves it works."""

    ours: Path
    published: Path
    server: LocalServer
    scratch: Path
    smoke: bool = False
    log: Callable[[str], None] = print
    #: The interpreter of Braket's venv, with ``--braket``; ``None``: Braket is not run.
    braket: Path | None = None
    details: list[str] = field(default_factory=list)

    def python(self, which: str) -> Path:
        return self.ours if which == "ours" else self.published

    def results_dir(self) -> Path:
        """A fresh, empty results folder, so no client finds a result already stored."""
        return Path(tempfile.mkdtemp(prefix="results-", dir=self.scratch))

    def drive(self, which: str, task: str, args: dict[str, Any], **kwargs: Any) -> dict[str, Any]:
        """Run a driver task with ``which`` client ("ours" or "published") in a fresh process."""
        folder = self.results_dir()
        env = {"RESULTS_BASE_FOLDER": str(folder)}
        try:
            return run_driver(self.python(which), task, args, env=env, **kwargs)
        finally:
            _remove(folder)

    def drive_ours(self, task: str, args: dict[str, Any], **kwargs: Any) -> dict[str, Any]:
        """Run a task of ``drivers/ours_task.py`` in a fresh process of ours."""
        folder = self.results_dir()
        env = {"RESULTS_BASE_FOLDER": str(folder)}
        try:
            return run_driver(self.ours, task, args, env=env, driver=OURS_DRIVER, **kwargs)
        finally:
            _remove(folder)

    def drive_braket(self, task: str, args: dict[str, Any], **kwargs: Any) -> dict[str, Any]:
        """Run a task of ``drivers/braket_task.py`` in a fresh process of Braket's venv."""
        if self.braket is None:
            raise RuntimeError("Braket's venv is not set up: run with --braket")
        return run_driver(self.braket, task, args, driver=BRAKET_DRIVER, **kwargs)

    def client(self) -> Any:
        """Our client on the benchmark server, for setting up jobs (not measured)."""
        from qibo_client import Client

        return Client(self.server.token, self.server.url)

    def note(self, line: str) -> None:
        """A raw figure worth keeping in docs/benchmarks.md."""
        self.details.append(f"- {line}")


def _remove(folder: Path) -> None:
    import shutil

    shutil.rmtree(folder, ignore_errors=True)
