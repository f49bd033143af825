"""From parsed options to a :class:`~qibo_client.Client`: credentials, renderer, result store."""

from __future__ import annotations

import argparse
import sys
from typing import TYPE_CHECKING

from qibo_client.exceptions import ConfigurationError

if TYPE_CHECKING:
    from qibo_client.credentials import Credentials
    from qibo_client.qibo_client import Client


def credentials(args: argparse.Namespace) -> Credentials:
    """The URL and token the options, environment and profile give; notes the embedded server."""
    from qibo_client.credentials import local_url_folder, resolve_credentials

    found = resolve_credentials(
        token=getattr(args, "token", None),
        url=getattr(args, "url", None),
        profile=getattr(args, "profile", None),
    )
    if found.embedded:
        print(
            "No server configured: using the embedded local server "
            f"(data: {local_url_folder(found.url)})",
            file=sys.stderr,
        )
    return found


def check_ui(name: str | None) -> None:
    """Refuse an unknown ``--ui`` before anything is sent."""
    if name is None:
        return
    from qibo_client.plugins import renderer_plugins

    names = sorted(plugin.name for plugin in renderer_plugins())
    if name not in names:
        raise ConfigurationError(
            f"--ui {name!r} names no renderer; registered renderers: {', '.join(names)}"
        )


def open_client(args: argparse.Namespace) -> Client:
    """A client for the chosen server; ``--output DIR`` (when the command has it) keeps results there."""
    from qibo_client.bootstrap import build_renderer
    from qibo_client.cli.renderer import CommandLineRenderer
    from qibo_client.qibo_client import Client

    ui = getattr(args, "ui", None)
    check_ui(ui)
    found = credentials(args).ensure_token()
    store = None
    output = getattr(args, "output", None)
    if output:
        from qibo_client.adapters.filesystem_store import FilesystemResultStore

        store = FilesystemResultStore(output)
    renderer = CommandLineRenderer(lambda: build_renderer(ui))
    return Client(found.token, found.url, renderer=renderer, result_store=store)
