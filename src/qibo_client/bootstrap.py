"""The composition root: the one place that turns names into adapters.

A URL scheme, ``QIBO_CLIENT_UI`` and ``QIBO_CLIENT_STORE`` are looked up among
the registered plugins here and nowhere else. :func:`wire` builds a client's
adapters once; a :class:`~qibo_client.qibo_job.QiboJob` gets them from its
client, or from :func:`wire` when built from a pid, a URL and headers as the
published API allows.
"""

from __future__ import annotations

import os
import threading
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

from qibo_client.exceptions import ConfigurationError
from qibo_client.plugins.manager import (
    TransportPlugin,
    renderer_plugins,
    result_store_plugins,
    transport_plugins,
)
from qibo_client.ports import Renderer, ResultStore, Transport
from qibo_client.ports.async_transport import AsyncTransport

if TYPE_CHECKING:
    from qibo_client.drivers.watch import DoneWatcher

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


def _transport_plugin(url: str) -> TransportPlugin:
    """The registered transport plugin that serves ``url``'s scheme."""
    scheme = url_scheme(url)
    plugins = transport_plugins()
    for plugin in plugins:
        if scheme in plugin.schemes:
            return plugin
    known = sorted({s for plugin in plugins for s in plugin.schemes})
    raise ConfigurationError(
        f"no transport serves '{scheme}://' URLs (known schemes: {', '.join(known)}); "
        "check the URL, or install the plugin that provides this scheme"
    )


def build_transport(url: str, token: str) -> Transport:
    """A transport for ``url``, chosen by its scheme among the registered plugins."""
    return _transport_plugin(url).factory(url, token)


def build_async_transport(url: str, token: str) -> AsyncTransport:
    """An asynchronous transport for ``url``: its plugin's ``async_factory``, else the
    plugin's blocking transport run in a pool of threads."""
    plugin = _transport_plugin(url)
    if plugin.async_factory is not None:
        return plugin.async_factory(url, token)
    from qibo_client.adapters.threaded_transport import ThreadedAsyncTransport

    return ThreadedAsyncTransport(plugin.factory(url, token))


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


class _SharedAdapters:
    """The store and renderer of one client, given or built on first use, once.

    They are built only when first needed, so a client that never downloads
    or draws imports neither.
    """

    def __init__(
        self,
        *,
        result_store: ResultStore | None = None,
        renderer: Renderer | None = None,
        ui: str | None = None,
    ) -> None:
        self._result_store = result_store
        self._renderer = renderer
        self._ui = ui
        self._lock = threading.Lock()
        #: Set once the server is known to serve results only inline (``frequencies``
        #: in the job object, no download): the 0.3 generation of the Qibo cloud.
        self.inline_results_only = False

    @property
    def result_store(self) -> ResultStore:
        with self._lock:
            if self._result_store is None:
                self._result_store = build_result_store()
            return self._result_store

    @property
    def renderer(self) -> Renderer:
        with self._lock:
            if self._renderer is None:
                self._renderer = build_renderer(self._ui)
            return self._renderer


class Adapters(_SharedAdapters):
    """One client's adapters: its transport, built at once (a wrong URL fails where it
    was given), and the store and renderer on first use."""

    def __init__(
        self,
        transport: Transport,
        *,
        result_store: ResultStore | None = None,
        renderer: Renderer | None = None,
        ui: str | None = None,
    ) -> None:
        super().__init__(result_store=result_store, renderer=renderer, ui=ui)
        self.transport = transport
        self._watcher: DoneWatcher | None = None

    def done_watcher(self) -> DoneWatcher:
        """The one background follower of this client's jobs that have done-callbacks."""
        from qibo_client.drivers.watch import DoneWatcher

        with self._lock:
            if self._watcher is None:
                self._watcher = DoneWatcher()
            return self._watcher


def wire(
    url: str,
    token: str,
    *,
    transport: Transport | None = None,
    result_store: ResultStore | None = None,
    renderer: Renderer | None = None,
    ui: str | None = None,
) -> Adapters:
    """The adapters for a client of ``url``: those handed in, the rest from the plugins."""
    if ui is not None:
        renderer = renderer or build_renderer(ui)  # a name given is checked now
    return Adapters(
        transport if transport is not None else build_transport(url, token),
        result_store=result_store,
        renderer=renderer,
        ui=ui,
    )


class AsyncAdapters(_SharedAdapters):
    """An ``AsyncClient``'s adapters: an asynchronous transport, given or built at once;
    the result store and renderer built on first use, once, as in :class:`Adapters`."""

    def __init__(
        self,
        transport: AsyncTransport,
        *,
        result_store: ResultStore | None = None,
        renderer: Renderer | None = None,
        ui: str | None = None,
    ) -> None:
        super().__init__(result_store=result_store, renderer=renderer, ui=ui)
        self.transport = transport


def wire_async(
    url: str,
    token: str,
    *,
    transport: AsyncTransport | Transport | None = None,
    result_store: ResultStore | None = None,
    renderer: Renderer | None = None,
    ui: str | None = None,
) -> AsyncAdapters:
    """The adapters for an ``AsyncClient`` of ``url``: those handed in, the rest from plugins.

    A blocking :class:`Transport` handed in (a test double, say) is run in a
    bounded pool of threads, as a plugin without an async adapter is.
    """
    if ui is not None:
        renderer = renderer or build_renderer(ui)  # a name given is checked now
    if isinstance(transport, Transport):
        from qibo_client.adapters.threaded_transport import ThreadedAsyncTransport

        transport = ThreadedAsyncTransport(transport)
    elif transport is not None and not isinstance(transport, AsyncTransport):
        raise ConfigurationError(
            f"transport= must be an AsyncTransport (or a Transport, run in threads), "
            f"got {type(transport).__name__}"
        )
    return AsyncAdapters(
        transport if transport is not None else build_async_transport(url, token),
        result_store=result_store,
        renderer=renderer,
        ui=ui,
    )
