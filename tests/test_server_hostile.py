"""Hostile submissions against the local server's core: gate names, sizes, QASM, fuzzing.

Each test here failed on the server that rebuilt submitted circuits with
``qibo.Circuit.from_dict`` in its own process (issue 11): qibo resolves a
gate's ``_class`` with ``getattr`` on its gates module and calls it.
"""

from __future__ import annotations

import json
import sqlite3
import tracemalloc
from pathlib import Path
from typing import Any

import pytest
import qibo
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from tests.support.server import SCRIPTED_RUNNER, bell_raw, body, scripted, wait_final

from qibo_client.server.circuit_checks import USER_GATES
from qibo_client.server.config import DeviceConfig, ServerConfig
from qibo_client.server.core import JobRefused, QiboServer, ServerError

ALICE, BOB = "alice-token", "bob-token"
SETATTR = {"_class": "__setattr__", "init_args": ["H", None], "init_kwargs": {}}
PRODUCT = {"_class": "product", "init_args": [[0]], "init_kwargs": {"repeat": 150_000_000}}
#: What one refused submission may allocate in the server's process.
MEMORY_BOUND = 8 * 1024 * 1024


def with_gates(*queue: dict[str, Any], nqubits: int = 2) -> dict[str, Any]:
    return {"nqubits": nqubits, "density_matrix": False, "queue": list(queue)}


def config(**limits: Any) -> ServerConfig:
    return ServerConfig(
        devices=[
            DeviceConfig("numpy", max_num_qubits=24, description="numpy"),
            DeviceConfig("small", backend="numpy", max_num_qubits=6, description="6 qubits"),
        ],
        jobs_max=10**6,
        **limits,
    )


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory):
    srv = QiboServer(
        tmp_path_factory.mktemp("hostile"),
        config=config(worker_memory_bytes=768 << 20),
        runner=SCRIPTED_RUNNER,
    )
    srv.add_user(ALICE)
    srv.add_user(BOB)
    srv.start()
    yield srv
    srv.close()


@pytest.fixture
def idle(tmp_path: Path):
    """A server whose workers never start: whatever is accepted stays queued."""
    srv = QiboServer(tmp_path / "idle", config=config())
    srv.add_user(ALICE)
    yield srv
    srv.close()


def peak_while(action: Any) -> tuple[Any, int]:
    """``action()``'s outcome (its answer or the exception) and the peak traced allocation."""
    tracemalloc.start()
    tracemalloc.reset_peak()
    try:
        outcome: Any = action()
    except (JobRefused, ServerError) as error:
        outcome = error
    finally:
        _, peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()
    return outcome, peak


# -- the two gate-name attacks -----------------------------------------------------------


def test_a_setattr_gate_is_refused_and_h_works_for_every_user_after(server):
    with pytest.raises(JobRefused, match="'__setattr__' is not a gate this server runs"):
        server.submit(ALICE, body(with_gates(SETATTR)))
    assert isinstance(qibo.gates.H, type)
    for token in (BOB, ALICE):
        job = wait_final(server, token, server.submit(token, body(bell_raw()))["pid"])
        assert job["status"] == "success", job["stderr"]
        assert sum(job["frequencies"].values()) == 100


def test_a_product_gate_is_refused_without_allocating(server):
    outcome, peak = peak_while(lambda: server.submit(ALICE, body(with_gates(PRODUCT))))
    assert isinstance(outcome, JobRefused) and "'product'" in outcome.detail
    assert peak < MEMORY_BOUND
    job = wait_final(server, BOB, server.submit(BOB, body(bell_raw()))["pid"])
    assert job["status"] == "success"


@pytest.mark.parametrize(
    ("gate", "said"),
    [
        ({"_class": "exp", "init_args": [1e9], "init_kwargs": {}}, "'exp'"),
        ({"_class": "Unitary", "init_args": ["x", 0], "init_kwargs": {}}, "'Unitary'"),
        ({"_class": "CallbackGate", "init_args": [], "init_kwargs": {}}, "'CallbackGate'"),
        ({"_class": "H", "init_args": [2], "init_kwargs": {}, "_control_qubits": []}, "0 to 1"),
        ({"_class": "H", "init_args": [0], "init_kwargs": {}}, "_control_qubits"),
        (
            {
                "_class": "RX",
                "init_args": [0],
                "init_kwargs": {"theta": "__import__('os')"},
                "_control_qubits": [],
            },
            "finite number",
        ),
        (
            {"_class": "H", "init_args": [0], "init_kwargs": {}, "_control_qubits": [0]},
            "names a qubit twice",
        ),
        (
            {"_class": "M", "init_args": [0], "init_kwargs": {"basis": "__setattr__"}},
            "'X', 'Y' or 'Z'",
        ),
        (
            {
                "_class": "M",
                "init_args": [0],
                "init_kwargs": {},
                "measurement_result": {"samples": [[0]] * 10},
            },
            "no samples",
        ),
        ({"_class": "CNOT", "init_args": [0, 0], "init_kwargs": {}}, "names a qubit twice"),
    ],
)
def test_gates_outside_the_allow_list_or_their_arguments_are_refused(idle, gate, said):
    with pytest.raises(JobRefused, match=said):
        idle.submit(ALICE, body(with_gates(gate)))


# -- cost bounded at submission ---------------------------------------------------------------


def test_a_16_qubit_density_matrix_is_refused_naming_the_memory_limit(idle):
    raw = {**with_gates(nqubits=16), "density_matrix": True}
    with pytest.raises(JobRefused, match=r"64 GiB.*'numpy' allows .*max_memory_bytes") as caught:
        idle.submit(ALICE, body(raw, nshots=None))
    assert "density_matrix=False" in caught.value.detail


def test_a_130000_gate_circuit_is_refused_naming_the_gate_limit(idle):
    gate = {"_class": "H", "init_args": [0], "init_kwargs": {}, "_control_qubits": []}
    raw = with_gates(*([gate] * 130_000))
    with pytest.raises(JobRefused, match=r"130000 gates; device 'numpy' .* 50000 .*max_gates"):
        idle.submit(ALICE, body(raw))


def test_gates_times_amplitudes_are_bounded(idle):
    gate = {"_class": "H", "init_args": [0], "init_kwargs": {}, "_control_qubits": []}
    raw = with_gates(*([gate] * 30_000), nqubits=24)
    with pytest.raises(JobRefused, match=r"30000 gates to 16777216 amplitudes.*max_gate_work"):
        idle.submit(ALICE, body(raw, nshots=None))


def test_shots_times_measured_qubits_count_against_memory(tmp_path):
    small = ServerConfig(
        devices=[DeviceConfig("numpy", 4, "x", max_num_shots=10**6, max_memory_bytes=1 << 20)]
    )
    with QiboServer(tmp_path, config=small) as srv:
        srv.add_user(ALICE)
        with pytest.raises(JobRefused, match=r"of samples.*max_memory_bytes"):
            srv.submit(ALICE, body(nshots=10**6))


def test_a_worker_past_its_memory_limit_fails_its_job_and_the_next_runs(server):
    pid = server.submit(ALICE, body(scripted("allocate", bytes=4 << 30)))["pid"]
    job = wait_final(server, ALICE, pid)
    assert job["status"] == "error"
    assert "MemoryError" in job["stderr"] and "allocated" not in job["stdout"]
    again = wait_final(server, BOB, server.submit(BOB, body(bell_raw()))["pid"])
    assert again["status"] == "success"


def test_workers_run_with_qibos_qubit_bounds_and_an_address_space_limit(server):
    job = wait_final(server, ALICE, server.submit(ALICE, body(scripted("report")))["pid"])
    assert job["status"] == "success", job["stderr"]
    report = json.loads(job["stdout"].strip().splitlines()[-1])
    assert report["QIBO_MAX_QUBITS"] == "24"
    assert report["QIBO_MAX_QUBITS_DM"] == "12"
    assert 0 < report["RLIMIT_AS"] < 64 << 30


# -- OpenQASM: parsed only in a worker, its gate arguments plain arithmetic --------------------


@pytest.mark.parametrize(
    "statement",
    [
        "rx(__import__) q[0];",
        "rx(9**9**9) q[0];",
        "rx(exit(1)) q[0];",
        "rx(np.pi) q[0];",
        'rx("a") q[0];',
        "gate f(__class__) a { rx(__class__) a; }",
        "gate f(open) a { rx(open) a; }",
    ],
)
def test_qasm_gate_arguments_that_are_not_arithmetic_are_refused(idle, statement):
    text = f'OPENQASM 2.0;\ninclude "qelib1.inc";\nqreg q[2];\n{statement}\n'
    with pytest.raises(JobRefused, match="OpenQASM gate"):
        idle.submit(ALICE, body(text))


def test_qasm_arithmetic_and_own_gate_parameters_are_accepted(idle):
    text = (
        'OPENQASM 2.0;\ninclude "qelib1.inc";\nqreg q[2];\ncreg c[2];\n'
        "gate g(theta, phi) a { rx(theta/2) a; rz(-phi*(pi+1)) a; }\n"
        "g(0.3, 1e-3) q[0];\nu3(pi/2, -2.5E+1, .5) q[1];\nmeasure q -> c;\n"
    )
    assert "pid" in idle.submit(ALICE, body(text))


def test_a_job_queued_by_an_older_server_is_checked_again_in_the_worker(tmp_path):
    folder = tmp_path / "old"
    with QiboServer(folder, config=config()) as first:
        first.add_user(ALICE)
        pid = first.submit(ALICE, body(bell_raw()))["pid"]
        first.close()
        hostile = json.dumps({**bell_raw(), "queue": [SETATTR, *bell_raw()["queue"]]})
        with sqlite3.connect(folder / "server.sqlite3") as db:
            db.execute("UPDATE jobs SET circuit = ? WHERE pid = ?", (hostile, pid))
    with QiboServer(folder, config=config(), runner=SCRIPTED_RUNNER) as second:
        job = wait_final(second, ALICE, pid)
        assert job["status"] == "error" and "'__setattr__' is not a gate" in job["stderr"]
        after = wait_final(second, ALICE, second.submit(ALICE, body(bell_raw()))["pid"])
        assert after["status"] == "success"


# -- fuzzing: nothing outside the allow-list reaches qibo ---------------------------------------

ATTACK_NAMES = sorted(
    {name for name in dir(qibo.gates) if name not in USER_GATES}
    | {"__setattr__", "__class__", "__init__", "product", "exp", "eval", "M ", "h"}
)
scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-(2**70), 2**70),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=12),
)
json_values = st.recursive(
    scalars,
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4)
    ),
    max_leaves=12,
)
gate_names = (
    st.sampled_from(sorted(USER_GATES)) | st.sampled_from(ATTACK_NAMES) | st.text(max_size=10)
)
param_names = st.sampled_from(
    [
        "theta",
        "phi",
        "lam",
        "phi0",
        "phi1",
        "trainable",
        "delay",
        "register_name",
        "basis",
        "collapse",
        "p0",
        "p1",
        "repeat",
        "name",
        "__class__",
    ]
)
qubit_like = st.integers(-3, 30) | scalars
gates = st.fixed_dictionaries(
    {
        "_class": gate_names,
        "init_args": st.lists(qubit_like, max_size=4) | json_values,
        "init_kwargs": st.dictionaries(param_names, st.floats(-10, 10) | json_values, max_size=3)
        | json_values,
    },
    optional={
        "_control_qubits": st.lists(st.integers(-1, 8), max_size=3) | json_values,
        "measurement_result": st.just({"samples": None}) | json_values,
        "name": st.text(max_size=5),
    },
)
circuits = st.fixed_dictionaries(
    {
        "nqubits": st.integers(-2, 30) | scalars,
        "density_matrix": st.booleans() | scalars,
        "queue": st.lists(gates, max_size=6) | json_values,
    },
    optional={"wire_names": st.none() | json_values, "qibo_version": scalars},
)
submissions = st.one_of(
    circuits.map(lambda c: body(c)),
    circuits.map(lambda c: body(c, nshots=None)),
    json_values.map(lambda c: body(c)),
    json_values,
)


class QiboCalls(list):
    """Stands in for qibo's circuit builders in the server's process and records each call."""

    def __call__(self, *args: object, **kwargs: object) -> Any:
        self.append(args)
        raise RuntimeError("qibo was asked to build a submitted circuit in the server's process")


@settings(
    max_examples=400,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(submission=submissions)
def test_fuzzed_submissions_are_a_refusal_or_a_job_and_never_reach_qibo(
    idle, monkeypatch, submission
):
    calls = QiboCalls()
    monkeypatch.setattr(qibo.Circuit, "from_dict", calls)
    monkeypatch.setattr(qibo.Circuit, "from_qasm", calls)
    monkeypatch.setattr(qibo.gates.abstract.Gate, "from_dict", calls)
    outcome, peak = peak_while(lambda: idle.submit(ALICE, submission))
    assert calls == []
    assert peak < MEMORY_BOUND
    if isinstance(outcome, ServerError):
        assert outcome.status in (400, 422) and outcome.detail
        return
    if isinstance(outcome, JobRefused):
        assert outcome.detail
        return
    assert set(outcome) == {"pid"}
    circuit = submission["circuit"]
    nqubits = circuit["nqubits"]
    for gate in circuit["queue"]:
        assert gate["_class"] in USER_GATES
        for qubit in gate.get("_control_qubits") or []:
            assert 0 <= qubit < nqubits
    assert isinstance(qibo.gates.H, type)
