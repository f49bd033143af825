"""The composition root: picks the adapters for a URL and the environment.

This is the one place that turns names (a URL scheme, ``QIBO_CLIENT_UI``,
``QIBO_CLIENT_STORE``) into adapter instances, by asking the plugins. The
domain calls it only when the caller did not hand in adapters of its own.
"""

from __future__ import annotations

import os
from urllib.parse import urlsplit

from qibo_client.exceptions import ConfigurationError
from qibo_client.plugins.manager import (
    renderer_plugins,
    result_store_plugins,
    transport_plugins,
)
from qibo_client.ports import Renderer, ResultStore, Transport

UI_ENV = "QIBO_CLIENT_UI"
STORE_ENV = "QIBO_CLIENT_STORE"
DEFAULT_STORE = "filesystem"


def url_scheme(url: str) -> str:
    """The scheme of a server URL, lower-cased; a clear error when there is none."""
    if not isinstance(url, str) or not url.strip():
        raise ConfigurationError(
            f"the server URL must be a non-empty string such as 'https://cloud.qibo.science' "
            f"or 'local://', got {url!r}"
        )
    scheme = urlsplit(url.strip()).scheme.lower()
    if not scheme:
        raise ConfigurationError(
            f"the server URL {url!r} has no scheme: write it as 'https://{url.strip()}' "
            "(or 'local://' for the embedded local server)"
        )
    return scheme


def build_transport(url: str, token: str) -> Transport:
    """A transport for ``url``, chosen by its scheme among the registered plugins."""
    scheme = url_scheme(url)
    plugins = transport_plugins()
    for plugin in plugins:
        if scheme in plugin.schemes:
            return plugin.factory(url, token)
    known = sorted({s for plugin in plugins for s in plugin.schemes})
    raise ConfigurationError(
        f"no transport serves '{scheme}://' URLs (known schemes: {', '.join(known)}); "
        "check the URL, or install the plugin that provides this scheme"
    )


def build_renderer(name: str | None = None) -> Renderer:
    """The renderer called ``name``, else ``$QIBO_CLIENT_UI``, else the best detected one."""
    plugins = renderer_plugins()
    wanted = name or os.environ.get(UI_ENV) or None
    if wanted:
        for plugin in plugins:
            if plugin.name == wanted:
                return plugin.factory()
        source = "ui=" if name else f"${UI_ENV}="
        raise ConfigurationError(
            f"{source}{wanted!r} names no renderer; registered renderers: "
            f"{', '.join(sorted(p.name for p in plugins))}"
        )
    candidates = sorted(
        (p for p in plugins if p.detect is not None), key=lambda p: p.priority, reverse=True
    )
    for plugin in candidates:
        if plugin.detect is not None and plugin.detect():
            return plugin.factory()
    raise ConfigurationError("no renderer is available: is qibo-client installed correctly?")


def build_result_store(name: str | None = None) -> ResultStore:
    """The result store called ``name``, else ``$QIBO_CLIENT_STORE``, else ``filesystem``."""
    wanted = name or os.environ.get(STORE_ENV) or DEFAULT_STORE
    plugins = result_store_plugins()
    for plugin in plugins:
        if plugin.name == wanted:
            return plugin.factory()
    raise ConfigurationError(
        f"no result store is called {wanted!r}; registered stores: "
        f"{', '.join(sorted(p.name for p in plugins))}"
    )
