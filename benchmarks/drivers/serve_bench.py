"""``python -m qibo_client.server`` with one change: jobs run through ``sleep_runner:run``.

The benchmarks' server is the real ``serve`` (same flags, same HTTP face,
same core); only the function its workers run a job with is swapped, so a
circuit can ask to last a given time (see ``sleep_runner``). Every other
circuit runs exactly as on a plain ``serve``. The ``serve`` command has no
flag for this, so the core class is given the runner here.
"""

from __future__ import annotations

import sys
from typing import Any

import qibo_client.server.core as core
from qibo_client.server.__main__ import main

RUNNER = "sleep_runner:run"  # importable in the workers: they get this process's sys.path


class BenchServer(core.QiboServer):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("runner", RUNNER)
        super().__init__(*args, **kwargs)


core.QiboServer = BenchServer  # type: ignore[misc]  # run_serve looks it up when it runs

if __name__ == "__main__":
    sys.exit(main())
