"""Measured counts for people: the most frequent outcomes first, the rest summed, a text bar.

The command line's result table and :func:`qibo_client.plotting.plot_counts`
show counts the same way, decided here once: sorted by count (ties by
outcome), the top few, and one entry for everything left over.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

#: Eighths of a character cell, for bars finer than one cell.
_EIGHTHS = " ▏▎▍▌▋▊▉█"


@dataclass(frozen=True)
class RankedCounts:
    """Counts in the order people read them: ``top`` shown, the rest summed."""

    top: list[tuple[str, int]]
    rest_outcomes: int
    rest_shots: int
    total: int


def counts_of(value: object) -> dict[str, int] | None:
    """The counts ``value`` holds: a mapping of outcomes to counts, or a result's ``frequencies()``.

    ``None`` for anything else, and for a result without measurements (qibo
    raises there).
    """
    if isinstance(value, Mapping):
        found: object = value
    else:
        frequencies = getattr(value, "frequencies", None)
        if not callable(frequencies):
            return None
        try:
            found = frequencies()
        except Exception:  # qibo raises for a state without measurement gates
            return None
    if not isinstance(found, Mapping):
        return None
    return {str(key): int(count) for key, count in found.items()} or None


def ranked(counts: Mapping[str, int], top: int | None = None) -> RankedCounts:
    """The ``top`` most frequent outcomes (all when ``None``), most frequent first."""
    order = sorted(counts.items(), key=lambda item: (-item[1], item[0]))
    shown = order if top is None else order[:top]
    rest = order[len(shown) :]
    return RankedCounts(
        top=shown,
        rest_outcomes=len(rest),
        rest_shots=sum(count for _, count in rest),
        total=sum(counts.values()),
    )


def text_bar(value: float, largest: float, width: int, *, ascii_only: bool = False) -> str:
    """A horizontal bar ``width`` cells long for ``largest``, in eighths of a cell.

    ``ascii_only`` draws whole cells of ``#`` for outputs that cannot show
    block characters. A value above zero always gets a visible mark.
    """
    if largest <= 0 or value <= 0 or width <= 0:
        return ""
    cells = min(value / largest, 1.0) * width
    if ascii_only:
        return "#" * max(1, round(cells))
    eighths = max(1, round(cells * 8))
    full, part = divmod(eighths, 8)
    return _EIGHTHS[-1] * full + (_EIGHTHS[part] if part else "")
