"""``qibo-client login``: check a token against a server and save it in a profile."""

from __future__ import annotations

import argparse
import os
import sys
from urllib.parse import urlsplit

from qibo_client.cli.errors import EXIT_OK, UsageError


def _read_token(url: str) -> str:
    """The token, asked for without echo on a terminal, else read from the first line of stdin."""
    if sys.stdin is not None and sys.stdin.isatty():
        import getpass

        return getpass.getpass(f"Token for {url} (not shown): ")
    line = sys.stdin.readline() if sys.stdin is not None else ""
    return line.strip()


def login(args: argparse.Namespace) -> int:
    """Verify (unless ``--no-verify``) and save ``--url`` and the token as a profile."""
    from qibo_client.credentials import (
        DEFAULT_PROFILE,
        PROFILE_ENV,
        TOKENLESS_SCHEMES,
        URL_ENV,
        check_profile_name,
        save_profile,
    )
    from qibo_client.presentation.tables import display_url

    url = getattr(args, "url", None) or os.environ.get(URL_ENV)
    if not url:
        raise UsageError("login needs the server's address: qibo-client login --url URL")
    name = check_profile_name(
        getattr(args, "profile", None) or os.environ.get(PROFILE_ENV) or DEFAULT_PROFILE
    )
    token = getattr(args, "token", None)
    if token is None:
        token = _read_token(display_url(url))
    token = token.strip()
    if not token and urlsplit(url).scheme.lower() not in TOKENLESS_SCHEMES:
        raise UsageError(f"no token given for {display_url(url)}: pass --token or type it")

    who = None
    if not args.no_verify:
        who = _verify(url, token, getattr(args, "ui", None))
    path = save_profile(name, url, token)
    signed = f" as {who}" if who else ""
    print(f"Saved profile {name!r} for {display_url(url)}{signed} in {path}")
    return EXIT_OK


def _verify(url: str, token: str, ui: str | None) -> str:
    """Ask the server for its versions and the disk quota; returns the account's e-mail."""
    from qibo_client.cli.session import check_ui
    from qibo_client.qibo_client import Client

    check_ui(ui)
    with Client(token, url, ui=ui) as client:
        client.check_client_server_qibo_versions()
        return client.transport.disk_quota().email
