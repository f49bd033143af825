"""Whether a submission may be queued: its shape, device, project, shots, circuit and cost.

On an emulated chip, also whether the circuit fits it (a verbatim one as written).

The same checks answer a submission and a dry run (extension ``dry-run``).
Nothing here imports qibo or runs what a request sends: circuits are checked
as data (:mod:`qibo_client.server.circuit_checks`) and costed
(:mod:`qibo_client.server.costs`); they are rebuilt only in a worker.
"""

from __future__ import annotations

from dataclasses import dataclass

from qibo_client.protocol import objects
from qibo_client.protocol.wire import MAX_JSON_DEPTH
from qibo_client.server.circuit_checks import (
    CircuitFacts,
    UnsafeCircuit,
    check_qasm,
    check_raw_circuit,
)
from qibo_client.server.config import DeviceConfig, ServerConfig
from qibo_client.server.costs import JobCost, check_cost, job_cost
from qibo_client.server.devices import chip_refusal
from qibo_client.server.errors import JobRefused, ServerError

#: The only project every user has.
PROJECT = "personal"


@dataclass(frozen=True)
class Admitted:
    """A submission that passed every check but the quota (which needs the user's usage)."""

    job: objects.Submission
    device: DeviceConfig
    cost: JobCost


def nesting_depth(value: object, limit: int = MAX_JSON_DEPTH) -> int:
    """How deep lists and dicts nest in ``value``, counted without recursion, up to ``limit + 1``."""
    if not isinstance(value, dict | list | tuple):
        return 0
    deepest, stack = 1, [(value, 1)]
    while stack:
        item, depth = stack.pop()
        if depth > deepest:
            deepest = depth
            if deepest > limit:
                return deepest
        children = item.values() if isinstance(item, dict) else item
        stack.extend((c, depth + 1) for c in children if isinstance(c, dict | list | tuple))
    return deepest


def read_body(body: object, *, check_depth: bool = True) -> objects.Submission:
    """The body's fields; :class:`ServerError` 400 when too deep, 422 when of the wrong shape.

    ``check_depth=False`` for a body that was never JSON (an in-process caller's).
    """
    if check_depth and nesting_depth(body) > MAX_JSON_DEPTH:
        raise ServerError(
            400,
            f"the request body nests JSON arrays and objects more than {MAX_JSON_DEPTH} deep; "
            "a submission (circuit.raw) needs fewer than ten levels",
        )
    try:
        return objects.read_submission(body)
    except objects.InvalidSubmission as error:
        raise ServerError(422, str(error)) from None


def circuit_facts(circuit: dict[str, object] | str, device: DeviceConfig) -> CircuitFacts:
    """The circuit's size, checked as data; :class:`JobRefused` saying what is wrong."""
    try:
        if isinstance(circuit, str):
            return check_qasm(circuit, max_gates=device.max_gates)
        return check_raw_circuit(circuit, max_gates=device.max_gates)
    except UnsafeCircuit as error:
        message = str(error).replace("this device", f"device {device.name!r}")
        raise JobRefused(message) from None


def check_device(config: ServerConfig, name: str) -> DeviceConfig:
    device = config.device(name)
    if device is None:
        known = ", ".join(d.name for d in config.offered())
        raise JobRefused(f"unknown device {name!r}; this server offers: {known}")
    if device.status != "available":
        raise JobRefused(f"device {name!r} is unavailable right now; try another device")
    return device


def admit(
    job: objects.Submission, config: ServerConfig, *, facts: CircuitFacts | None = None
) -> Admitted:
    """Check device, project, shots, circuit and cost; :class:`JobRefused` naming the first fault.

    ``facts`` given (the in-process lane read them from the caller's own circuit
    object, which it runs instead of the dict) stand for the dict's checks.
    """
    device = check_device(config, job.device)
    if job.project != PROJECT:
        raise JobRefused(
            f"unknown project {job.project!r}: every user of this server has the project "
            f"{PROJECT!r}"
        )
    if job.nshots is not None and not 0 < job.nshots <= device.max_num_shots:
        raise JobRefused(
            f"nshots must be between 1 and {device.max_num_shots} on device "
            f"{device.name!r} (or null), got {job.nshots}"
        )
    facts = facts or circuit_facts(job.circuit, device)
    if facts.nqubits > device.max_num_qubits:
        raise JobRefused(
            f"the circuit has {facts.nqubits} qubits but device {device.name!r} simulates at "
            f"most {device.max_num_qubits}; use fewer qubits or another device"
        )
    if device.chip is not None:
        refusal = chip_refusal(job.circuit, job.verbatim, device.name, device.chip)
        if refusal is not None:
            raise JobRefused(refusal)
    cost = job_cost(facts, job.nshots)
    check_cost(cost, device)
    return Admitted(job, device, cost)
