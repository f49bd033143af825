"""The hooks a qibo-client plugin implements.

A plugin is any object (usually a module) with functions marked
``@hookimpl`` whose names match a spec here, declared as an entry point in
the ``qibo_client`` group. Each hook hands the plugin a ``register``
callback; call it once per adapter. Registering does not import the adapter:
the ``factory`` runs only when the adapter is chosen, so plugins stay cheap
to load.

When two plugins register the same name, the one registered last wins: the
built-ins are registered first, then the installed entry points in a stated
order, so an installed plugin replaces a built-in of the same name (see
:mod:`qibo_client.plugins.manager` for the whole rule).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

import pluggy

if TYPE_CHECKING:
    from qibo_client.plugins.registrations import (
        RendererPlugin,
        ResultStorePlugin,
        TransportPlugin,
    )

PROJECT = "qibo_client"

hookspec = pluggy.HookspecMarker(PROJECT)
hookimpl = pluggy.HookimplMarker(PROJECT)


@hookspec
def qibo_client_register_transports(register: Callable[[TransportPlugin], None]) -> None:
    """Register transports: ``register(TransportPlugin(name, schemes, factory))``.

    ``factory(url, token)`` returns a :class:`~qibo_client.ports.Transport`
    for a URL whose scheme is one of ``schemes`` (e.g. ``("http", "https")``).
    """


@hookspec
def qibo_client_register_renderers(register: Callable[[RendererPlugin], None]) -> None:
    """Register renderers: ``register(RendererPlugin(name, factory, detect, priority))``.

    ``factory()`` returns a :class:`~qibo_client.ports.Renderer`. With
    ``detect``, the renderer may be chosen automatically when ``detect()`` is
    true (highest ``priority`` first); without it, only by name (the ``ui=``
    argument or ``QIBO_CLIENT_UI``).
    """


@hookspec
def qibo_client_register_result_stores(register: Callable[[ResultStorePlugin], None]) -> None:
    """Register result stores: ``register(ResultStorePlugin(name, factory))``.

    ``factory()`` returns a :class:`~qibo_client.ports.ResultStore`. The store
    named ``filesystem`` is the default; ``QIBO_CLIENT_STORE`` picks another.
    """
