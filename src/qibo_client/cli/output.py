"""What the commands print on stdout: aligned plain text, or JSON with ``--json``.

Plain text is a header line, a rule of dashes and one line per row, with
columns two spaces apart, so scripts can split it. Progress and messages go
through the renderer (stderr or a live display); results and tables come here.
"""

from __future__ import annotations

import json
import shutil
import sys
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from qibo_client.cli.errors import OutputClosed
from qibo_client.domain.records import JobInfo, ProjectQuota
from qibo_client.presentation.counts import counts_of, ranked, text_bar
from qibo_client.presentation.tables import (
    MISSING,
    display_url,
    hms,
    number,
    text,
    text_table,
    timestamp,
)

#: How many basis states a state summary lists.
TOP_STATES = 8

#: The shortest and the longest a result table's bars get.
BAR_WIDTH = (10, 40)

JOB_COLUMNS = ("PID", "STATUS", "DEVICE", "PROJECT", "NSHOTS", "CREATED")


def emit(line: str = "") -> None:
    """Print one line (or block) on stdout."""
    try:
        print(line, flush=True)
    except BrokenPipeError:
        raise OutputClosed from None


def emit_json(data: Any) -> None:
    """Print ``data`` as one line of JSON on stdout."""
    emit(json.dumps(data, sort_keys=True, default=str))


def shown_url(url: str) -> str:
    """A server URL fit to print: ``local://`` folders as given, others without secrets."""
    from urllib.parse import urlsplit

    if urlsplit(url).scheme.lower() == "local":
        return url.split("?", 1)[0]
    return display_url(url)


def table(headers: Sequence[str], rows: Iterable[Sequence[str]]) -> str:
    """An aligned plain-text table."""
    return text_table(headers, [tuple(row) for row in rows])


# -- jobs -------------------------------------------------------------------------------


def job_row(info: JobInfo) -> tuple[str, ...]:
    return (
        info.pid,
        text(info.status),
        text(info.device),
        text(info.project),
        number(info.nshots),
        timestamp(info.created_at),
    )


def job_record(info: JobInfo, results_folder: str | None = None) -> dict[str, Any]:
    """A job's fields for ``--json`` (the circuit left out: it can be large)."""
    record: dict[str, Any] = {
        "pid": info.pid,
        "status": info.status,
        "device": info.device,
        "project": info.project,
        "nshots": info.nshots,
        "created_at": info.created_at,
        "updated_at": info.updated_at,
        "runtime": info.runtime,
        "queue_position": info.queue_position,
        "seconds_to_job_start": info.seconds_to_job_start,
    }
    if results_folder:
        record["results_folder"] = results_folder
    return record


def job_details(record: Mapping[str, Any]) -> str:
    """A job's fields as ``name  value`` lines."""
    shown = {
        **record,
        "created_at": timestamp(record.get("created_at")),
        "updated_at": timestamp(record.get("updated_at")),
        "runtime": number(record.get("runtime"), 3) if record.get("runtime") is not None else None,
    }
    width = max(len(key) for key in shown)
    return "\n".join(f"{key.ljust(width)}  {text(value)}" for key, value in shown.items())


# -- quota ------------------------------------------------------------------------------

#: The quota table's columns, narrow enough for an 80-column terminal; each device's type
#: and description are in ``--json``.
QUOTA_COLUMNS = (
    "PROJECT",
    "DEVICE",
    "QUBITS",
    "STATUS",
    "TIME LEFT",
    "SHOTS LEFT",
    "JOBS LEFT",
)


def _whole(value: object) -> str:
    """A count with thousands separators: ``99,999,800``."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return MISSING
    return f"{round(value):,}"


def quota_row(quota: ProjectQuota) -> tuple[str, ...]:
    partition = quota.partition
    return (
        text(quota.project),
        text(getattr(partition, "name", None)),
        number(getattr(partition, "max_num_qubits", None)),
        text(getattr(partition, "status", None)),
        hms(quota.seconds_left),
        _whole(quota.shots_left),
        _whole(quota.jobs_left),
    )


# -- results ----------------------------------------------------------------------------


def frequencies_record(counts: Mapping[str, int]) -> dict[str, Any]:
    total = sum(counts.values())
    return {"kind": "frequencies", "nshots": total, "frequencies": dict(sorted(counts.items()))}


def _blocks_printable() -> bool:
    """True when stdout can show the block characters bars are drawn with."""
    encoding = getattr(sys.stdout, "encoding", None) or "ascii"
    try:
        "\u2588\u258f".encode(encoding)
    except (LookupError, UnicodeEncodeError):
        return False
    return True


def frequencies_text(record: Mapping[str, Any], top: int | None = None) -> str:
    """The ``top`` most frequent outcomes (all for ``None``) with a bar each; the rest in one row."""
    counts: Mapping[str, int] = record["frequencies"]
    total = record["nshots"] or 1
    ranking = ranked(counts, top)
    rows = [(key, str(value), f"{value / total:.4f}") for key, value in ranking.top]
    if ranking.rest_outcomes:
        rest = ranking.rest_shots
        rows.append((f"and {ranking.rest_outcomes} more", str(rest), f"{rest / total:.4f}"))
    headers = ("OUTCOME", "COUNT", "PROBABILITY")
    used = max(len(line) for line in table(headers, rows).splitlines())
    shortest, longest = BAR_WIDTH
    width = max(shortest, min(longest, shutil.get_terminal_size().columns - used - 3))
    largest = ranking.top[0][1] if ranking.top else 0
    ascii_only = not _blocks_printable()
    bars = [text_bar(value, largest, width, ascii_only=ascii_only) for _, value in ranking.top]
    bars += [""] * (len(rows) - len(bars))  # the summed rest gets no bar: it is not one outcome
    return table((*headers, ""), [(*row, bar) for row, bar in zip(rows, bars, strict=True)])


def state_record(result: Any, top: int = TOP_STATES) -> dict[str, Any]:
    """The largest basis states of a final state (a vector or a density matrix)."""
    import numpy as np

    state = np.asarray(result.state())
    if state.ndim == 2:  # density matrix: probabilities on the diagonal, no amplitudes
        probabilities = np.real(np.diag(state))
        amplitudes = None
    else:
        amplitudes = state.reshape(-1)
        probabilities = np.abs(amplitudes) ** 2
    nqubits = len(probabilities).bit_length() - 1 if len(probabilities) else 0
    order = sorted(range(len(probabilities)), key=lambda i: (-probabilities[i], i))[:top]
    states = []
    for index in order:
        entry: dict[str, Any] = {
            "basis": format(index, f"0{nqubits}b") if nqubits else "",
            "probability": float(probabilities[index]),
        }
        if amplitudes is not None:
            entry["amplitude"] = [float(amplitudes[index].real), float(amplitudes[index].imag)]
        states.append(entry)
    return {
        "kind": "density_matrix" if amplitudes is None else "state",
        "nqubits": nqubits,
        "top": states,
    }


def state_text(record: Mapping[str, Any]) -> str:
    lines = [f"{record['kind'].replace('_', ' ')} of {record['nqubits']} qubits; largest terms:"]
    rows = []
    for entry in record["top"]:
        amplitude = entry.get("amplitude")
        shown = f"{amplitude[0]:+.4f}{amplitude[1]:+.4f}j" if amplitude else MISSING
        rows.append((entry["basis"], shown, f"{entry['probability']:.4f}"))
    lines.append(table(("BASIS", "AMPLITUDE", "PROBABILITY"), rows))
    return "\n".join(lines)


def result_record(pid: str, result: Any, results_folder: str | None) -> dict[str, Any]:
    """A job's result for printing: frequencies when measured, else a state summary."""
    counts = counts_of(result)
    body = frequencies_record(counts) if counts is not None else state_record(result)
    return {"pid": pid, "results_folder": results_folder, **body}


def result_text(record: Mapping[str, Any], top: int | None = None) -> str:
    """A result for people: measured outcomes by count (the ``top`` ones), else the state's terms."""
    head = f"Job {record['pid']}"
    if record["kind"] == "frequencies":
        outcomes = len(record["frequencies"])
        plural = "" if outcomes == 1 else "s"
        return (
            f"{head}: {record['nshots']} shots, {outcomes} distinct outcome{plural}\n"
            f"{frequencies_text(record, top)}"
        )
    return f"{head}: {state_text(record)}"
