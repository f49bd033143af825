"""The parent's side of one worker process: start it, hand it tasks, hear back, kill it."""

from __future__ import annotations

import contextlib
import os
import secrets
import subprocess
import sys
from multiprocessing.connection import Client, Connection
from typing import Any

#: Seconds a worker may take to import qibo and warm up before it counts as broken.
STARTUP_TIMEOUT = 120.0


class WorkerGone(Exception):
    """The worker process died or its connection broke."""


class WorkerProcess:
    """A live worker: ``python -m qibo_client.server.worker`` and a connection to it."""

    def __init__(
        self,
        runner: str | None = None,
        *,
        env: dict[str, str] | None = None,
        memory_budget: int | None = None,
    ) -> None:
        authkey = secrets.token_bytes(32)
        self.process = subprocess.Popen(
            [sys.executable, "-m", "qibo_client.server.worker"],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
            env={**os.environ, **(env or {})},
        )
        self.conn: Connection | None = None
        self.qibo_version: str | None = None
        #: The address-space limit the worker set itself, if it could.
        self.memory_limit: int | None = None
        assert self.process.stdin is not None and self.process.stdout is not None
        try:
            self.process.stdin.write(authkey.hex() + "\n")
            self.process.stdin.close()
            address = self.process.stdout.readline().strip()
            self.process.stdout.close()
            if not address:
                raise WorkerGone("the worker process exited before it was ready")
            self.conn = Client(address, authkey=authkey)
            self.conn.send(
                {"sys_path": list(sys.path), "runner": runner, "memory_budget": memory_budget}
            )
        except (OSError, EOFError) as error:
            self.kill()
            raise WorkerGone(f"could not start a worker process: {error}") from error
        except BaseException:
            self.kill()
            raise

    def wait_ready(self, timeout: float = STARTUP_TIMEOUT) -> None:
        """Block until the worker has imported qibo; raise :class:`WorkerGone` if it cannot."""
        message = self.receive(timeout)
        if message is None or message.get("event") != "ready":
            self.kill()
            raise WorkerGone(f"the worker did not get ready within {timeout:g} s")
        self.qibo_version = message.get("qibo_version")
        self.memory_limit = message.get("memory")

    def send(self, message: dict[str, Any]) -> None:
        try:
            assert self.conn is not None
            self.conn.send(message)
        except (OSError, ValueError, AssertionError) as error:
            raise WorkerGone(str(error)) from error

    def receive(self, timeout: float | None) -> dict[str, Any] | None:
        """The worker's next message, ``None`` after ``timeout`` seconds; WorkerGone if it died."""
        try:
            assert self.conn is not None
            if not self.conn.poll(timeout):
                return None
            return self.conn.recv()
        except (EOFError, OSError, AssertionError) as error:
            raise WorkerGone(f"the worker process ended (exit code {self.exit_code()})") from error

    def exit_code(self) -> int | None:
        return self.process.poll()

    def stop(self, timeout: float = 2.0) -> None:
        """Ask the worker to finish, then make sure it is gone."""
        try:
            self.send({"op": "stop"})
            self.process.wait(timeout)
        except (WorkerGone, subprocess.TimeoutExpired):
            pass
        self.kill()

    def terminate(self) -> None:
        """Kill the process only; safe from another thread (its reader then sees WorkerGone)."""
        if self.process.poll() is None:
            self.process.kill()

    def kill(self) -> None:
        """Kill the process and release the connection (from the thread that reads it)."""
        if self.process.poll() is None:
            self.process.kill()
        with contextlib.suppress(subprocess.TimeoutExpired):
            self.process.wait(5)
        if self.conn is not None:
            self.conn.close()
            self.conn = None
