"""The benchmark command keeps working: a smoke run at tiny sizes prints the table and writes the report.

These check the harness, not the targets: tiny sizes say nothing about speed.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
RUN = REPO / "benchmarks" / "run.py"


def _run(*args: str, timeout: float = 600) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, str(RUN), *args],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


def test_an_unknown_case_is_named_with_the_known_ones():
    done = _run("--cases", "big,warp-speed", timeout=60)
    assert done.returncode == 2
    assert "unknown case(s) warp-speed" in done.stderr
    assert (
        "big, many, completion, startup, local, local_small, variational, server_pace"
        in done.stderr
    )


@pytest.mark.slow
@pytest.mark.network  # the first run installs qibo-client==0.2.4 in benchmarks/.venv-published
def test_smoke_run_prints_every_case_and_writes_the_report(tmp_path):
    report = tmp_path / "benchmarks.md"
    done = _run("--smoke", "--output", str(report))
    assert done.returncode == 0, done.stderr[-4000:]

    lines = done.stdout.strip().splitlines()
    assert lines[0].split()[:4] == ["case", "measure", "0.2.4", "ours"]
    assert set(lines[1]) <= {"-", " "}
    rows = lines[2:]
    assert {row.split(".", 1)[0] for row in rows} == {str(n) for n in range(1, 9)}
    # every row has a figure for ours and a verdict
    assert all(row.rstrip().endswith(("yes", "NO", "-")) for row in rows)
    # without --braket, the variational row says how to get Braket's side
    (variational,) = [row for row in rows if row.startswith("7.")]
    assert "not run (use --braket)" in variational

    text = report.read_text(encoding="utf-8")
    assert text.startswith("# Benchmarks")
    assert "--smoke" in text and "python benchmarks/run.py" in text
    assert "| case | measure | 0.2.4 | ours |" in text
    assert "- published qibo-client: 0.2.4" in text
    assert "## Machine and versions" in text and "## Raw figures of this run" in text
    assert text.count("\n| ") == len(rows) + 2  # header, rule, one line per row


def test_refresh_notes_replaces_only_the_notes(tmp_path):
    sys.path.insert(0, str(REPO / "benchmarks"))
    try:
        from harness.report import Row, refresh_notes, write_markdown
    finally:
        sys.path.remove(str(REPO / "benchmarks"))
    report = tmp_path / "benchmarks.md"
    row = Row("1. case", "measure", "1 s", "0.5 s", "-", "2.0x", ">= 2x", True)
    write_markdown(
        report, [row], command="python benchmarks/run.py", when="now", machine={}, versions={},
        method="How.", notes="## Old analysis", details=["- raw 1, 2"],
    )  # fmt: skip
    refresh_notes(report, "## New analysis\n\nfigures")
    text = report.read_text(encoding="utf-8")
    assert "## Old analysis" not in text
    assert text.endswith("## New analysis\n\nfigures\n")
    assert "| 1. case | measure | 1 s | 0.5 s |" in text and "- raw 1, 2" in text
