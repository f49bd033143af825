"""The local server's settings: its devices and each user's quota.

Read from an optional ``<data_dir>/server.toml`` and then from overrides (the
``serve`` command's flags), so a server runs with no file at all::

    [quota]
    jobs_max = 10000
    shots_max = 100000000
    seconds_max = 360000
    disk_kbs_max = 5000000

    [limits]
    idempotency_seconds = 86400     # how long a submission's Idempotency-Key is remembered
    worker_memory_bytes = 0         # address space a worker may add after start-up (0: derived)

    [devices.numpy]
    max_num_qubits = 24
    max_walltime_seconds = 3600
    max_num_shots = 1000000
    max_memory_bytes = 728870912    # state and samples of one job (the default here)
    max_gates = 50000               # gates per circuit
    max_gate_work = 335544320000    # gates x amplitudes; default 20000 x 2^max_num_qubits
    description = "qibo's numpy simulator"
    status = "available"

    [aliases]                       # cloud device names, and the device each runs on
    sim = "numpy"                   # the default: the Qibo cloud's simulator

    [devices.etna]                  # an emulated chip (see qibo_client.server.devices)
    chip = "chips/etna.toml"        # a chip file, relative to the data folder, or a shipped chip
    seed = 1234                     # optional: the same routing and samples every run
"""

from __future__ import annotations

import importlib.util
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field, fields, replace
from pathlib import Path
from typing import Any

from qibo_client.server.chip_files import Chip, read_chip, shipped_chips
from qibo_client.server.devices import DEFAULT_ALIASES, alias_description, emulator_backend

CONFIG_FILE = "server.toml"

#: The qibo backends the server knows how to run, with their defaults.
_BACKENDS: dict[str, dict[str, Any]] = {
    "numpy": {"max_num_qubits": 24, "description": "qibo's numpy state-vector simulator"},
    "qibojit": {"max_num_qubits": 28, "description": "qibo's just-in-time compiled simulator"},
}

_QUOTA_KEYS = ("jobs_max", "shots_max", "seconds_max", "disk_kbs_max")
_LIMIT_KEYS = ("idempotency_seconds", "worker_memory_bytes")
_DEVICE_KEYS = (
    "max_num_qubits",
    "max_walltime_seconds",
    "max_num_shots",
    "max_memory_bytes",
    "max_gates",
    "max_gate_work",
    "description",
    "status",
)
#: Bytes per amplitude of a state (complex128), and per drawn sample and measured qubit.
AMPLITUDE_BYTES = 16
SAMPLE_BYTES = 8
#: Default work bound: this many gates on the largest state a device holds.
DEFAULT_GATES_AT_MAX_QUBITS = 20_000
#: The default gate bound of an emulated chip: transpiling multiplies gates, noise adds more.
CHIP_MAX_GATES = 5_000


@dataclass
class DeviceConfig:
    """One device the server offers: a qibo simulator backend, or an emulated ``chip``."""

    name: str
    max_num_qubits: int
    description: str
    status: str = "available"
    max_walltime_seconds: float = 3600.0
    max_num_shots: int = 1_000_000
    hardware_type: str = "simulator"
    backend: str = ""
    #: The memory one job may need (state, and samples); ``None``: twice a state vector
    #: of ``max_num_qubits`` (so a density matrix holds about half as many qubits),
    #: plus the samples of ``max_num_shots`` on every qubit.
    max_memory_bytes: int | None = None
    #: The most gates one circuit may have.
    max_gates: int = 50_000
    #: The most gates x amplitudes one circuit may need; ``None``: 20,000 gates on
    #: a state vector of ``max_num_qubits``.
    max_gate_work: int | None = None
    #: The chip this device emulates (:mod:`qibo_client.server.devices`); ``None``: a simulator.
    chip: Chip | None = None
    #: An emulated chip's random seed (routing and sampling), for reproducible runs.
    seed: int | None = None

    def __post_init__(self) -> None:
        if self.chip is not None:
            self.backend = emulator_backend(replace(self.chip, seed=self.seed))
            if self.max_num_qubits > self.chip.qubits:
                raise ValueError(
                    f"device {self.name!r}: max_num_qubits is {self.max_num_qubits} but its "
                    f"chip has {self.chip.qubits} qubits"
                )
        elif self.seed is not None:
            raise ValueError(f"device {self.name!r}: seed applies to emulated chips only")
        self.backend = self.backend or self.name
        if self.seed is not None and (
            isinstance(self.seed, bool) or not isinstance(self.seed, int)
        ):
            raise ValueError(f"device {self.name!r}: seed must be a whole number")
        if self.status not in ("available", "unavailable"):
            raise ValueError(
                f"device {self.name!r}: status must be 'available' or 'unavailable', "
                f"got {self.status!r}"
            )
        for key in (
            "max_num_qubits",
            "max_walltime_seconds",
            "max_num_shots",
            "max_memory_bytes",
            "max_gates",
            "max_gate_work",
        ):
            value = getattr(self, key)
            if value is None and key in ("max_memory_bytes", "max_gate_work"):
                continue
            if isinstance(value, bool) or not isinstance(value, (int, float)) or value <= 0:
                raise ValueError(f"device {self.name!r}: {key} must be a positive number")

    def memory_cap(self) -> int:
        """The bytes one job may need: ``max_memory_bytes``, or twice a full state vector
        and the samples of the most shots on every qubit."""
        if self.max_memory_bytes is not None:
            return int(self.max_memory_bytes)
        qubits = int(self.max_num_qubits)
        samples = SAMPLE_BYTES * int(self.max_num_shots) * qubits
        return 2 * AMPLITUDE_BYTES * 2**qubits + samples

    def gate_work_cap(self) -> int:
        """The most gates x amplitudes one circuit may need."""
        if self.max_gate_work is not None:
            return int(self.max_gate_work)
        return DEFAULT_GATES_AT_MAX_QUBITS * 2 ** int(self.max_num_qubits)


def backend_available(name: str) -> bool:
    """True when qibo can run ``name`` here (checked without importing it)."""
    if name == "numpy":
        return True
    return importlib.util.find_spec(name) is not None


def chip_device(name: str, chip: Chip, **settings: Any) -> DeviceConfig:
    """A device emulating ``chip``, with its defaults (all its qubits, fewer gates)."""
    defaults: dict[str, Any] = {
        "max_num_qubits": chip.qubits,
        "description": chip.description or f"an emulation of chip {chip.name}",
        "max_gates": CHIP_MAX_GATES,
    }
    return DeviceConfig(name=name, chip=chip, **{**defaults, **settings})


def default_devices() -> list[DeviceConfig]:
    """``numpy`` always, ``qibojit`` when it is installed, and the chips shipped with us."""
    simulators = [
        DeviceConfig(name=name, **defaults)
        for name, defaults in _BACKENDS.items()
        if backend_available(name)
    ]
    return simulators + [chip_device(name, read_chip(name)) for name in shipped_chips()]


@dataclass
class ServerConfig:
    """The devices and the quota every user starts with on each of them."""

    devices: list[DeviceConfig] = field(default_factory=default_devices)
    jobs_max: int = 10_000
    shots_max: int = 100_000_000
    seconds_max: float = 360_000.0
    disk_kbs_max: float = 5_000_000.0
    #: Seconds an ``Idempotency-Key`` is remembered after its submission.
    idempotency_seconds: float = 86_400.0
    #: Address space a worker may add to what it holds once started (0: derived
    #: from the devices' memory caps, see :meth:`worker_memory_budget`).
    worker_memory_bytes: int = 0
    #: Other names of devices: ``{alias: device}``. :meth:`load` starts from
    #: :data:`~qibo_client.server.devices.DEFAULT_ALIASES` (``sim``, the cloud's simulator).
    aliases: dict[str, str] = field(default_factory=dict)

    def device(self, name: str) -> DeviceConfig | None:
        """The device called ``name``, or the device an alias ``name`` runs on, under that name."""
        found = next((d for d in self.devices if d.name == name), None)
        if found is None and name in self.aliases:
            target = next((d for d in self.devices if d.name == self.aliases[name]), None)
            if target is not None:
                description = alias_description(name, target.name, target.description)
                found = replace(target, name=name, description=description)
        return found

    def offered(self) -> list[DeviceConfig]:
        """Every device, then every alias whose device is offered (as the partitions list them)."""
        names = [d.name for d in self.devices] + [a for a in self.aliases if self.device(a)]
        return [device for device in map(self.device, dict.fromkeys(names)) if device]

    def worker_memory_budget(self) -> int:
        """Bytes of address space a worker may add after start-up: ``worker_memory_bytes``,
        or three times the largest device's memory cap (a gate copies the state) plus 1 GiB."""
        if self.worker_memory_bytes:
            return int(self.worker_memory_bytes)
        largest = max((d.memory_cap() for d in self.devices), default=0)
        return 3 * largest + (1 << 30)

    def worker_max_qubits(self) -> tuple[int, int]:
        """qibo's own bounds for a worker (``QIBO_MAX_QUBITS``, ``QIBO_MAX_QUBITS_DM``)."""
        state = max((int(d.max_num_qubits) for d in self.devices), default=1)
        density = 1
        for device in self.devices:
            qubits = 1
            while AMPLITUDE_BYTES * 4 ** (qubits + 1) <= device.memory_cap():
                qubits += 1
            density = max(density, min(qubits, int(device.max_num_qubits)))
        return state, density

    @classmethod
    def load(cls, data_dir: Path, overrides: Mapping[str, Any] | None = None) -> ServerConfig:
        """Defaults, then ``data_dir/server.toml`` if present, then ``overrides``.

        ``overrides`` takes the ``[quota]`` keys and the device keys (applied to
        every device) at top level, and ``devices`` as the TOML's table; keys
        whose value is ``None`` are ignored. Unknown keys raise ``ValueError``.
        """
        config = cls(aliases=dict(DEFAULT_ALIASES))
        base = Path(data_dir).expanduser()
        path = base / CONFIG_FILE
        if path.is_file():
            try:
                data = tomllib.loads(path.read_text(encoding="utf-8"))
            except (tomllib.TOMLDecodeError, UnicodeDecodeError) as error:
                raise ValueError(f"{path} is not valid TOML: {error}") from None
            unknown = set(data) - {"quota", "limits", "devices", "aliases"}
            if unknown:
                raise ValueError(
                    f"{path}: unknown section(s) {', '.join(sorted(unknown))}; "
                    "use [quota], [limits], [aliases] and [devices.<name>]"
                )
            config = config._with_quota(data.get("quota", {}), str(path))
            config = config._with_quota(data.get("limits", {}), str(path), "limits")
            config = config._with_aliases(data.get("aliases", {}), str(path))
            config = config._with_devices(data.get("devices", {}), str(path), base)
        if overrides:
            given = {k: v for k, v in overrides.items() if v is not None}
            known = (*_QUOTA_KEYS, *_LIMIT_KEYS, *_DEVICE_KEYS, "devices", "aliases")
            unknown = set(given) - set(known)
            if unknown:
                raise ValueError(
                    f"unknown server setting(s) {', '.join(sorted(unknown))}; known: "
                    f"{', '.join(known)}"
                )
            config = config._with_quota({k: given[k] for k in _QUOTA_KEYS if k in given}, "")
            limits = {k: given[k] for k in _LIMIT_KEYS if k in given}
            config = config._with_quota(limits, "", "limits")
            every = {k: given[k] for k in _DEVICE_KEYS if k in given}
            if every:
                config.devices = [replace(d, **every) for d in config.devices]
            config = config._with_aliases(given.get("aliases", {}), "")
            config = config._with_devices(given.get("devices", {}), "", base)
        for alias, target in config.aliases.items():
            if config.device(target) is None and target not in _BACKENDS:
                raise ValueError(
                    f"alias {alias!r} names device {target!r}, which this server does not offer; "
                    f"its devices: {', '.join(d.name for d in config.devices)}"
                )
        return config

    def _with_quota(
        self, quota: Mapping[str, Any], source: str, section: str = "quota"
    ) -> ServerConfig:
        where = f"{source} [{section}]" if source else section
        if not isinstance(quota, Mapping):
            raise ValueError(f"{where} must be a table")
        unknown = set(quota) - set(_LIMIT_KEYS if section == "limits" else _QUOTA_KEYS)
        if unknown:
            raise ValueError(f"{where}: unknown key(s) {', '.join(sorted(unknown))}")
        for key, value in quota.items():
            if isinstance(value, bool) or not isinstance(value, (int, float)) or value < 0:
                raise ValueError(f"{where}: {key} must be a number >= 0, got {value!r}")
        return replace(self, **dict(quota))

    def _with_aliases(self, aliases: Mapping[str, Any], source: str) -> ServerConfig:
        where = f"{source} [aliases]" if source else "aliases"
        if not isinstance(aliases, Mapping):
            raise ValueError(f'{where} must be a table of alias = "device"')
        for alias, target in aliases.items():
            if not isinstance(target, str) or not target or target == alias:
                raise ValueError(f'{where}.{alias} must name another device, e.g. "numpy"')
        return replace(self, aliases={**self.aliases, **dict(aliases)})

    def _with_devices(
        self, devices: Mapping[str, Any], source: str, base: Path | None = None
    ) -> ServerConfig:
        """Devices updated, added, or made from an alias or a chip file (relative to ``base``)."""
        where = f"{source} [devices]" if source else "devices"
        if not isinstance(devices, Mapping):
            raise ValueError(f"{where} must be a table of device tables")
        known = {f.name for f in fields(DeviceConfig)} - {"name"}
        config = replace(self, devices=list(self.devices))
        for name, given in devices.items():
            if not isinstance(given, Mapping):
                raise ValueError(f"{where}.{name} must be a table")
            unknown = set(given) - known
            if unknown:
                raise ValueError(f"{where}.{name}: unknown key(s) {', '.join(sorted(unknown))}")
            settings = dict(given)
            try:
                if "backend" in settings and settings["backend"] not in _BACKENDS:
                    _new_simulator(name, settings["backend"])  # raises, naming the known ones
                if "chip" in settings:
                    updated = chip_device(name, read_chip(settings.pop("chip"), base), **settings)
                else:
                    current = config.device(name)  # a device, or an alias made a device
                    if current is None:
                        current = _new_simulator(name, settings.get("backend", name))
                        if current is None:
                            continue  # configured, but its backend is not installed here
                    updated = replace(current, **settings)
            except (TypeError, ValueError) as error:
                raise ValueError(f"{where}.{name}: {error}") from None
            config.devices = [d for d in config.devices if d.name != name] + [updated]
        return config


def _new_simulator(name: str, backend: str) -> DeviceConfig | None:
    """A new device on a qibo backend; ``None`` when the backend is not installed here."""
    if backend not in _BACKENDS:
        raise ValueError(
            f"unknown qibo backend {backend!r}; known: {', '.join(_BACKENDS)} (set backend = "
            f"... to name a device otherwise, or chip = ... to emulate a chip)"
        )
    if not backend_available(backend):
        return None
    return DeviceConfig(name=name, backend=backend, **_BACKENDS[backend])
