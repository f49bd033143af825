"""What every case gets: both interpreters, the server, the sizes, a scratch folder."""

from __future__ import annotations

import tempfile
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from harness.environment import LocalServer, run_driver


@dataclass
class Bench:
    """One benchmark run. ``smoke`` shrinks every case to a size that only proves it works."""

    ours: Path
    published: Path
    server: LocalServer
    scratch: Path
    smoke: bool = False
    log: Callable[[str], None] = print
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
