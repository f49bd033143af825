"""Case 4, start-up: ``qibo-client --help`` and ``import qibo_client`` in a fresh process.

Each is the wall time of a whole fresh process, interpreter start included;
a bare ``python -c pass`` is shown beside it as the floor. 0.2.4 has no
command-line tool, so only its import is compared.
"""

from __future__ import annotations

import subprocess
import time
from pathlib import Path

from harness.context import Bench
from harness.environment import driver_env
from harness.report import Row, median, seconds, times

FULL_REPEATS, SMOKE_REPEATS = 11, 2
TARGET = 0.3
NEEDS_SERVER = False


def wall(command: list[str], repeats: int) -> list[float]:
    """Wall times of ``repeats`` fresh runs of ``command`` (which must succeed)."""
    env = driver_env()
    found = []
    for _ in range(repeats):
        started = time.perf_counter()
        subprocess.run(command, check=True, capture_output=True, env=env)
        found.append(time.perf_counter() - started)
    return found


def run(bench: Bench) -> list[Row]:
    repeats = SMOKE_REPEATS if bench.smoke else FULL_REPEATS
    script = Path(bench.ours).parent / "qibo-client"
    bare = median(wall([str(bench.ours), "-c", "pass"], repeats))
    imports = {
        which: wall([str(bench.python(which)), "-c", "import qibo_client"], repeats)
        for which in ("published", "ours")
    }
    helps = wall([str(script), "--help"], repeats)
    rows = []
    for which, values in (*imports.items(), ("help", helps)):
        bench.note(f"start-up {which}: seconds " + ", ".join(f"{v:.3f}" for v in values))
    imported = {which: median(values) for which, values in imports.items()}
    rows.append(
        Row(
            "4. start-up",
            "import qibo_client, fresh process",
            seconds(imported["published"]),
            seconds(imported["ours"]),
            f"python -c pass {seconds(bare)}",
            times(imported["published"] / imported["ours"]),
            f"<= {seconds(TARGET)}",
            imported["ours"] <= TARGET,
        )
    )
    rows.append(
        Row(
            "4. start-up",
            "qibo-client --help",
            "no CLI",
            seconds(median(helps)),
            f"python -c pass {seconds(bare)}",
            "-",
            f"<= {seconds(TARGET)}",
            median(helps) <= TARGET,
        )
    )
    return rows
