"""Benchmarks: our qibo-client against the published qibo-client 0.2.4, on our local server.

    python benchmarks/run.py                  # every case, full sizes (~15 min)
    python benchmarks/run.py --smoke          # tiny sizes: proves the harness works (~1 min)
    python benchmarks/run.py --cases big,startup
    python benchmarks/run.py --braket         # also Amazon Braket's LocalSimulator (variational)

Starts ``python -m qibo_client.server`` on loopback with a throw-away data
folder, installs (or reuses) ``qibo-client==0.2.4`` in its own virtual
environment, runs both clients on the same work in the same run, prints a
table of medians and ratios and writes it to ``docs/benchmarks.md``.
"""

from __future__ import annotations

import argparse
import importlib
import shlex
import shutil
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

BENCH_DIR = Path(__file__).resolve().parent
sys.path.insert(0, str(BENCH_DIR))

from harness.context import Bench  # noqa: E402
from harness.environment import (  # noqa: E402
    LocalServer,
    braket_python,
    machine,
    precompile_ours,
    published_python,
    versions,
)
from harness.report import Row, refresh_notes, text_table, write_markdown  # noqa: E402

CASES = {
    "big": "cases.big_result",
    "many": "cases.many_jobs",
    "completion": "cases.completion",
    "startup": "cases.startup",
    "local": "cases.local_overhead",
    "local_small": "cases.local_small",
    "variational": "cases.variational",
    "server_pace": "cases.server_pace",
}
REPO = BENCH_DIR.parent


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python benchmarks/run.py",
        description="Benchmark this qibo-client against the published qibo-client 0.2.4.",
    )
    parser.add_argument(
        "--smoke", action="store_true", help="tiny sizes: check the harness works, not the targets"
    )
    parser.add_argument(
        "--cases",
        default=",".join(CASES),
        help=f"comma-separated cases to run, of: {', '.join(CASES)} (default: all)",
    )
    parser.add_argument(
        "--output",
        type=Path,
        default=REPO / "docs" / "benchmarks.md",
        help="where to write the Markdown report (default: docs/benchmarks.md)",
    )
    parser.add_argument(
        "--published-venv",
        type=Path,
        default=BENCH_DIR / ".venv-published",
        help="virtual environment of qibo-client 0.2.4, created if missing "
        "(default: benchmarks/.venv-published)",
    )
    parser.add_argument(
        "--braket",
        action="store_true",
        help="run the variational loop on Amazon Braket's LocalSimulator too, installing "
        "amazon-braket-sdk in its own virtual environment the first time",
    )
    parser.add_argument(
        "--braket-venv",
        type=Path,
        default=BENCH_DIR / ".venv-braket",
        help="virtual environment of amazon-braket-sdk, created if missing "
        "(default: benchmarks/.venv-braket)",
    )
    parser.add_argument(
        "--refresh-notes",
        action="store_true",
        help="measure nothing: put the current benchmarks/notes.md in the report at --output, "
        "in place of the notes it was written with",
    )
    args = parser.parse_args(argv)
    args.case_list = [name.strip() for name in args.cases.split(",") if name.strip()]
    unknown = [name for name in args.case_list if name not in CASES]
    if unknown:
        parser.error(f"unknown case(s) {', '.join(unknown)}; choose among {', '.join(CASES)}")
    return args


def log(message: str) -> None:
    print(f"[bench] {message}", file=sys.stderr, flush=True)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    if args.refresh_notes:
        refresh_notes(args.output, (BENCH_DIR / "notes.md").read_text(encoding="utf-8"))
        log(f"refreshed the notes in {args.output}")
        return 0
    started = time.monotonic()
    published = published_python(args.published_venv.resolve(), log=log)
    braket = None
    if args.braket and "variational" in args.case_list:
        braket = braket_python(args.braket_venv.resolve(), log=log)
    precompile_ours()
    # Taken before the cases: our sources are measured as they are when the run starts.
    found_versions = versions(Path(sys.executable), published, braket)
    scratch = Path(tempfile.mkdtemp(prefix="qibo-bench-"))
    modules = {name: importlib.import_module(CASES[name]) for name in args.case_list}
    rows: list[Row] = []
    server = LocalServer(scratch / "server-data", max_qubits=24)
    bench = Bench(
        ours=Path(sys.executable), published=published, server=server,
        scratch=scratch, smoke=args.smoke, log=log, braket=braket,
    )  # fmt: skip
    try:
        if any(getattr(module, "NEEDS_SERVER", True) for module in modules.values()):
            log("starting the local server")
            server.start()
            log(f"server on {server.url}")
        for name, module in modules.items():
            log(f"case {name}")
            case_started = time.monotonic()
            rows += module.run(bench)
            log(f"case {name} took {time.monotonic() - case_started:.0f} s")
    finally:
        server.stop()
        shutil.rmtree(scratch, ignore_errors=True)

    print(text_table(rows))
    command = "python benchmarks/run.py" + (" " + shlex.join(argv) if argv else "")
    if argv is None and len(sys.argv) > 1:
        command = "python benchmarks/run.py " + shlex.join(sys.argv[1:])
    notes = BENCH_DIR / "notes.md"
    write_markdown(
        args.output,
        rows,
        command=command,
        when=datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
        + f" in {time.monotonic() - started:.0f} s"
        + (" (smoke sizes: these figures say nothing about the targets)" if args.smoke else ""),
        machine=machine(),
        versions=found_versions,
        method=(BENCH_DIR / "method.md").read_text(encoding="utf-8"),
        notes=notes.read_text(encoding="utf-8") if notes.is_file() and not args.smoke else "",
        details=bench.details,
    )
    log(f"wrote {args.output}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
