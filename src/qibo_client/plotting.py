"""A histogram of measured counts, for scripts and notebooks (the optional ``plot`` extra).

``plot_counts(job.result())`` draws the outcomes as the command line lists
them: most frequent first, the top few, the rest summed in one bar. matplotlib
is imported when a plot is drawn, not with this module, and comes with
``pip install "qibo-client[plot]"``. In Jupyter the figure shows inline below
the cell, as any pyplot figure does.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from qibo_client.presentation.counts import counts_of, ranked

if TYPE_CHECKING:
    from matplotlib.axes import Axes

#: How many outcomes get a bar of their own by default.
TOP_OUTCOMES = 16


def _pyplot() -> Any:
    try:
        import matplotlib.pyplot as plt
    except ImportError as error:
        raise ImportError(
            'plot_counts needs matplotlib: install it with pip install "qibo-client[plot]"'
        ) from error
    return plt


def plot_counts(
    counts_or_result: Mapping[str, int] | Any,
    *,
    top: int | None = TOP_OUTCOMES,
    probabilities: bool = False,
    ax: Axes | None = None,
    title: str | None = None,
) -> Axes:
    """Draw a bar chart of measured counts; returns the matplotlib ``Axes`` drawn on.

    ``counts_or_result`` is a mapping of outcomes to counts (``{"00": 512,
    "11": 488}``) or a result with ``frequencies()``, such as what
    ``job.result()`` returns. The ``top`` most frequent outcomes (all when
    ``None``) get a bar each, most frequent first; the others share one bar
    labelled with how many they are. ``probabilities=True`` scales the bars to
    fractions of the shots. Without ``ax`` a new pyplot figure is made (shown
    inline in a notebook; call ``matplotlib.pyplot.show()`` in a script).

    Raises ``TypeError`` for a value without measured counts (a result of a
    circuit with no measurement gates) and ``ImportError`` without matplotlib.
    """
    if top is not None and (isinstance(top, bool) or not isinstance(top, int) or top < 1):
        raise ValueError(f"top must be a whole number >= 1 or None, got {top!r}")
    counts = counts_of(counts_or_result)
    if counts is None:
        raise TypeError(
            f"plot_counts needs measured counts: a mapping of outcomes to counts or a result "
            f"with frequencies(), got {type(counts_or_result).__name__} without any "
            "(does the circuit end with measurement gates?)"
        )
    ranking = ranked(counts, top)
    labels = [outcome for outcome, _ in ranking.top]
    values = [float(count) for _, count in ranking.top]
    if ranking.rest_outcomes:
        labels.append(f"{ranking.rest_outcomes} more")
        values.append(float(ranking.rest_shots))
    if probabilities:
        values = [value / ranking.total for value in values]

    if ax is None:
        width = max(4.0, 0.5 * len(labels) + 2.0)
        _, ax = _pyplot().subplots(figsize=(width, 3.5), layout="constrained")
    bars = ax.bar(range(len(labels)), values, color="tab:blue")
    if ranking.rest_outcomes:
        bars[-1].set_color("tab:gray")
    ax.set_xticks(range(len(labels)), labels, rotation=90 if len(labels) > 8 else 0)
    ax.set_xlabel("outcome")
    ax.set_ylabel("probability" if probabilities else "count")
    ax.set_title(title if title is not None else f"{ranking.total} shots, {len(counts)} outcomes")
    return ax
