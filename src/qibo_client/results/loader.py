"""Build qibo's result object from a checked ``results.npy`` payload.

``qibo.result.load_result`` trusts the file; here the payload is read by
:func:`~qibo_client.results.npy.read_result_payload` and its fields checked
against what qibo's ``to_dict`` writes before ``from_dict`` sees them (qibo
looks gate classes up by the names a measurement's JSON gives).
"""

from __future__ import annotations

import functools
import json
import threading
from pathlib import Path
from typing import Any

from qibo_client.exceptions import UnsafeResultError
from qibo_client.results.npy import read_result_payload
from qibo_client.results.sizes import MAX_SHOTS

RESULT_CLASSES = ("QuantumState", "MeasurementOutcomes", "CircuitResult")
MEASUREMENT_KWARGS = {"register_name", "collapse", "basis", "p0", "p1"}
BASES = {"X", "Y", "Z"}
MAX_MEASUREMENT_JSON = 1 << 20
#: The most sample values (shots x measured qubits) drawn for a file that holds
#: probabilities but no samples: qibo keeps them as int64, so 1 GiB.
MAX_DRAWN_SAMPLE_VALUES = 1 << 27


def _bad(kind: str, what: str) -> UnsafeResultError:
    return UnsafeResultError(f"results.npy holds a {kind} with {what}; refused")


def _is_int(value: object) -> bool:
    """A Python int or a numpy integer scalar (never a bool)."""
    dtype = getattr(value, "dtype", None) if type(value).__module__ == "numpy" else None
    return type(value) is int or (dtype is not None and dtype.kind in "iu")


def _numeric_array(value: object, kinds: str) -> bool:
    import numpy as np

    return isinstance(value, np.ndarray) and value.dtype.kind in kinds


def _check_state(payload: dict[str, Any], kind: str) -> None:
    state: Any = payload.get("state")
    if not _numeric_array(state, "fc"):
        raise _bad(kind, "no numeric 'state' array")
    size = state.shape[0] if state.ndim else 0
    if state.ndim not in (1, 2) or size < 1 or size & (size - 1):
        raise _bad(kind, f"a state of shape {state.shape} (want 2**n, or 2**n x 2**n)")
    if state.ndim == 2 and state.shape[1] != size:
        raise _bad(kind, f"a density matrix of shape {state.shape}")


def _check_measurement(text: object, kind: str) -> list[int]:
    if not isinstance(text, str) or len(text) > MAX_MEASUREMENT_JSON:
        raise _bad(kind, "a measurement that is not a JSON text")
    try:
        gate = json.loads(text)
    except ValueError:
        raise _bad(kind, f"a measurement that is not valid JSON: {text[:80]!r}") from None
    if not isinstance(gate, dict) or gate.get("_class") != "M":
        raise _bad(kind, f"a measurement gate that is not M: {text[:80]!r}")
    args, kwargs = gate.get("init_args"), gate.get("init_kwargs")
    if not isinstance(args, list) or not all(type(q) is int and q >= 0 for q in args):
        raise _bad(kind, f"measured qubits {args!r:.80}")
    if not isinstance(kwargs, dict) or not set(kwargs) <= MEASUREMENT_KWARGS:
        raise _bad(kind, f"measurement options {kwargs!r:.80}")
    basis = kwargs.get("basis", "Z")
    for name in basis if isinstance(basis, list) else [basis]:
        if name not in BASES:
            raise _bad(kind, f"measurement basis {name!r:.40} (qibo writes X, Y or Z)")
    register = kwargs.get("register_name")
    if register is not None and not isinstance(register, str):
        raise _bad(kind, f"register name {register!r:.40}")
    result = gate.get("measurement_result", {"samples": None})
    if not isinstance(result, dict) or not isinstance(result.get("samples"), list | type(None)):
        raise _bad(kind, f"measurement result {result!r:.80}")
    return args


def _check_measurements(payload: dict[str, Any], kind: str) -> None:
    measurements = payload.get("measurements")
    if not isinstance(measurements, list):
        raise _bad(kind, "no 'measurements' list")
    measured: set[int] = set()
    for text in measurements:
        measured.update(_check_measurement(text, kind))
    for key in ("probabilities", "samples"):
        if key not in payload:
            raise _bad(kind, f"no '{key}' field")
    probabilities, samples = payload["probabilities"], payload["samples"]
    if probabilities is not None and not _numeric_array(probabilities, "f"):
        raise _bad(kind, "'probabilities' that are not a float array")
    if samples is not None and not _numeric_array(samples, "iub"):
        raise _bad(kind, "'samples' that are not an integer array")
    for key in ("nshots", "nqubits"):
        value = payload.get(key)
        if value is not None and not (_is_int(value) and value >= 0):
            raise _bad(kind, f"'{key}' = {value!r:.40}")
    if samples is None:
        _check_samples_to_draw(payload.get("nshots"), len(measured), kind)


def _check_samples_to_draw(nshots: Any, measured: int, kind: str) -> None:
    """Refuse a file whose samples qibo would draw from its probabilities beyond our bounds.

    A file may hold probabilities and a shot count instead of samples; qibo
    draws the samples (on load for a ``CircuitResult``, on first use
    otherwise), so a few hundred bytes could claim gigabytes of them.
    """
    if nshots is None:
        return
    shots = int(nshots)  # a numpy integer must not overflow below
    if shots > MAX_SHOTS:
        raise _bad(
            kind,
            f"no samples but {shots} shots to draw, more than the {MAX_SHOTS} this client draws",
        )
    if shots * measured > MAX_DRAWN_SAMPLE_VALUES:
        raise _bad(
            kind,
            f"no samples but {shots} shots of {measured} measured qubits to draw: "
            f"{shots * measured} sample values, more than the {MAX_DRAWN_SAMPLE_VALUES} "
            "this client draws",
        )


def check_payload(payload: dict[str, Any]) -> str:
    """The payload's result class name, after checking its fields; else refuse."""
    kind = payload.get("dtype")
    if kind not in RESULT_CLASSES:
        raise UnsafeResultError(
            f"results.npy names the result class {kind!r:.60}; qibo results are "
            + ", ".join(RESULT_CLASSES)
        )
    if kind != "MeasurementOutcomes":
        _check_state(payload, kind)
    if kind != "QuantumState":
        _check_measurements(payload, kind)
    return str(kind)


#: qibo's modules import each other in a circle: two threads importing it for the first
#: time at once (a warm-up in the background and a load) each get a half-built module.
_QIBO_IMPORT = threading.Lock()


def _qibo_result() -> Any:
    """``qibo.result``, imported by one thread at a time."""
    with _QIBO_IMPORT:
        import qibo.result

    return qibo.result


@functools.cache
def numpy_backend() -> Any:
    """One qibo numpy backend per process (qibo's ``from_dict`` builds two per result)."""
    with _QIBO_IMPORT:
        from qibo.backends import construct_backend

    return construct_backend("numpy")


def warm_up() -> None:
    """Import qibo and build the backend now, so a later load is quick."""
    numpy_backend()


def _build(results: Any, kind: str, payload: dict[str, Any]) -> Any:
    """What qibo's ``<kind>.from_dict(payload)`` builds, on the shared backend.

    Where a file holds both probabilities and samples (the server stores drawn
    shots), the samples are kept, as qibo's own ``from_dict`` does.
    """
    from qibo import gates

    backend = numpy_backend()
    if kind == "QuantumState":
        return results.QuantumState(payload.get("state"), backend=backend)
    measurements = [gates.M.load(m) for m in payload.get("measurements") or []]
    samples = payload.get("samples")
    probabilities = payload.get("probabilities") if samples is None else None
    outcomes = results.MeasurementOutcomes(
        measurements,
        backend=backend,
        probabilities=probabilities,
        samples=samples,
        nshots=payload.get("nshots"),
        nqubits=payload.get("nqubits"),
    )
    if kind == "MeasurementOutcomes":
        return outcomes
    return results.CircuitResult(
        payload.get("state"),
        outcomes.measurements,
        backend=backend,
        samples=outcomes.samples(),
        nshots=outcomes.nshots,
    )


def load_result_file(path: Path) -> Any:
    """Read ``path`` like ``qibo.result.load_result``, but without running the file."""
    payload = read_result_payload(Path(path))
    kind = check_payload(payload)
    results = _qibo_result()

    payload.pop("dtype")
    try:
        return _build(results, kind, payload)
    except Warning:
        raise  # qibo's warnings, turned into errors by the caller's filters, stay as they are
    except Exception as error:  # qibo's own checks of a payload that passed ours
        raise UnsafeResultError(
            f"results.npy holds a {kind} that qibo could not rebuild: {type(error).__name__}: {error}"
        ) from error
