"""Plugins: the hooks adapters are registered through, and where they are gathered.

Built-in adapters and third-party ones alike arrive through the entry-point
group ``qibo_client``; see :mod:`qibo_client.plugins.hookspecs` for the hooks.
"""

from qibo_client.plugins.hookspecs import hookimpl
from qibo_client.plugins.manager import (
    PluginInfo,
    RendererPlugin,
    ResultStorePlugin,
    TransportPlugin,
    get_plugin_manager,
    list_plugins,
    renderer_plugins,
    result_store_plugins,
    transport_plugins,
)

__all__ = [
    "PluginInfo",
    "RendererPlugin",
    "ResultStorePlugin",
    "TransportPlugin",
    "get_plugin_manager",
    "hookimpl",
    "list_plugins",
    "renderer_plugins",
    "result_store_plugins",
    "transport_plugins",
]
