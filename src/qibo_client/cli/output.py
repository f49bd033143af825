"""What the commands print on stdout: aligned plain text, or JSON with ``--json``.

Plain text is a header line, a rule of dashes and one line per row, with
columns two spaces apart, so scripts can split it. Progress and messages go
through the renderer (stderr or a live display); results and tables come here.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from qibo_client.domain.records import JobInfo
from qibo_client.presentation.tables import (
    MISSING,
    display_url,
    number,
    text,
    text_table,
    timestamp,
)

#: How many basis states a state summary lists.
TOP_STATES = 8

JOB_COLUMNS = ("PID", "STATUS", "DEVICE", "PROJECT", "NSHOTS", "CREATED")


def emit(line: str = "") -> None:
    """Print one line (or block) on stdout."""
    print(line, flush=True)


def emit_json(data: Any) -> None:
    """Print ``data`` as one line of JSON on stdout."""
    print(json.dumps(data, sort_keys=True, default=str), flush=True)


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


# -- results ----------------------------------------------------------------------------


def frequencies_of(result: Any) -> dict[str, int] | None:
    """The measured outcomes' counts, or ``None`` for a result without measurements."""
    frequencies = getattr(result, "frequencies", None)
    if not callable(frequencies):
        return None
    try:
        counts = frequencies()
    except Exception:  # qibo raises for a state without measurement gates
        return None
    return {str(key): int(value) for key, value in dict(counts).items()} or None


def frequencies_record(counts: Mapping[str, int]) -> dict[str, Any]:
    total = sum(counts.values())
    return {"kind": "frequencies", "nshots": total, "frequencies": dict(sorted(counts.items()))}


def frequencies_text(record: Mapping[str, Any]) -> str:
    counts: Mapping[str, int] = record["frequencies"]
    total = record["nshots"] or 1
    rows = [(key, str(value), f"{value / total:.4f}") for key, value in counts.items()]
    return table(("OUTCOME", "COUNT", "PROBABILITY"), rows)


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
    counts = frequencies_of(result)
    body = frequencies_record(counts) if counts is not None else state_record(result)
    return {"pid": pid, "results_folder": results_folder, **body}


def result_text(record: Mapping[str, Any]) -> str:
    head = f"Job {record['pid']}"
    if record["kind"] == "frequencies":
        return f"{head}: {record['nshots']} shots\n{frequencies_text(record)}"
    return f"{head}: {state_text(record)}"
