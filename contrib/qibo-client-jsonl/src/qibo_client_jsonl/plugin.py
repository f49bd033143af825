"""The entry point: registers the ``jsonl`` renderer through qibo-client's hook."""

from __future__ import annotations

import os
from collections.abc import Callable

from qibo_client.plugins import RendererPlugin, hookimpl
from qibo_client.ports import Renderer

NAME = "jsonl"


def make_renderer() -> Renderer:
    """A :class:`JsonLinesRenderer` writing where ``QIBO_CLIENT_JSONL_FILE`` says (else stdout)."""
    from qibo_client_jsonl.renderer import FILE_ENV, JsonLinesRenderer

    return JsonLinesRenderer(path=os.environ.get(FILE_ENV) or None)


@hookimpl
def qibo_client_register_renderers(register: Callable[[RendererPlugin], None]) -> None:
    # No ``detect``: JSON lines are never a sensible guess, only a choice by name.
    register(RendererPlugin(NAME, make_renderer, description="one JSON object per event (CI)"))
