"""The users of ``qibo-client serve``: tokens from flags, a file, the environment, or one made.

A token given with ``--token`` sits on the command line, where every local
user reads it (``ps``), so the command warns and offers ``--token-file`` and
``$QIBO_SERVER_TOKENS`` instead. Without any, the server keeps one token of
its own in ``<data dir>/token`` (mode 0600), made and printed once.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import secrets
import sys
from pathlib import Path

PROG = "qibo-client serve"
TOKEN_FILE = "token"
#: The environment variable that may hold users' tokens (TOKEN[=EMAIL], separated by
#: commas or blanks): unlike a command line, another local user cannot read it.
TOKENS_ENV = "QIBO_SERVER_TOKENS"


def parse_user(text: str) -> tuple[str, str | None]:
    """``TOKEN`` or ``TOKEN=EMAIL`` (an email has an ``@``); the message never shows the token."""
    token, sep, email = text.rpartition("=")
    if not (sep and token and "@" in email):
        token, email = text, ""
    if not token or any(ch.isspace() or not ch.isprintable() for ch in token):
        raise argparse.ArgumentTypeError(
            "a token must be a non-empty string without spaces or control characters "
            "(form: TOKEN or TOKEN=EMAIL)"
        )
    return token, email or None


def stored_token(data_dir: Path) -> tuple[str, bool]:
    """The token in ``DIR/token``, or a new one written there (mode 0600); True if new."""
    path = data_dir / TOKEN_FILE
    with contextlib.suppress(FileNotFoundError):
        token = path.read_text(encoding="utf-8").strip()
        if token:
            return token, False
    token = secrets.token_urlsafe(32)
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(descriptor, "w", encoding="utf-8") as handle:
        handle.write(token + "\n")
    os.chmod(path, 0o600)
    return token, True


def _token_lines(text: str, where: str) -> list[tuple[str, str | None]]:
    users = []
    for number, line in enumerate(text.splitlines(), start=1):
        entry = line.split("#", 1)[0].strip()
        for item in entry.replace(",", " ").split():
            try:
                users.append(parse_user(item))
            except argparse.ArgumentTypeError as error:
                raise ValueError(f"{where}, line {number}: {error}") from None
    return users


def given_users(args: argparse.Namespace) -> list[tuple[str, str | None]]:
    """The users named by --token, --token-file and $QIBO_SERVER_TOKENS, in that order."""
    given = getattr(args, "token", None)
    if isinstance(given, str):  # qibo-client's own --token, given before the command word
        given = [parse_user(given)]
    users = list(given or [])
    if users:
        print(
            f"{PROG}: warning: --token puts a token on the command line, where other users "
            f"of this machine can read it (ps); use --token-file FILE or ${TOKENS_ENV}",
            file=sys.stderr,
        )
    token_file = getattr(args, "token_file", None)
    if token_file is not None:
        path = Path(token_file).expanduser()
        try:
            text = path.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as error:
            raise ValueError(f"cannot read the token file {path}: {error}") from None
        if os.name != "nt" and path.stat().st_mode & 0o077:
            print(
                f"{PROG}: warning: {path} can be read by other users; chmod 600 it",
                file=sys.stderr,
            )
        from_file = _token_lines(text, str(path))
        if not from_file:
            raise ValueError(f"the token file {path} holds no token")
        users += from_file
    users += _token_lines(os.environ.get(TOKENS_ENV, ""), f"${TOKENS_ENV}")
    return users


def server_users(args: argparse.Namespace, data_dir: Path) -> list[tuple[str, str | None]]:
    given = given_users(args)
    if given:
        return given
    token, new = stored_token(data_dir)
    where = data_dir / TOKEN_FILE
    if new:
        print(
            f"No token given, so this server made one for its user:\n\n    {token}\n\n"
            f"It is stored in {where} (readable only by you) and will not be shown again; "
            "clients send it in the x-api-token header.",
            flush=True,
        )
    else:
        print(f"Using the API token stored in {where}.", flush=True)
    return [(token, None)]
