"""A pseudo-terminal for tests: run Python code in one, then read the screen it leaves.

:func:`run_in_terminal` forks a child on a new pty (as a user's terminal would
be), collects every byte it writes, and :func:`screen_lines` feeds them to a
small VT100 emulation (pyte), so carriage returns, cursor moves and erased
lines count as a terminal would show them.
"""

from __future__ import annotations

import fcntl
import os
import pty
import select
import struct
import sys
import termios
import time
from dataclasses import dataclass

import pyte

#: Rows of the emulated screen: more than any test writes, so nothing scrolls away.
SCREEN_ROWS = 2000


@dataclass
class TerminalRun:
    """What a child wrote to its terminal, and how it ended."""

    raw: bytes
    exit_code: int
    columns: int

    @property
    def text(self) -> str:
        return self.raw.decode("utf-8", "replace")

    def lines(self) -> list[str]:
        """The non-blank lines left on the screen once every control sequence is applied."""
        return screen_lines(self.raw, self.columns)


def screen_lines(output: bytes | str, columns: int = 100) -> list[str]:
    """The non-blank rows a terminal ``columns`` wide shows after ``output``."""
    screen = pyte.Screen(columns, SCREEN_ROWS)
    if isinstance(output, bytes):
        pyte.ByteStream(screen).feed(output)
    else:
        # Written to a file, not a tty: lines end in "\n" alone, which a tty turns into "\r\n".
        pyte.Stream(screen).feed(output.replace("\n", "\r\n"))
    return [line.rstrip() for line in screen.display if line.strip()]


def run_in_terminal(
    code: str,
    *,
    columns: int = 100,
    rows: int = 40,
    env: dict[str, str] | None = None,
    timeout: float = 240.0,
) -> TerminalRun:
    """Run ``python -c code`` on a new pseudo-terminal ``columns`` x ``rows``; what it wrote.

    The child's environment is ours with ``TERM=xterm-256color`` and without
    any ``QIBO_CLIENT_*`` setting (default settings), plus ``env``.
    """
    child_env = {k: v for k, v in os.environ.items() if not k.startswith("QIBO_CLIENT_")}
    child_env.update({"TERM": "xterm-256color", "PYTHONUNBUFFERED": "1"})
    child_env.pop("COLUMNS", None)
    child_env.pop("LINES", None)
    child_env.update(env or {})
    pid, fd = pty.fork()
    if pid == 0:  # the child: size its terminal, then become the Python under test
        try:
            fcntl.ioctl(1, termios.TIOCSWINSZ, struct.pack("HHHH", rows, columns, 0, 0))
            os.execve(sys.executable, [sys.executable, "-c", code], child_env)
        finally:
            os._exit(127)
    chunks: list[bytes] = []
    ends = time.monotonic() + timeout
    try:
        while time.monotonic() < ends:
            ready, _, _ = select.select([fd], [], [], max(0.0, ends - time.monotonic()))
            if not ready:
                break
            try:
                data = os.read(fd, 65536)
            except OSError:  # EIO: the child closed its side
                break
            if not data:
                break
            chunks.append(data)
    finally:
        os.close(fd)
    done, status = os.waitpid(pid, os.WNOHANG)
    grace = time.monotonic() + 10  # its output closed: it is on its way out
    while done == 0 and time.monotonic() < min(grace, ends):
        time.sleep(0.05)
        done, status = os.waitpid(pid, os.WNOHANG)
    if done == 0:  # still running past the timeout
        os.kill(pid, 9)
        os.waitpid(pid, 0)
        raise AssertionError(
            f"the terminal child ran past {timeout} s; it wrote:\n"
            + b"".join(chunks).decode("utf-8", "replace")[-4000:]
        )
    return TerminalRun(b"".join(chunks), os.waitstatus_to_exitcode(status), columns)
