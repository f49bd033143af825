"""The safe loader gives what qibo.result.load_result gives, on genuine numpy 1.x and 2.x files."""

from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np
import pytest
from qibo.result import CircuitResult, MeasurementOutcomes, QuantumState, load_result
from tests.support.results import FIXTURES, genuine_like, npy_bytes

from qibo_client.exceptions import UnsafeResultError
from qibo_client.results import load_result_file
from qibo_client.results.npy import read_result_payload

GENUINE = sorted(FIXTURES.glob("*.npy"))


def test_fixtures_cover_both_numpy_writers_and_every_result_class() -> None:
    names = {path.name for path in GENUINE}
    for case in (
        "state_vector",
        "density_matrix",
        "circuit_probabilities",
        "circuit_samples",
        "outcomes_samples",
        "outcomes_probabilities",
    ):
        assert {f"{case}-np1.npy", f"{case}-np2.npy"} <= names
    assert all(path.stat().st_size < 100_000 for path in GENUINE)
    # the numpy 1.x files really come from numpy 1.x: its module name for _reconstruct
    assert b"numpy.core.multiarray" in (FIXTURES / "state_vector-np1.npy").read_bytes()
    assert b"numpy._core.multiarray" in (FIXTURES / "state_vector-np2.npy").read_bytes()


def _both(path: Path) -> tuple[object, object]:
    with warnings.catch_warnings():
        warnings.simplefilter(
            "ignore", UserWarning
        )  # qibo warns when a file has samples and probabilities
        return load_result_file(path), load_result(str(path))


@pytest.mark.parametrize("path", GENUINE, ids=lambda p: p.name)
def test_loader_equals_load_result(path: Path) -> None:
    ours, theirs = _both(path)
    assert type(ours) is type(theirs)
    assert isinstance(ours, QuantumState | MeasurementOutcomes)
    if isinstance(theirs, QuantumState):
        state, expected = ours.state(), theirs.state()
        assert state.dtype == expected.dtype and state.shape == expected.shape
        np.testing.assert_array_equal(state, expected)
        assert ours.density_matrix == theirs.density_matrix and ours.nqubits == theirs.nqubits
    if isinstance(theirs, MeasurementOutcomes):
        assert ours.nshots == theirs.nshots
        assert [m.target_qubits for m in ours.measurements] == [
            m.target_qubits for m in theirs.measurements
        ]
        assert [m.register_name for m in ours.measurements] == [
            m.register_name for m in theirs.measurements
        ]
        np.testing.assert_allclose(ours.probabilities(), theirs.probabilities())
        stored = np.load(path, allow_pickle=True).item()
        if stored.get("samples") is not None:  # else samples are drawn at random on each call
            np.testing.assert_array_equal(ours.samples(), theirs.samples())
            assert ours.frequencies() == theirs.frequencies()
    if isinstance(theirs, CircuitResult):
        np.testing.assert_array_equal(ours.state(), theirs.state())


def test_density_matrix_and_samples_have_the_expected_shapes() -> None:
    density = load_result_file(FIXTURES / "density_matrix-np1.npy")
    assert density.density_matrix and density.state().shape == (8, 8)
    np.testing.assert_allclose(np.trace(density.state()), 1.0)
    outcomes = load_result_file(FIXTURES / "outcomes_samples-np2.npy")
    assert outcomes.samples().tolist() == [[0, 1], [1, 1], [0, 0], [1, 0], [1, 1]]


def test_loaded_arrays_are_writable_like_numpys() -> None:
    payload = read_result_payload(FIXTURES / "circuit_samples-np2.npy")
    expected = np.load(FIXTURES / "circuit_samples-np2.npy", allow_pickle=True).item()
    for key in ("state", "probabilities", "samples"):
        assert payload[key].flags.writeable
        np.testing.assert_array_equal(payload[key], expected[key])


ARRAYS = {
    "complex64": np.arange(8, dtype=np.complex64) / 3,
    "big-endian complex128": (np.arange(4) + 1j).astype(">c16"),
    "fortran 2-d": np.asfortranarray(np.arange(16, dtype=np.complex128).reshape(4, 4) * 1j),
    "bool": np.array([[True, False], [False, True]]),
    "uint8": np.arange(6, dtype=np.uint8).reshape(3, 2),
    "int32": np.arange(-3, 3, dtype=np.int32),
    "float16": np.linspace(0, 1, 5, dtype=np.float16),
    "empty": np.zeros((0, 3)),
    "big (over 1 MiB)": np.arange(70_000, dtype=np.complex128),
}


@pytest.mark.parametrize("protocol", [3, 4])
@pytest.mark.parametrize("name", list(ARRAYS))
def test_payload_reader_equals_numpy_for_every_numeric_dtype(
    tmp_path: Path, name: str, protocol: int
) -> None:
    array = ARRAYS[name]
    payload = {
        "dtype": "QuantumState",
        "state": array,
        "scalar": np.float64(0.5),
        "n": np.int64(7),
        "nested": [{"a": (1, 2.5, None)}],
        "text": "ok",
    }
    path = tmp_path / "results.npy"
    path.write_bytes(genuine_like(payload, protocol=protocol))
    ours = read_result_payload(path)
    theirs = np.load(path, allow_pickle=True).item()
    assert ours.keys() == theirs.keys()
    assert (
        ours["state"].dtype == theirs["state"].dtype
        and ours["state"].shape == theirs["state"].shape
    )
    assert ours["state"].flags.f_contiguous == theirs["state"].flags.f_contiguous
    np.testing.assert_array_equal(ours["state"], theirs["state"])
    assert ours["scalar"] == theirs["scalar"] and type(ours["scalar"]) is type(theirs["scalar"])
    assert ours["n"] == 7 and ours["nested"] == theirs["nested"] and ours["text"] == "ok"


def test_numpy_save_of_a_dict_reads_back(tmp_path: Path) -> None:
    path = tmp_path / "results.npy"
    np.save(path, {"dtype": "QuantumState", "state": np.array([1, 0], dtype=complex)})
    assert read_result_payload(path)["state"].tolist() == [1, 0]
    state = load_result_file(path)
    assert isinstance(state, QuantumState) and state.nqubits == 1


@pytest.mark.parametrize(
    ("payload", "problem"),
    [
        ({"dtype": "Circuit"}, "result class 'Circuit'"),
        ({"dtype": "QuantumState", "state": np.zeros(3, complex)}, "shape (3,)"),
        ({"dtype": "QuantumState", "state": np.zeros((4, 2), complex)}, "density matrix"),
        ({"dtype": "QuantumState", "state": "psi"}, "no numeric 'state'"),
        (
            {
                "dtype": "MeasurementOutcomes",
                "measurements": ["{}"],
                "probabilities": None,
                "samples": None,
            },
            "not M",
        ),
        (
            {
                "dtype": "MeasurementOutcomes",
                "probabilities": None,
                "samples": None,
                "measurements": [
                    '{"_class": "M", "init_args": [0], "init_kwargs": {"basis": "Unitary"}}'
                ],
            },
            "basis 'Unitary'",
        ),
        (
            {
                "dtype": "MeasurementOutcomes",
                "measurements": [],
                "samples": None,
                "probabilities": np.zeros(2, complex),
            },
            "'probabilities'",
        ),
        (
            {
                "dtype": "MeasurementOutcomes",
                "measurements": [],
                "samples": None,
                "probabilities": None,
                "nshots": -1,
            },
            "'nshots'",
        ),
    ],
)
def test_payloads_qibo_would_misread_are_refused(
    tmp_path: Path, payload: dict, problem: str
) -> None:
    path = tmp_path / "results.npy"
    path.write_bytes(genuine_like(payload))
    with pytest.raises(UnsafeResultError, match=problem.replace("(", r"\(").replace(")", r"\)")):
        load_result_file(path)


def test_a_plain_numeric_npy_is_not_a_result(tmp_path: Path) -> None:
    path = tmp_path / "results.npy"
    np.save(path, np.arange(4))
    with pytest.raises(UnsafeResultError, match="plain array"):
        load_result_file(path)


def test_not_a_numpy_file(tmp_path: Path) -> None:
    path = tmp_path / "results.npy"
    path.write_bytes(npy_bytes(b"")[:4])
    with pytest.raises(UnsafeResultError, match="not a numpy file"):
        load_result_file(path)


FIRST_LOAD_RACE = """
import sys, threading
from pathlib import Path
from qibo_client.results.loader import load_result_file, warm_up

assert "qibo" not in sys.modules
path = Path(sys.argv[1])
errors = []

def run(action):
    try:
        action()
    except Exception as error:
        errors.append(repr(error))

threads = [
    threading.Thread(target=run, args=(warm_up,)),
    threading.Thread(target=run, args=(lambda: load_result_file(path),)),
    threading.Thread(target=run, args=(lambda: load_result_file(path),)),
]
for thread in threads:
    thread.start()
for thread in threads:
    thread.join()
print(errors)
"""


def test_the_first_loads_of_a_process_may_run_at_once() -> None:
    # QiboJob.result warms the loader in a background thread while the job runs, and
    # Client.results loads several results at once: qibo's first import, which runs
    # in a circle of modules, must not be entered by two threads together.
    import subprocess
    import sys

    done = subprocess.run(
        [sys.executable, "-c", FIRST_LOAD_RACE, str(FIXTURES / "circuit_samples-np2.npy")],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "[]"
