"""Local devices that mirror the cloud's: the ``sim`` alias, and emulated chips.

A cloud script naming the cloud's simulator runs on ``local://`` unchanged;
on an emulated chip a circuit is transpiled to the chip (its
``transpiled_circuit`` keeps to the couplings) and its counts are as noisy as
the chip's numbers say; a verbatim circuit that does not fit is refused.
"""

from __future__ import annotations

import json
import math
import textwrap
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from tests.support.fakes import RecordingRenderer
from tests.support.server import body, wait_final

from qibo_client.server.chip_files import Chip, read_chip
from qibo_client.server.config import ServerConfig
from qibo_client.server.core import JobRefused, QiboServer
from qibo_client.server.devices import chip_of_backend
from qibo_client.server.worker import run_circuit_task

TOKEN = "lab-token"
CHIP = "qw5q_platinum"
SEED = 20260101
#: Shots of the statistical tests, and how many standard deviations a count may stray.
SHOTS = 20_000
SIGMAS = 5


def seeded_config(tmp_path: Path) -> ServerConfig:
    (tmp_path / "server.toml").write_text(f"[devices.{CHIP}]\nseed = {SEED}\n", encoding="utf-8")
    return ServerConfig.load(tmp_path)


@pytest.fixture
def idle(tmp_path: Path):
    """A server with the default devices whose workers never start: jobs stay queued."""
    server = QiboServer(tmp_path / "idle", config=ServerConfig.load(tmp_path))
    server.add_user(TOKEN)
    yield server
    server.close()


def circuit(nqubits: int, *ops: tuple[str, tuple[int, ...]], wire_names: Any = None) -> Any:
    from qibo import Circuit, gates

    built = Circuit(nqubits, wire_names=wire_names)
    for name, qubits in ops:
        built.add(getattr(gates, name)(*qubits))
    return built


def run(
    config: ServerConfig, device: str, raw: dict[str, Any] | str, workdir: Path
) -> dict[str, Any]:
    """The worker's own runner, in this process: what a job on ``device`` does."""
    found = config.device(device)
    assert found is not None
    workdir.mkdir(parents=True, exist_ok=True)
    task = {
        "pid": "test",
        "circuit": raw,
        "nshots": SHOTS,
        "backend": found.backend,
        "max_qubits": found.max_num_qubits,
        "max_gates": found.max_gates,
        "workdir": str(workdir),
    }
    return run_circuit_task(task)


def ones(frequencies: dict[str, int], position: int) -> int:
    return sum(count for bits, count in frequencies.items() if bits[position] == "1")


def assert_binomial(observed: int, probability: float, shots: int = SHOTS) -> None:
    spread = math.sqrt(shots * probability * (1 - probability))
    assert abs(observed - shots * probability) <= SIGMAS * max(spread, 1.0), (
        observed,
        shots * probability,
    )


# -- aliases --------------------------------------------------------------------------------


def test_the_cloud_simulator_name_is_an_alias_of_numpy_when_the_server_is_configured(tmp_path):
    config = ServerConfig.load(tmp_path)
    sim = config.device("sim")
    assert sim is not None and sim.name == "sim" and sim.backend == "numpy"
    assert "alias of numpy" in sim.description
    assert [d.name for d in config.offered()][-1] == "sim"
    assert "sim" not in {d.name for d in config.devices}  # an alias, not a device of its own
    assert ServerConfig().device("sim") is None  # a config built by hand has only its devices


def test_aliases_are_configurable_and_a_device_table_makes_one_its_own_device(tmp_path):
    (tmp_path / "server.toml").write_text(
        '[aliases]\nsim = "fast"\netna = "qw5q_platinum"\n\n'
        '[devices.fast]\nbackend = "numpy"\nmax_num_qubits = 5\n',
        encoding="utf-8",
    )
    config = ServerConfig.load(tmp_path)
    assert config.device("sim").max_num_qubits == 5  # type: ignore[union-attr]
    assert config.device("etna").chip == read_chip(CHIP)  # type: ignore[union-attr]
    made = ServerConfig.load(tmp_path, {"devices": {"sim": {"max_num_qubits": 3}}})
    assert [(d.name, d.backend, d.max_num_qubits) for d in made.devices][-1] == ("sim", "numpy", 3)
    (tmp_path / "server.toml").write_text('[aliases]\nsim = "nowhere"\n', encoding="utf-8")
    with pytest.raises(ValueError, match="alias 'sim' names device 'nowhere'"):
        ServerConfig.load(tmp_path)


def test_serve_device_flags_offer_only_the_devices_and_aliases_named(tmp_path):
    from qibo_client.cli.serve import _load_config

    assert [d.name for d in _load_config(tmp_path, [("numpy", None)]).offered()] == ["numpy"]
    named = _load_config(tmp_path, [("sim", 6), (CHIP, None)]).offered()
    assert (named[0].name, named[0].backend, named[0].max_num_qubits) == ("sim", "numpy", 6)
    assert [d.name for d in named] == ["sim", CHIP]


def test_the_partitions_list_the_aliases_and_the_chips(idle):
    partitions = {q["partition"]["name"]: q["partition"] for q in idle.project_quotas(TOKEN)}
    assert {"numpy", "sim", CHIP} <= set(partitions)
    assert partitions["sim"]["description"].endswith("(alias of numpy)")
    assert partitions[CHIP]["max_num_qubits"] == 5
    assert partitions[CHIP]["hardware_type"] == "simulator"  # an emulation, honestly named


def test_verbatim_on_a_plain_simulator_is_accepted(idle):
    assert idle.submit(TOKEN, body(device="sim", verbatim=True))["pid"]
    assert idle.submit(TOKEN, body(device="numpy", verbatim=True))["pid"]


# -- chip files -----------------------------------------------------------------------------


def test_the_shipped_chip_is_read_with_its_published_numbers():
    chip = read_chip(CHIP)
    assert chip.qubits == 5 and chip.couplings == ((0, 2), (1, 2), (2, 3), (2, 4))
    assert set(chip.native_gates) == {"I", "Z", "RZ", "GPI2", "CZ", "M"}
    assert chip.readout_error[3] == (0.15, 0.15) and chip.t1_us[0] == 51.0
    assert chip.two_qubit_gate_error == (0.026,) * 4
    assert Chip.from_json(chip.to_json()) == chip
    text = Path(__import__("qibo_client").__file__).parent / "server/chips/qw5q_platinum.toml"
    assert "00b50126265a8288ad51437b5b61509ed0a60630" in text.read_text()  # its source, cited


def test_the_shipped_native_gates_are_qibos_own_default_set():
    from qibo.transpiler import NativeGates

    from qibo_client.server.emulator import _gate_class

    chip = read_chip(CHIP)
    natives = NativeGates.from_gatelist([_gate_class(name) for name in chip.native_gates])
    assert natives == NativeGates.default() and natives.is_universal


def test_a_lab_adds_its_own_chip_with_a_file_in_its_data_folder(tmp_path):
    (tmp_path / "chips").mkdir()
    (tmp_path / "chips" / "line3.toml").write_text(
        textwrap.dedent(
            """
            name = "line3"
            qubits = 3
            couplings = [[0, 1], [1, 2]]
            native_gates = ["RZ", "GPI2", "CZ"]
            one_qubit_gate_ns = 20
            two_qubit_gate_ns = 100
            readout_error = [0.02, [0.01, 0.05], 0.03]
            one_qubit_gate_error = 0.001
            t1_us = 50
            t2_us = [40, 60, 80]
            two_qubit_gate_error = {"0-1" = 0.01, "2-1" = 0.02}
            """
        ),
        encoding="utf-8",
    )
    (tmp_path / "server.toml").write_text(
        '[devices.etna]\nchip = "chips/line3.toml"\nseed = 7\nmax_num_shots = 500\n',
        encoding="utf-8",
    )
    etna = ServerConfig.load(tmp_path).device("etna")
    assert etna is not None and etna.chip is not None and etna.max_num_qubits == 3
    assert etna.chip.readout_error == ((0.02, 0.02), (0.01, 0.05), (0.03, 0.03))
    assert etna.chip.pair_error(2, 1) == 0.02 and etna.max_num_shots == 500
    assert chip_of_backend(etna.backend).seed == 7  # type: ignore[union-attr]


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ("qubits = 40", "qubits must be a whole number from 1 to 10"),
        ("couplings = [[0, 1]]", "couplings must connect every qubit"),
        ('native_gates = ["GPI2", "Toffoli"]', "Toffoli cannot be native"),
        ('native_gates = ["GPI2", "RZ"]', "must include a two-qubit gate"),
        ("t2_us = 500", "may be at most twice t1_us"),
        ("readout_error = [0.1, 0.2]", "one entry per qubit"),
        ("one_qubit_gate_error = 1.5", "probabilities from 0 to 1"),
        ('two_qubit_gate_error = {"0-1" = 0.1}', "no error for 1-2"),
        ("colour = 1", "unknown key"),
    ],
)
def test_a_wrong_chip_file_is_refused_naming_what_is_wrong(tmp_path, change, message):
    lines = {
        "qubits": "qubits = 3",
        "couplings": "couplings = [[0, 1], [1, 2]]",
        "native_gates": 'native_gates = ["GPI2", "RZ", "CZ"]',
        "one_qubit_gate_ns": "one_qubit_gate_ns = 20",
        "two_qubit_gate_ns": "two_qubit_gate_ns = 100",
        "t1_us": "t1_us = 50",
        "t2_us": "t2_us = 60",
    }
    lines[change.split(" = ")[0]] = change
    (tmp_path / "bad.toml").write_text("\n".join(lines.values()) + "\n", encoding="utf-8")
    (tmp_path / "server.toml").write_text('[devices.bad]\nchip = "bad.toml"\n', encoding="utf-8")
    with pytest.raises(ValueError, match=message):
        ServerConfig.load(tmp_path)


# -- verbatim circuits on a chip ------------------------------------------------------------


def test_a_verbatim_circuit_that_fits_the_chip_is_queued(idle):
    fits = circuit(3, ("GPI2", (0, 0.5)), ("CZ", (0, 1)), ("M", (0, 1, 2)), wire_names=[2, 0, 4])
    assert idle.submit(TOKEN, body(fits.raw, device=CHIP, verbatim=True))["pid"]


@pytest.mark.parametrize(
    ("ops", "wire_names", "reason"),
    [
        ((("H", (0,)), ("M", (0,))), None, r"queue\[0\] \(H\) is not native"),
        ((("CZ", (0, 1)), ("M", (0, 1))), None, "qubits 0 and 1, which are not coupled"),
        ((("CZ", (0, 1)),), [3, 4], "qubits 3 and 4, which are not coupled"),
        ((("M", (0,)),), ["A1"], "name qubit 'A1', which chip 'qw5q_platinum' lacks"),
    ],
)
def test_a_verbatim_circuit_that_does_not_fit_is_refused_saying_why(idle, ops, wire_names, reason):
    raw = circuit(len(wire_names or [0, 1]), *ops, wire_names=wire_names).raw
    with pytest.raises(JobRefused, match=reason) as refused:
        idle.submit(TOKEN, body(raw, device=CHIP, verbatim=True))
    assert "verbatim=False" in refused.value.detail or "lacks" in refused.value.detail
    with pytest.raises(JobRefused, match=reason):  # a dry run says the same
        idle.dry_run(TOKEN, body(raw, device=CHIP, verbatim=True))


def test_a_verbatim_openqasm_circuit_is_refused_on_a_chip_and_transpiled_otherwise(idle):
    qasm = 'OPENQASM 2.0;\ninclude "qelib1.inc";\nqreg q[2];\ncz q[0],q[1];\n'
    with pytest.raises(JobRefused, match=r"OpenQASM text; send the circuit as circuit\.raw"):
        idle.submit(TOKEN, body(qasm, device=CHIP, verbatim=True))
    assert idle.submit(TOKEN, body(qasm, device=CHIP))["pid"]


def test_a_transpiled_circuit_is_still_checked_as_data_first(idle):
    raw = circuit(2, ("H", (0,))).raw
    raw["queue"][0]["_class"] = "__setattr__"
    with pytest.raises(JobRefused, match="is not a gate this server runs"):
        idle.submit(TOKEN, body(raw, device=CHIP))


# -- running on the chip --------------------------------------------------------------------


def chip_circuit(text: str) -> Any:
    from qibo import Circuit

    return Circuit.from_dict(json.loads(text))


def test_a_circuit_is_transpiled_to_the_chips_couplings_and_native_gates(tmp_path):
    config = seeded_config(tmp_path)
    chip = config.device(CHIP).chip  # type: ignore[union-attr]
    bell = circuit(2, ("H", (0,)), ("CNOT", (0, 1)), ("M", (0, 1)))  # 0 and 1 are not coupled
    outcome = run(config, CHIP, bell.raw, tmp_path / "work")
    transpiled = chip_circuit(outcome["transpiled_circuit"])
    assert transpiled.nqubits == 5 and transpiled.wire_names == [0, 1, 2, 3, 4]
    pairs = [tuple(sorted(g.qubits)) for g in transpiled.queue if len(g.qubits) == 2]
    assert pairs and all(chip.coupled(*pair) for pair in pairs)  # type: ignore[union-attr]
    assert {type(g).__name__ for g in transpiled.queue} <= set(chip.native_gates)  # type: ignore[union-attr]
    counts = outcome["frequencies"]
    assert sum(counts.values()) == SHOTS and set(counts) <= {"00", "01", "10", "11"}
    assert counts["00"] + counts["11"] > 0.6 * SHOTS  # still a Bell pair, mostly
    assert counts.get("01", 0) + counts.get("10", 0) > 0.1 * SHOTS  # but a noisy one
    again = run(config, CHIP, bell.raw, tmp_path / "again")
    assert again == outcome  # the seed fixes routing and samples


def test_an_openqasm_circuit_is_transpiled_too(tmp_path):
    config = seeded_config(tmp_path)
    qasm = (
        'OPENQASM 2.0;\ninclude "qelib1.inc";\nqreg q[2];\ncreg c[2];\n'
        "h q[0];\ncx q[0],q[1];\nmeasure q[0] -> c[0];\nmeasure q[1] -> c[1];\n"
    )
    outcome = run(config, CHIP, qasm, tmp_path / "work")
    transpiled = chip_circuit(outcome["transpiled_circuit"])
    pairs = [tuple(sorted(g.qubits)) for g in transpiled.queue if len(g.qubits) == 2]
    assert pairs and all(config.device(CHIP).chip.coupled(*p) for p in pairs)  # type: ignore[union-attr]
    assert sum(outcome["frequencies"].values()) == SHOTS


def test_readout_errors_flip_each_qubit_as_often_as_the_chip_says(tmp_path):
    config = seeded_config(tmp_path)
    chip = config.device(CHIP).chip  # type: ignore[union-attr]
    measure_all = circuit(5, ("M", (0, 1, 2, 3, 4)))
    ideal = run(config, "sim", measure_all.raw, tmp_path / "ideal")["frequencies"]
    assert ideal == {"00000": SHOTS}
    noisy = run(config, CHIP, measure_all.raw, tmp_path / "noisy")["frequencies"]
    for qubit in range(5):
        assert_binomial(ones(noisy, qubit), chip.readout_error[qubit][0])  # type: ignore[union-attr]


def expected_one(gates_on_qubit: list[Any], chip: Chip, qubit: int) -> float:
    """P(reading 1) after ``gates_on_qubit``, from the chip's numbers, by hand: each gate's
    unitary, then (unless virtual) depolarizing of 2r and relaxation for the gate's time."""
    rho = np.array([[1, 0], [0, 0]], dtype=complex)
    t1, t2 = chip.t1_us[qubit] * 1000, chip.t2_us[qubit] * 1000
    for gate in gates_on_qubit:
        unitary = gate.matrix()
        rho = unitary @ rho @ unitary.conj().T
        if type(gate).__name__ in ("I", "Z", "RZ"):
            continue
        lam = 2 * chip.one_qubit_gate_error[qubit]
        rho = (1 - lam) * rho + lam * np.eye(2) / 2
        decay, dephase = (
            math.exp(-chip.one_qubit_gate_ns / t1),
            math.exp(-chip.one_qubit_gate_ns / t2),
        )
        excited = rho[1, 1].real * decay
        rho = np.array([[1 - excited, rho[0, 1] * dephase], [rho[1, 0] * dephase, excited]])
    wrong_zero, wrong_one = chip.readout_error[qubit]
    return float(rho[0, 0].real * wrong_zero + rho[1, 1].real * (1 - wrong_one))


def test_gate_noise_makes_the_counts_differ_from_the_ideal_ones_as_the_chip_says(tmp_path):
    config = seeded_config(tmp_path)
    chip = config.device(CHIP).chip  # type: ignore[union-attr]
    assert chip is not None
    flip = circuit(1, ("X", (0,)), ("M", (0,)), wire_names=[3])  # qubit 3: the noisiest
    ideal = run(config, "sim", flip.raw, tmp_path / "ideal")["frequencies"]
    assert ideal == {"1": SHOTS}
    outcome = run(config, CHIP, flip.raw, tmp_path / "noisy")
    transpiled = chip_circuit(outcome["transpiled_circuit"])
    on_three = [g for g in transpiled.queue if g.name != "measure"]
    assert on_three and all(g.qubits == (3,) for g in on_three)  # placed where wire_names say
    probability = expected_one(on_three, chip, 3)
    readout_only = 1 - chip.readout_error[3][1]
    assert probability < readout_only - 0.01  # the gates' own noise is not negligible here
    assert_binomial(outcome["frequencies"].get("1", 0), probability)


def test_a_circuit_that_fits_runs_as_written_on_the_chips_qubits(tmp_path):
    config = seeded_config(tmp_path)
    fits = circuit(3, ("GPI2", (0, 0.5)), ("CZ", (0, 1)), ("M", (0, 1, 2)), wire_names=[2, 0, 4])
    transpiled = chip_circuit(run(config, CHIP, fits.raw, tmp_path / "work")["transpiled_circuit"])
    assert [(g.name, g.qubits) for g in transpiled.queue] == [
        ("gpi2", (2,)),
        ("cz", (2, 0)),
        ("measure", (2, 0, 4)),
    ]


# -- through the server and the client ------------------------------------------------------


@pytest.mark.slow
def test_the_job_object_carries_the_transpiled_circuit_until_the_job_is_deleted(tmp_path):
    config = seeded_config(tmp_path)
    with QiboServer(tmp_path / "data", config=config) as server:
        server.add_user(TOKEN)
        bell = circuit(2, ("H", (0,)), ("CNOT", (0, 1)), ("M", (0, 1)))
        pid = server.submit(TOKEN, body(bell.raw, device=CHIP, nshots=500))["pid"]
        job = wait_final(server, TOKEN, pid)
        assert job["status"] == "success", job["stderr"]
        transpiled = chip_circuit(job["transpiled_circuit"])
        pairs = [tuple(sorted(g.qubits)) for g in transpiled.queue if len(g.qubits) == 2]
        assert pairs and all(config.device(CHIP).chip.coupled(*p) for p in pairs)  # type: ignore[union-attr]
        plain = server.submit(TOKEN, body(bell.raw, device="sim"))["pid"]
        assert wait_final(server, TOKEN, plain)["transpiled_circuit"] is None
        server.delete_job(TOKEN, pid)
        assert not list((tmp_path / "data" / "results").glob(f"{pid}*"))


CLOUD_SCRIPT = """
import qibo
import qibo_client

# create the circuit you want to run
circuit = qibo.models.QFT(3)
circuit.add(qibo.gates.M(0, 1, 2))

# authenticate to server through the client instance
token = "your-token"
url = "{url}"
client = qibo_client.Client(token, url)

# run the circuit
device = "sim"
project = "personal"
job = client.run_circuit(circuit, device=device, project=project, nshots=1024)
result = job.result()
print(sum(result.frequencies().values()))
"""


@pytest.mark.slow
def test_a_cloud_script_naming_the_cloud_simulator_runs_on_local_unchanged(tmp_path, capfd):
    script = CLOUD_SCRIPT.format(url=f"local://{tmp_path / 'server'}")
    exec(compile(script, "cloud_script.py", "exec"), {"__name__": "__main__"})
    assert capfd.readouterr().out.strip().endswith("1024")

    from qibo_client import Client

    renderer = RecordingRenderer()
    with Client("your-token", f"local://{tmp_path / 'server'}", renderer=renderer) as client:
        client.print_quota_info()
        bell = circuit(2, ("H", (0,)), ("CNOT", (0, 1)), ("M", (0, 1)))
        counts = client.run_circuit(bell, device=CHIP, nshots=300).result().frequencies()
    _, projects = renderer.quotas[-1]
    names = [p.partition.name for p in projects]
    assert {"sim", "numpy", CHIP} <= set(names)
    assert sum(counts.values()) == 300
