"""``python -m qibo_client.server`` with one change: jobs run through ``sleep_runner:run``.

The benchmarks' server is the real ``serve`` (same flags, same HTTP face,
same core); only the function its workers run a job with is swapped, through
serve's own ``--runner``, so a circuit can ask to last a given time (see
``sleep_runner``). Every other circuit runs exactly as on a plain ``serve``.

(This once replaced ``QiboServer`` with a subclass defaulting ``runner``;
since ``serve`` passes ``runner=None`` itself that default was never used,
and jobs meant to last 2-60 s ended at once: hence the flag.)
"""

from __future__ import annotations

import sys

from qibo_client.server.__main__ import main

RUNNER = "sleep_runner:run"  # importable in the workers: they get this process's sys.path

if __name__ == "__main__":
    if not any(arg == "--runner" or arg.startswith("--runner=") for arg in sys.argv[1:]):
        sys.argv[1:1] = ["--runner", RUNNER]
    sys.exit(main())
