"""The plugin manager: loads the ``qibo_client`` entry points once, gathers adapters."""

from __future__ import annotations

import importlib.metadata
import inspect
import threading
import warnings
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import pluggy

from qibo_client.plugins import hookspecs

if TYPE_CHECKING:
    from qibo_client.ports import Renderer, ResultStore, Transport

ENTRY_POINT_GROUP = "qibo_client"


@dataclass(frozen=True)
class TransportPlugin:
    """A transport adapter on offer, for the URL schemes it serves."""

    name: str
    schemes: tuple[str, ...]
    factory: Callable[[str, str], Transport]
    description: str = ""


@dataclass(frozen=True)
class RendererPlugin:
    """A renderer on offer; ``detect`` makes it a candidate for automatic choice."""

    name: str
    factory: Callable[[], Renderer]
    detect: Callable[[], bool] | None = None
    priority: int = 0
    description: str = ""


@dataclass(frozen=True)
class ResultStorePlugin:
    """A result store on offer."""

    name: str
    factory: Callable[[], ResultStore]
    description: str = ""


@dataclass(frozen=True)
class PluginInfo:
    """One registered adapter and the distribution that provides it."""

    kind: str
    name: str
    package: str
    description: str


_lock = threading.Lock()
_manager: pluggy.PluginManager | None = None
_distributions: dict[int, str] = {}


def get_plugin_manager() -> pluggy.PluginManager:
    """The process's plugin manager, with every installed entry point loaded (once).

    A plugin that fails to load is skipped with a warning naming it, so one
    broken package cannot take the client down.
    """
    global _manager
    with _lock:
        if _manager is None:
            manager = pluggy.PluginManager(hookspecs.PROJECT)
            manager.add_hookspecs(hookspecs)
            for entry_point in importlib.metadata.entry_points(group=ENTRY_POINT_GROUP):
                _load_entry_point(manager, entry_point)
            manager.check_pending()
            _manager = manager
        return _manager


def _load_entry_point(
    manager: pluggy.PluginManager, entry_point: importlib.metadata.EntryPoint
) -> None:
    if manager.get_plugin(entry_point.name) is not None:
        return
    try:
        plugin = entry_point.load()
        manager.register(plugin, name=entry_point.name)
    except Exception as error:  # a third party's bug must not stop ours
        warnings.warn(
            f"qibo-client plugin {entry_point.name!r} ({entry_point.value}) failed to load "
            f"and is skipped: {error}",
            RuntimeWarning,
            stacklevel=3,
        )
        return
    dist = entry_point.dist
    _distributions[id(plugin)] = f"{dist.name} {dist.version}" if dist else "unknown"


def _collect(hook_name: str) -> list[Any]:
    found: list[Any] = []
    getattr(get_plugin_manager().hook, hook_name)(register=found.append)
    # Hooks run last-registered first; keep the first of each name so later plugins win.
    unique: dict[str, Any] = {}
    for item in found:
        unique.setdefault(item.name, item)
    return list(unique.values())


def transport_plugins() -> list[TransportPlugin]:
    """Every registered transport, the winning one per name."""
    return _collect("qibo_client_register_transports")


def renderer_plugins() -> list[RendererPlugin]:
    """Every registered renderer, the winning one per name."""
    return _collect("qibo_client_register_renderers")


def result_store_plugins() -> list[ResultStorePlugin]:
    """Every registered result store, the winning one per name."""
    return _collect("qibo_client_register_result_stores")


def list_plugins() -> list[PluginInfo]:
    """Every adapter on offer with the package that provides it (for ``qibo-client plugins``)."""
    manager = get_plugin_manager()
    rows: list[PluginInfo] = []
    kinds = (
        ("transport", "qibo_client_register_transports"),
        ("renderer", "qibo_client_register_renderers"),
        ("result store", "qibo_client_register_result_stores"),
    )
    for kind, hook_name in kinds:
        for impl in getattr(manager.hook, hook_name).get_hookimpls():
            package = _distributions.get(id(impl.plugin), "registered at run time")
            found: list[Any] = []
            impl.function(register=found.append)
            for item in found:
                rows.append(PluginInfo(kind, item.name, package, item.description))
    # Installed plugins that register no adapter (a qibo backend, say) are listed too.
    offering = {
        id(impl.plugin)
        for _, hook_name in kinds
        for impl in getattr(manager.hook, hook_name).get_hookimpls()
    }
    for name, plugin in manager.list_name_plugin():
        if id(plugin) not in offering and id(plugin) in _distributions:
            summary = (inspect.getdoc(plugin) or "").strip().splitlines()
            rows.append(
                PluginInfo(
                    "plugin", name, _distributions[id(plugin)], summary[0] if summary else ""
                )
            )
    return rows
