"""What is sent when a circuit is submitted, checked before it leaves.

Shared by the blocking and the asyncio clients: turning a circuit into what
the protocol carries, refusing arguments no server would take (before any
request), and the cost estimate a client can make on its own when a server
cannot do a dry run.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from typing import Any

from qibo_client.domain.records import DryRunReport, JobSubmission
from qibo_client.exceptions import InvalidArgumentError, InvalidArgumentTypeError

#: Bytes per amplitude of qibo's default complex128 state.
AMPLITUDE_BYTES = 16
_QREG = re.compile(r"qreg\s+\w+\s*\[\s*(\d+)\s*\]")


def circuit_to_raw(circuit: Any) -> dict[str, Any] | str:
    """What is sent as ``circuit``: a qibo circuit's ``.raw``, sent as it is.

    A dict is taken as already raw; a string is an OpenQASM 2 program (a
    ``.raw`` may be one), sent unchanged for the server to parse.
    """
    raw = circuit if isinstance(circuit, (Mapping, str)) else getattr(circuit, "raw", None)
    if isinstance(raw, str):
        if not raw.strip():
            raise InvalidArgumentError(
                "run_circuit got an empty string: send a qibo Circuit or OpenQASM 2"
            )
        return raw
    if not isinstance(raw, Mapping):
        raise InvalidArgumentTypeError(
            "run_circuit needs a qibo Circuit (or its .raw dict, or an OpenQASM 2 string), "
            f"got {type(circuit).__name__}"
        )
    checked = dict(raw)
    check_json_safe(checked)
    return checked


def check_submission_arguments(device: Any, project: Any, nshots: Any, verbatim: Any) -> None:
    """Refuse arguments no server would take, before anything is sent.

    The errors are ``ValueError``/``TypeError`` and also :class:`QiboApiError`,
    which code written for the published client (where the server refused) catches.
    """
    if not isinstance(device, str) or not device.strip():
        raise InvalidArgumentError(f"device must name a device such as 'numpy', got {device!r}")
    if not isinstance(project, str) or not project.strip():
        raise InvalidArgumentError(
            f"project must be a project name such as 'personal', got {project!r}"
        )
    if nshots is not None and (
        isinstance(nshots, bool) or not isinstance(nshots, int) or nshots < 1
    ):
        raise InvalidArgumentError(
            f"nshots must be a positive whole number or None, got {nshots!r}"
        )
    if not isinstance(verbatim, bool):
        raise InvalidArgumentTypeError(f"verbatim must be True or False, got {verbatim!r}")


def check_json_safe(raw: Mapping[str, Any]) -> None:
    """Refuse, before sending, a ``circuit.raw`` that JSON cannot carry, naming the gate.

    ``gates.Unitary`` (and any gate holding a numpy array) puts an array in its
    ``init_args``; JSON has no arrays of complex numbers, so such a circuit
    could only fail later with a raw ``TypeError``.
    """
    try:
        json.dumps(raw, allow_nan=False)
        return
    except (TypeError, ValueError):
        pass
    culprits = []
    for index, entry in enumerate(raw.get("queue") or []):
        try:
            json.dumps(entry, allow_nan=False)
        except (TypeError, ValueError):
            name = entry.get("name", "?") if isinstance(entry, Mapping) else "?"
            culprits.append(f"{name} (gate {index})")
    where = ", ".join(culprits[:5]) or "a field outside the gate queue"
    raise InvalidArgumentTypeError(
        f"the circuit cannot be sent: {where} holds data JSON cannot carry (a numpy array, "
        "a complex number, NaN or infinity). Decompose such gates into standard gates "
        "(e.g. with qibo's transpiler), or send the circuit as OpenQASM (circuit.to_qasm())"
    )


def qubits_of(raw: Mapping[str, Any] | str) -> int | None:
    """The number of qubits a ``circuit.raw`` (or OpenQASM 2 program) declares, if it says."""
    if isinstance(raw, str):
        declared = [int(n) for n in _QREG.findall(raw)]
        return sum(declared) if declared else None
    nqubits = raw.get("nqubits")
    return nqubits if isinstance(nqubits, int) and not isinstance(nqubits, bool) else None


def local_dry_run(submission: JobSubmission) -> DryRunReport:
    """What this client can tell of a job's cost by itself (a server without ``dry-run``)."""
    raw = submission.circuit
    nqubits = qubits_of(raw)
    density = isinstance(raw, Mapping) and bool(raw.get("density_matrix"))
    memory = None
    if nqubits is not None:
        memory = AMPLITUDE_BYTES * (4**nqubits if density else 2**nqubits)
    return DryRunReport(
        checked_by="client",
        device=submission.device,
        nqubits=nqubits,
        memory_bytes=memory,
        nshots=submission.nshots,
        detail=(
            "checked by the client only: this server cannot do a dry run, so whether "
            "the device, project and quota accept the job is unknown"
        ),
        unknown=("device", "project", "quota", "estimated_seconds"),
    )
