"""Rows of the benchmark table, printed for the terminal and written as Markdown."""

from __future__ import annotations

import statistics
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path


@dataclass
class Row:
    """One line of the table: a measure of one case, for 0.2.4 and for ours."""

    case: str
    measure: str
    published: str = "-"
    ours: str = "-"
    reference: str = "-"
    ratio: str = "-"
    target: str = "-"
    met: bool | None = None

    def cells(self) -> list[str]:
        verdict = {True: "yes", False: "NO", None: "-"}[self.met]
        return [
            self.case,
            self.measure,
            self.published,
            self.ours,
            self.reference,
            self.ratio,
            self.target,
            verdict,
        ]


HEADER = ["case", "measure", "0.2.4", "ours", "reference", "ratio", "target", "met"]


def median(values: Sequence[float]) -> float:
    return float(statistics.median(values))


def seconds(value: float) -> str:
    """A duration, in the unit that reads best."""
    if value < 1e-3:
        return f"{value * 1e6:.0f} us"
    if value < 1.0:
        return f"{value * 1e3:.1f} ms"
    return f"{value:.2f} s"


def mib(kib: float) -> str:
    return f"{kib / 1024:.0f} MiB"


def times(factor: float) -> str:
    """A ratio such as ``23.4x``."""
    return f"{factor:.1f}x" if factor < 100 else f"{factor:.0f}x"


def text_table(rows: Sequence[Row]) -> str:
    """A plain table with aligned columns, for the terminal."""
    grid = [HEADER, *(row.cells() for row in rows)]
    widths = [max(len(line[i]) for line in grid) for i in range(len(HEADER))]
    lines = [
        "  ".join(cell.ljust(width) for cell, width in zip(line, widths, strict=True))
        for line in grid
    ]
    lines.insert(1, "  ".join("-" * width for width in widths))
    return "\n".join(line.rstrip() for line in lines)


def markdown_table(rows: Sequence[Row]) -> str:
    def line(cells: Sequence[str]) -> str:
        return "| " + " | ".join(cell.replace("|", "\\|") for cell in cells) + " |"

    return "\n".join(
        [line(HEADER), line(["---"] * len(HEADER)), *(line(row.cells()) for row in rows)]
    )


def write_markdown(
    path: Path,
    rows: Sequence[Row],
    *,
    command: str,
    when: str,
    machine: dict[str, str],
    versions: dict[str, str],
    method: str,
    notes: str,
    details: Sequence[str],
) -> None:
    """``docs/benchmarks.md``: the table, what it ran on, how, and what the figures mean."""
    parts = [
        "# Benchmarks: qibo-client against the published qibo-client 0.2.4",
        "",
        "<!-- Written by `python benchmarks/run.py`; edit benchmarks/notes.md instead. -->",
        "",
        f"Measured {when} with:",
        "",
        "```",
        command,
        "```",
        "",
        markdown_table(rows),
        "",
        "Ratios against 0.2.4 say how many times better ours is (time: 0.2.4's / ours; "
        "throughput: ours / 0.2.4's). A ratio that names what it compares with is ours over "
        'that ("3.0x qibo": ours takes three times qibo\'s time; "rate 0.5x qibo\'s": '
        "half qibo's jobs per second). Every figure is a median over the repeats of this one run.",
        "",
        "## Machine and versions",
        "",
        *(f"- {key}: {value}" for key, value in machine.items()),
        *(f"- {key}: {value}" for key, value in versions.items()),
        "",
        "## How it is measured",
        "",
        method.strip(),
        "",
    ]
    if details:
        parts += ["## Raw figures of this run", "", *details, ""]
    if notes.strip():
        parts += [NOTES_MARK, "", notes.strip(), ""]
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("\n".join(parts), encoding="utf-8")


#: Where the hand-written analysis starts in the report (``--refresh-notes`` replaces from here).
NOTES_MARK = "<!-- The analysis below is benchmarks/notes.md, as it was when this was written. -->"


def refresh_notes(path: Path, notes: str) -> None:
    """Put the current ``notes`` in a written report in place of its old ones, figures untouched."""
    text = path.read_text(encoding="utf-8")
    if NOTES_MARK not in text:
        raise ValueError(f"{path} has no notes mark: write it with a full run first")
    head = text[: text.index(NOTES_MARK)]
    path.write_text(head + NOTES_MARK + "\n\n" + notes.strip() + "\n", encoding="utf-8")
