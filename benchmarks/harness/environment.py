"""What a benchmark run stands on: the published client's venv, the local server, the machine."""

from __future__ import annotations

import json
import os
import platform
import queue
import re
import secrets
import shutil
import subprocess
import sys
import threading
import time
import venv
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

BENCH_DIR = Path(__file__).resolve().parent.parent
DRIVER = BENCH_DIR / "drivers" / "client_task.py"
PUBLISHED_SPEC = "qibo-client==0.2.4"
PUBLISHED_VERSION = "0.2.4"
#: Amazon Braket's SDK, for the variational case's ``LocalSimulator`` (``--braket``).
BRAKET_VERSION = "1.127.5"
BRAKET_SPEC = f"amazon-braket-sdk=={BRAKET_VERSION}"
READY = re.compile(r"Serving the Qibo protocol on (http://\S+)")
MARK = "BENCH-RESULT "
ARGS_ENV = "QIBO_BENCH_ARGS"  # the driver's arguments (they hold the token: not in argv)


def _installed_version(python: Path, package: str) -> str | None:
    probe = f"import importlib.metadata as m; print(m.version({package!r}))"
    try:
        done = subprocess.run(
            [str(python), "-c", probe], capture_output=True, text=True, timeout=60, check=False
        )
    except OSError:
        return None
    return done.stdout.strip() if done.returncode == 0 else None


def published_python(venv_dir: Path, log: Any = print) -> Path:
    """The interpreter of a venv holding the published client, created on first use."""
    return venv_with(venv_dir, PUBLISHED_SPEC, "qibo-client", PUBLISHED_VERSION, log=log)


def braket_python(venv_dir: Path, log: Any = print) -> Path:
    """The interpreter of a venv holding Amazon Braket's SDK (``--braket``), created on first use."""
    return venv_with(venv_dir, BRAKET_SPEC, "amazon-braket-sdk", BRAKET_VERSION, log=log)


def venv_with(venv_dir: Path, spec: str, package: str, version: str, log: Any = print) -> Path:
    """The interpreter of ``venv_dir``, where ``pip install spec`` put ``package==version``.

    Reused when it already holds that version; otherwise made afresh (once).
    """
    python = venv_dir / "bin" / "python"
    if python.exists() and _installed_version(python, package) == version:
        log(f"reusing {venv_dir} ({spec})")
        return python
    log(f"creating {venv_dir} and installing {spec} (once; a minute or two)")
    shutil.rmtree(venv_dir, ignore_errors=True)
    venv.EnvBuilder(with_pip=True, clear=True).create(venv_dir)
    subprocess.run(
        [str(python), "-m", "pip", "install", "--quiet", "--disable-pip-version-check", spec],
        check=True,
    )
    if _installed_version(python, package) != version:
        raise RuntimeError(f"{venv_dir}: installing {spec} did not give it")
    return python


def precompile_ours() -> None:
    """Write the bytecode of our editable sources, as ``pip install`` does for a wheel.

    An editable install has none until a module is first imported with bytecode
    writing allowed (``PYTHONDONTWRITEBYTECODE`` may forbid it), and 0.2.4's
    venv has all of it: without this, our fresh processes would pay for
    compiling our modules, which no installed copy of ours does.
    """
    import compileall
    import importlib.util

    spec = importlib.util.find_spec("qibo_client")
    roots = [Path(p) for p in (spec.submodule_search_locations or [])] if spec else []
    contrib = BENCH_DIR.parent / "contrib"
    roots += [contrib] if contrib.is_dir() else []
    for root in roots:
        compileall.compile_dir(str(root), quiet=1)


SERVER_TOML = """\
[quota]
jobs_max = 1000000
shots_max = 1000000000
seconds_max = 100000000
disk_kbs_max = 100000000

[devices.numpy]
max_num_qubits = {max_qubits}
max_walltime_seconds = 3600
"""


@dataclass
class LocalServer:
    """The local server (``serve``, via ``drivers/serve_bench.py``) on loopback.

    It gets a throw-away data folder and token, and a ``server.toml`` with a
    quota no benchmark exhausts and ``max_qubits`` on the numpy device.
    """

    data_dir: Path
    max_qubits: int = 24
    workers: int = 1
    token: str = field(default_factory=lambda: "bench-" + secrets.token_hex(16))
    url: str = ""
    process: subprocess.Popen[str] | None = None
    log_path: Path | None = None

    def start(self, timeout: float = 120.0) -> LocalServer:
        self.data_dir.mkdir(parents=True, exist_ok=True)
        (self.data_dir / "server.toml").write_text(
            SERVER_TOML.format(max_qubits=self.max_qubits), encoding="utf-8"
        )
        # The token goes in the data folder's token file, where serve looks for it, not argv.
        descriptor = os.open(self.data_dir / "token", os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(descriptor, "w", encoding="utf-8") as handle:
            handle.write(self.token + "\n")
        self.log_path = self.data_dir.parent / "server.log"
        command = [
            sys.executable, str(BENCH_DIR / "drivers" / "serve_bench.py"), "--port", "0",
            "--data-dir", str(self.data_dir),
        ]  # fmt: skip
        if self.workers != 1:
            command += ["--workers", str(self.workers)]
        log = self.log_path.open("w", encoding="utf-8")
        self.process = subprocess.Popen(
            command, stdout=subprocess.PIPE, stderr=log, text=True, start_new_session=True
        )
        lines: queue.Queue[str] = queue.Queue()

        def pump() -> None:
            assert self.process is not None and self.process.stdout is not None
            for line in self.process.stdout:
                lines.put(line)
                log.write(line)
                log.flush()

        threading.Thread(target=pump, daemon=True).start()
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                line = lines.get(timeout=0.2)
            except queue.Empty:
                if self.process.poll() is not None:
                    break
                continue
            found = READY.search(line)
            if found:
                self.url = found.group(1).rstrip("/")
                return self
        self.stop()
        tail = self.log_path.read_text(encoding="utf-8", errors="replace")[-2000:]
        raise RuntimeError(f"the local server did not start; its log ends with:\n{tail}")

    def stop(self) -> None:
        if self.process is None or self.process.poll() is not None:
            return
        self.process.terminate()
        try:
            self.process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(timeout=10)

    def __enter__(self) -> LocalServer:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()


def run_driver(
    python: Path, task: str, args: dict[str, Any], *, env: dict[str, str] | None = None,
    timeout: float = 900.0, driver: Path = DRIVER,
) -> dict[str, Any]:  # fmt: skip
    """Run one driver task in a fresh ``python`` and return its JSON answer.

    ``driver`` is the script (``drivers/client_task.py`` unless told): it gets
    ``task`` as its argument and ``args`` as JSON in ``$QIBO_BENCH_ARGS``.
    """
    done = subprocess.run(
        [str(python), str(driver), task],
        capture_output=True, text=True, timeout=timeout, check=False,
        env=driver_env({**(env or {}), ARGS_ENV: json.dumps(args)}),
    )  # fmt: skip
    return parse_answer(done.stdout, done.stderr, done.returncode, task)


def parse_answer(stdout: str, stderr: str, returncode: int, task: str) -> dict[str, Any]:
    answers = [line[len(MARK) :] for line in stdout.splitlines() if line.startswith(MARK)]
    if returncode != 0 or not answers:
        raise RuntimeError(f"driver task {task!r} failed ({returncode}):\n{stderr[-3000:]}")
    return json.loads(answers[-1])


def driver_env(extra: dict[str, str] | None = None) -> dict[str, str]:
    """The environment drivers run in: quiet clients, no stray virtual environment."""
    env = {k: v for k, v in os.environ.items() if k not in ("VIRTUAL_ENV", "PYTHONPATH")}
    env.update({"QIBO_LOG_LEVEL": "3", "PYTHONUNBUFFERED": "1"})
    env.update(extra or {})
    return env


def machine() -> dict[str, str]:
    """What the figures were measured on."""
    cpu = platform.processor() or platform.machine()
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as info:
            names = [
                line.split(":", 1)[1].strip() for line in info if line.startswith("model name")
            ]
        cpu = names[0] if names else cpu
    except OSError:
        pass
    memory = ""
    try:
        with open("/proc/meminfo", encoding="utf-8") as info:
            kib = int(next(line for line in info if line.startswith("MemTotal")).split()[1])
        memory = f"{kib / 2**20:.0f} GiB"
    except (OSError, StopIteration, ValueError):
        pass
    return {
        "os": f"{platform.system()} {platform.release()}",
        "cpu": f"{cpu} x {os.cpu_count()}",
        "memory": memory,
        "python": platform.python_version(),
    }


def source_revision() -> str:
    """The commit our sources are at, and whether ``src/`` differs from it (measured as it is)."""
    repo = BENCH_DIR.parent

    def git(*args: str) -> str:
        try:
            done = subprocess.run(
                ["git", "-C", str(repo), *args], capture_output=True, text=True, timeout=30
            )
        except (OSError, subprocess.TimeoutExpired):
            return ""
        return done.stdout.strip() if done.returncode == 0 else ""

    commit = git("rev-parse", "--short=12", "HEAD")
    if not commit:
        return "?"
    changed = git("status", "--porcelain", "--", "src")
    return commit + (
        f" with uncommitted changes in {len(changed.splitlines())} file(s) of src/"
        if changed
        else ""
    )


def versions(ours: Path, published: Path, braket: Path | None = None) -> dict[str, str]:
    """Versions of both clients and what they run on (and of Braket's SDK, when it ran)."""
    found = {"ours source": source_revision()}
    for label, python in (("ours", ours), ("published", published)):
        for package in ("qibo-client", "qibo", "numpy", "requests"):
            found[f"{label} {package}"] = _installed_version(python, package) or "?"
    if braket is not None:
        for package in ("amazon-braket-sdk", "amazon-braket-default-simulator", "numpy"):
            found[f"braket {package}"] = _installed_version(braket, package) or "?"
    return found
