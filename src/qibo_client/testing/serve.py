"""Start ``qibo-client serve`` (``python -m qibo_client.server``) on a free loopback port, and stop it.

The server runs in its own process group, so the cleanup also reaches its
worker processes, even after a ``kill -9`` of the server alone: a test never
leaves a server behind. It needs the ``server`` extra (``pip install
'qibo-client[server]'``). The ``qibo_serve`` pytest fixture wraps :func:`serve`.
"""

from __future__ import annotations

import contextlib
import os
import re
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

#: The tokens of the two users a test server starts with (their emails: a@x and b@x).
TOKEN1 = "t1-test-token-5e0c9a"
TOKEN2 = "t2-test-token-b73d41"
#: The users every test server starts with (TOKEN=email).
USERS = (f"{TOKEN1}=a@x", f"{TOKEN2}=b@x")
READY = re.compile(r"Serving the Qibo protocol on (http://127\.0\.0\.1:\d+) \(data: ")
#: Seconds to wait for the "Serving ..." line (workers import qibo in the background).
START_TIMEOUT = 60.0


@dataclass
class ServeProcess:
    """A running ``serve``: its URL, its process, and every line it printed so far."""

    process: subprocess.Popen[str]
    data_dir: Path
    url: str = ""
    lines: list[str] = field(default_factory=list)
    users: Sequence[str] = USERS
    _ready: threading.Event = field(default_factory=threading.Event)

    @property
    def output(self) -> str:
        """Everything the server printed so far."""
        return "".join(self.lines)

    @property
    def tokens(self) -> list[str]:
        """The tokens of the server's users, in the order they were given."""
        return [user.partition("=")[0] for user in self.users]

    @property
    def token(self) -> str:
        """The first user's token."""
        return self.tokens[0]

    def _read(self) -> None:
        assert self.process.stdout is not None
        for line in self.process.stdout:
            self.lines.append(line)
            match = READY.search(line)
            if match and not self.url:
                self.url = match.group(1)
                self._ready.set()
        self._ready.set()

    def wait_ready(self, timeout: float = START_TIMEOUT) -> str:
        """Block until the server serves; its URL. Kills it and raises if it never does."""
        if not self._ready.wait(timeout) or not self.url:
            self.kill_group()
            raise RuntimeError(
                f"the server did not print its 'Serving ...' line within {timeout} s "
                f"(exit code {self.process.poll()}); its output:\n{self.output}"
            )
        return self.url

    def stop(self, timeout: float = 30.0) -> int:
        """SIGTERM, then the exit status; SIGKILL to the whole group if it does not end."""
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
        try:
            return self.process.wait(timeout)
        except subprocess.TimeoutExpired:
            self.kill_group()
            raise AssertionError(f"the server ignored SIGTERM for {timeout} s") from None

    def kill(self) -> None:
        """``kill -9`` the server process alone (its workers are left to notice)."""
        self.process.kill()
        self.process.wait(10)

    def group_alive(self) -> bool:
        """True while any process of the server's group (the server, a worker) lives."""
        try:
            os.killpg(self.process.pid, 0)
        except ProcessLookupError:
            return False
        except PermissionError:  # pragma: no cover - a reused group id of someone else's
            return False
        return True

    def kill_group(self) -> None:
        """SIGKILL the server and every worker in its process group."""
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(self.process.pid, signal.SIGKILL)
        with contextlib.suppress(subprocess.TimeoutExpired):
            self.process.wait(10)


def start_serve(
    data_dir: Path, users: Sequence[str] = USERS, extra: Sequence[str] = ()
) -> ServeProcess:
    """Start ``serve`` in its own process group; call :meth:`ServeProcess.wait_ready` next."""
    command = [sys.executable, "-m", "qibo_client.server", "--port", "0"]
    command += ["--data-dir", str(data_dir)]
    for user in users:
        command += ["--token", user]
    command += list(extra)
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    process = subprocess.Popen(
        command,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        bufsize=1,
        env=env,
        start_new_session=True,
    )
    served = ServeProcess(process, Path(data_dir), users=tuple(users))
    threading.Thread(target=served._read, name="serve-output", daemon=True).start()
    return served


@contextlib.contextmanager
def serve(
    data_dir: Path, users: Sequence[str] = USERS, extra: Sequence[str] = ()
) -> Iterator[ServeProcess]:
    """A ready server for the ``with`` block; stopped (and its group killed) afterwards."""
    served = start_serve(data_dir, users, extra)
    try:
        served.wait_ready()
        yield served
    finally:
        with contextlib.suppress(AssertionError):
            served.stop()
        reap_group(served)


def reap_group(served: ServeProcess, grace: float = 10.0) -> None:
    """Wait up to ``grace`` s for every process of the group to end, then SIGKILL the rest."""
    deadline = time.monotonic() + grace
    while served.group_alive() and time.monotonic() < deadline:
        time.sleep(0.1)
    served.kill_group()
