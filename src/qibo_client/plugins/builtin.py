"""The built-in adapters, registered through the same hooks as any outside plugin.

The plugin manager registers :data:`PLUGINS` by importing this module, before
any entry point, so a bare source tree (no installed metadata) still has its
transports, store and renderers. Each object is also declared as an entry
point in our own ``pyproject.toml``, as an outside plugin would be; the
manager does not register it twice. Nothing here imports an adapter: factories
import theirs when first used, so loading the plugins costs no import of
requests, rich or qibo.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable

from qibo_client.exceptions import ConfigurationError
from qibo_client.plugins.hookspecs import hookimpl
from qibo_client.plugins.registrations import RendererPlugin, ResultStorePlugin, TransportPlugin
from qibo_client.ports import Renderer, ResultStore, Transport
from qibo_client.ports.async_transport import AsyncTransport


def _make_http(url: str, token: str) -> Transport:
    from qibo_client.adapters.http_transport import HttpTransport

    return HttpTransport(url, token)


def _make_local(url: str, token: str) -> Transport:
    from qibo_client.adapters.local_transport import LocalServerTransport

    return LocalServerTransport(url, token)


def _make_async_http(url: str, token: str) -> AsyncTransport:
    try:
        from qibo_client.adapters.httpx_transport import AsyncHttpTransport
    except ModuleNotFoundError as error:
        if error.name != "httpx":
            raise
        raise ConfigurationError(
            "AsyncClient over http(s):// needs httpx: pip install 'qibo-client[async]'"
        ) from None
    return AsyncHttpTransport(url, token)


def _make_async_local(url: str, token: str) -> AsyncTransport:
    from qibo_client.adapters.local_transport import LocalServerTransport
    from qibo_client.adapters.threaded_transport import ThreadedAsyncTransport

    return ThreadedAsyncTransport(LocalServerTransport(url, token))


def _make_filesystem() -> ResultStore:
    from qibo_client.adapters.filesystem_store import FilesystemResultStore

    return FilesystemResultStore()


def _make_rich() -> Renderer:
    from qibo_client.adapters.rich_renderer import RichRenderer

    return RichRenderer()


def _make_logging() -> Renderer:
    from qibo_client.adapters.logging_renderer import LoggingRenderer

    return LoggingRenderer()


def _make_silent() -> Renderer:
    from qibo_client.adapters.silent_renderer import SilentRenderer

    return SilentRenderer()


def _make_notebook() -> Renderer:
    from qibo_client.adapters.notebook_renderer import NotebookRenderer

    return NotebookRenderer()


def in_jupyter_kernel() -> bool:
    """True inside a Jupyter (or other IPython kernel) session; imports nothing new."""
    ipython = sys.modules.get("IPython")
    if ipython is None:
        return False
    get_ipython: Callable[[], object] | None = getattr(ipython, "get_ipython", None)
    shell = get_ipython() if get_ipython else None
    return shell is not None and getattr(shell, "kernel", None) is not None


def on_terminal() -> bool:
    """True when standard output is an interactive terminal that is not 'dumb'."""
    stream = sys.stdout
    isatty = getattr(stream, "isatty", None)
    return bool(isatty and isatty()) and os.environ.get("TERM") != "dumb"


class http_transport:
    """The ``http`` transport, for ``http://`` and ``https://`` URLs."""

    @staticmethod
    @hookimpl
    def qibo_client_register_transports(register: Callable[[TransportPlugin], None]) -> None:
        register(
            TransportPlugin(
                "http",
                ("http", "https"),
                _make_http,
                "HTTP(S) to a Qibo server (requests; httpx for AsyncClient)",
                async_factory=_make_async_http,
            )
        )


class local_transport:
    """The ``local`` transport: an in-process server for ``local://`` URLs."""

    @staticmethod
    @hookimpl
    def qibo_client_register_transports(register: Callable[[TransportPlugin], None]) -> None:
        register(
            TransportPlugin(
                "local",
                ("local",),
                _make_local,
                "in-process Qibo server on qibo's simulators",
                async_factory=_make_async_local,
            )
        )


class filesystem_store:
    """The ``filesystem`` result store, the default."""

    @staticmethod
    @hookimpl
    def qibo_client_register_result_stores(
        register: Callable[[ResultStorePlugin], None],
    ) -> None:
        register(
            ResultStorePlugin(
                "filesystem",
                _make_filesystem,
                "results under RESULTS_BASE_FOLDER or the user cache",
            )
        )


class rich_renderer:
    """The ``rich`` renderer, chosen on a terminal (and in Jupyter, were ``notebook`` missing)."""

    @staticmethod
    @hookimpl
    def qibo_client_register_renderers(register: Callable[[RendererPlugin], None]) -> None:
        register(
            RendererPlugin(
                "rich",
                _make_rich,
                detect=lambda: on_terminal() or in_jupyter_kernel(),
                priority=10,
                description="live panel and tables on a terminal or in Jupyter",
            )
        )


class logging_renderer:
    """The ``logging`` renderer, chosen everywhere else."""

    @staticmethod
    @hookimpl
    def qibo_client_register_renderers(register: Callable[[RendererPlugin], None]) -> None:
        register(
            RendererPlugin(
                "logging",
                _make_logging,
                detect=lambda: True,
                priority=0,
                description="one log line per status change, text tables",
            )
        )


class notebook_renderer:
    """The ``notebook`` renderer, chosen inside a Jupyter kernel."""

    @staticmethod
    @hookimpl
    def qibo_client_register_renderers(register: Callable[[RendererPlugin], None]) -> None:
        register(
            RendererPlugin(
                "notebook",
                _make_notebook,
                detect=in_jupyter_kernel,
                priority=20,
                description="Rich in Jupyter, batches as an ipywidgets bar (or a text line)",
            )
        )


class silent_renderer:
    """The ``none`` renderer: shows nothing; chosen only by name."""

    @staticmethod
    @hookimpl
    def qibo_client_register_renderers(register: Callable[[RendererPlugin], None]) -> None:
        register(RendererPlugin("none", _make_silent, description="shows nothing at all"))


#: The built-in plugins under the entry-point names ``pyproject.toml`` gives them.
PLUGINS: dict[str, object] = {
    "http": http_transport,
    "local": local_transport,
    "filesystem": filesystem_store,
    "rich_ui": rich_renderer,
    "logging_ui": logging_renderer,
    "notebook_ui": notebook_renderer,
    "none_ui": silent_renderer,
}
