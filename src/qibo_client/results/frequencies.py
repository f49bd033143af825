"""Results rebuilt from inline ``frequencies`` (the 0.3 generation of the Qibo server).

Such a server sends a job's counts in the job object and offers no download;
the result is what the published 0.3.0 client returns,
``qibo.result.MeasurementOutcomes.from_frequencies(counts, nqubits=<measured>)``.
qibo expands counts into one sample per shot, so the counts are checked first:
a server cannot make us allocate more than a real job of ours could need.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from qibo_client.exceptions import UnsafeResultError
from qibo_client.results.sizes import MAX_SHOTS

#: The most measured qubits a bitstring may name.
MAX_BITS = 64
#: The most distinct outcomes accepted.
MAX_OUTCOMES = 1 << 20

_BITS = re.compile(rf"[01]{{1,{MAX_BITS}}}")


def checked_counts(frequencies: Mapping[Any, Any]) -> dict[str, int]:
    """The counts as ``{bitstring: count}``, or :class:`UnsafeResultError` saying what is wrong."""
    if len(frequencies) > MAX_OUTCOMES:
        raise UnsafeResultError(
            f"the job's frequencies list {len(frequencies)} outcomes (at most {MAX_OUTCOMES})"
        )
    counts: dict[str, int] = {}
    width: int | None = None
    for key, value in frequencies.items():
        if not isinstance(key, str) or not _BITS.fullmatch(key):
            raise UnsafeResultError(
                f"the job's frequencies have an outcome {key!r:.80} that is not a bitstring"
            )
        if width is not None and len(key) != width:
            raise UnsafeResultError("the job's frequencies mix bitstrings of different lengths")
        width = len(key)
        if isinstance(value, bool) or not isinstance(value, int) or value < 0:
            raise UnsafeResultError(
                f"the job's frequencies count {value!r:.80} for {key}: not a count"
            )
        counts[key] = value
    total = sum(counts.values())
    if total > MAX_SHOTS:
        raise UnsafeResultError(
            f"the job's frequencies add up to {total} shots, more than the {MAX_SHOTS} "
            "this client rebuilds samples for"
        )
    return counts


def outcomes_from_frequencies(frequencies: Mapping[Any, Any]) -> Any:
    """qibo's ``MeasurementOutcomes`` for these counts (the measured qubits: the bitstring length)."""
    counts = checked_counts(frequencies)
    from qibo.result import MeasurementOutcomes

    from qibo_client.results.loader import numpy_backend

    width = len(next(iter(counts))) if counts else 0
    return MeasurementOutcomes.from_frequencies(counts, nqubits=width, backend=numpy_backend())
