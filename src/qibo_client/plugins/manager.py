"""The plugin manager: registers the built-ins, loads the ``qibo_client`` entry points once.

**Order.** The built-in plugins (:data:`qibo_client.plugins.builtin.PLUGINS`)
are registered first, by import, so a source tree with no installed metadata
still works. Then the installed entry points of the group ``qibo_client``,
sorted by distribution name (normalised as pip does), then entry-point name.
Entry points that name an object already registered (our own
``pyproject.toml`` declares the built-ins too) are not registered again.
Plugins registered at run time, with ``get_plugin_manager().register(...)``,
come after all of these.

**Which adapter wins.** When several plugins offer an adapter of the same
name, the one registered last wins; a transport for a URL scheme is the first
(that is, last registered) that serves it. So an installed plugin overrides a
built-in, the later of two installed plugins in the order above overrides the
earlier, and a run-time registration overrides them all. pluggy's ``tryfirst``
and ``trylast`` marks move a hook to the front or back of that order.

**Guards.** Each plugin is loaded and validated on its own: one that fails to
import, or marks a function ``@hookimpl`` whose name matches no hook (a
misspelling), is unregistered and skipped with one :class:`RuntimeWarning`
naming it, and every other plugin keeps working. A hook that raises when
called is skipped the same way.
"""

from __future__ import annotations

import difflib
import importlib.metadata
import inspect
import re
import threading
import warnings
from collections.abc import Callable, Iterable
from typing import Any

import pluggy

from qibo_client.plugins import builtin, hookspecs
from qibo_client.plugins.registrations import (
    PluginInfo,
    RendererPlugin,
    ResultStorePlugin,
    TransportPlugin,
)

ENTRY_POINT_GROUP = "qibo_client"
RUN_TIME = "registered at run time"

_KINDS = (
    ("transport", "qibo_client_register_transports"),
    ("renderer", "qibo_client_register_renderers"),
    ("result store", "qibo_client_register_result_stores"),
)
_HOOK_NAMES = tuple(name for _, name in _KINDS)


class PackageLabels(dict[str, str]):
    """Plugin name -> ``"distribution version"``, read from a distribution's metadata
    only when asked (parsing it takes a millisecond per distribution, at every start)."""

    def __init__(self) -> None:
        super().__init__()
        self._unread: dict[str, Callable[[], str]] = {}

    def defer(self, name: str, label: Callable[[], str]) -> None:
        """``name``'s label is ``label()``, called the first time it is asked for."""
        self._unread[name] = label

    def __missing__(self, name: str) -> str:
        self[name] = label = self._unread.pop(name)()  # KeyError for a name never registered
        return label

    def __contains__(self, name: object) -> bool:
        return super().__contains__(name) or name in self._unread

    def get(self, name: str, default: str | None = None) -> str | None:  # type: ignore[override]
        """``name``'s label (read now if need be), else ``default``."""
        try:
            return self[name]
        except KeyError:
            return default


class QiboPluginManager(pluggy.PluginManager):
    """A pluggy manager that refuses, at registration, a plugin with a hook matching no spec.

    ``packages`` maps a registered plugin's name to the distribution that
    provides it (for ``qibo-client plugins``).
    """

    def __init__(self) -> None:
        super().__init__(hookspecs.PROJECT)
        self.add_hookspecs(hookspecs)
        self.packages = PackageLabels()

    def register(self, plugin: object, name: str | None = None) -> str | None:
        """Register ``plugin``; raise :class:`pluggy.PluginValidationError` for an unknown hook.

        The check is pluggy's ``check_pending`` for this one plugin: the
        plugin is unregistered again before the error is raised.
        """
        registered = super().register(plugin, name)
        unknown = _unknown_hooks(self, plugin) if registered is not None else []
        if unknown:
            self.unregister(plugin)
            raise pluggy.PluginValidationError(plugin, _unknown_hooks_message(unknown))
        return registered


def _unknown_hooks(manager: pluggy.PluginManager, plugin: object) -> list[str]:
    """The names of ``plugin``'s marked hooks that match no spec (optional hooks aside)."""
    return sorted(
        caller.name
        for caller in manager.get_hookcallers(plugin) or []
        if not caller.has_spec()
        and any(impl.plugin is plugin and not impl.optionalhook for impl in caller.get_hookimpls())
    )


def _unknown_hooks_message(unknown: list[str]) -> str:
    parts = []
    for name in unknown:
        close = difflib.get_close_matches(name, _HOOK_NAMES, n=1)
        parts.append(f"{name!r}" + (f" (did you mean {close[0]!r}?)" if close else ""))
    return f"hook {', '.join(parts)} matches no qibo-client hook"


def _canonical(name: str) -> str:
    """A distribution name as pip compares them (PEP 503)."""
    return re.sub(r"[-_.]+", "-", name).lower()


def _load_order(entry_point: importlib.metadata.EntryPoint) -> tuple[str, str]:
    dist = entry_point.dist
    if dist is None:
        return ("", entry_point.name)
    # The name from the metadata folder's own name where the stdlib offers it (no parsing).
    name = getattr(dist, "_normalized_name", None) or dist.name
    return (_canonical(name), entry_point.name)


def installed_entry_points() -> list[importlib.metadata.EntryPoint]:
    """The ``qibo_client`` entry points, in load order (distribution, then entry-point name).

    When the installed metadata cannot be read, a warning says so and the
    list is empty: the built-ins still work.
    """
    try:
        found = list(importlib.metadata.entry_points(group=ENTRY_POINT_GROUP))
    except Exception as error:  # broken metadata on sys.path must not stop the built-ins
        warnings.warn(
            f"qibo-client could not read the installed plugins ({error}); "
            "only the built-in adapters are available",
            RuntimeWarning,
            stacklevel=2,
        )
        return []
    return sorted(found, key=_load_order)


def _our_package() -> str:
    try:
        return f"qibo-client {importlib.metadata.version('qibo-client')}"
    except importlib.metadata.PackageNotFoundError:
        return "qibo-client (source tree)"


def _register_entry_point(
    manager: QiboPluginManager, entry_point: importlib.metadata.EntryPoint
) -> None:
    """Load and register one entry point inside its own guard; warn and skip on failure."""
    dist = entry_point.dist
    name = entry_point.name
    if manager.has_plugin(name):  # a built-in's name, or one two distributions chose
        name = f"{dist.name if dist is not None else 'unknown'}:{name}"
    try:
        plugin = entry_point.load()
        if manager.is_registered(plugin):
            return  # a built-in declared in our own pyproject.toml, or one object twice
        manager.register(plugin, name=name)
    except Exception as error:  # a third party's bug must not stop ours
        package = f"{dist.name} {dist.version}" if dist is not None else "unknown"
        warnings.warn(
            f"qibo-client plugin {entry_point.name!r} ({entry_point.value}, from {package}) "
            f"is skipped: {error}",
            RuntimeWarning,
            stacklevel=2,
        )
        return
    if dist is None:
        manager.packages[name] = "unknown"
    else:
        manager.packages.defer(name, lambda: f"{dist.name} {dist.version}")


def build_plugin_manager(
    entry_points: Iterable[importlib.metadata.EntryPoint] | None = None,
) -> QiboPluginManager:
    """A new manager: the built-ins, then ``entry_points`` (default: the installed ones).

    Most code wants :func:`get_plugin_manager`, which builds one per process.
    """
    manager = QiboPluginManager()
    for name, plugin in builtin.PLUGINS.items():
        manager.register(plugin, name=name)
        manager.packages.defer(name, _our_package)
    for entry_point in installed_entry_points() if entry_points is None else entry_points:
        _register_entry_point(manager, entry_point)
    return manager


_lock = threading.Lock()
_manager: QiboPluginManager | None = None


def get_plugin_manager() -> QiboPluginManager:
    """The process's plugin manager, built on first use (see the module's docstring)."""
    global _manager
    with _lock:
        if _manager is None:
            _manager = build_plugin_manager()
        return _manager


def _offers(
    manager: pluggy.PluginManager, hook_name: str
) -> list[tuple[pluggy.HookImpl, list[Any]]]:
    """Each plugin's offers for ``hook_name``, in pluggy's call order (last registered first).

    Each hook runs on its own: one that raises is skipped with a warning.
    """
    results = []
    for impl in reversed(getattr(manager.hook, hook_name).get_hookimpls()):
        if impl.hookwrapper or impl.wrapper:
            continue
        found: list[Any] = []
        try:
            impl.function(register=found.append)
        except Exception as error:  # one plugin's bug must not stop the others
            warnings.warn(
                f"qibo-client plugin {impl.plugin_name!r} failed in {hook_name} "
                f"and is skipped: {error!r}",
                RuntimeWarning,
                stacklevel=3,
            )
            continue
        results.append((impl, found))
    return results


def _collect(hook_name: str) -> list[Any]:
    """The winning offer per name, the most recently registered plugin's first."""
    unique: dict[str, Any] = {}
    for _, found in _offers(get_plugin_manager(), hook_name):
        for item in found:
            unique.setdefault(item.name, item)
    return list(unique.values())


def transport_plugins() -> list[TransportPlugin]:
    """Every registered transport, the winning one per name, winners first."""
    return _collect("qibo_client_register_transports")


def renderer_plugins() -> list[RendererPlugin]:
    """Every registered renderer, the winning one per name, winners first."""
    return _collect("qibo_client_register_renderers")


def result_store_plugins() -> list[ResultStorePlugin]:
    """Every registered result store, the winning one per name, winners first."""
    return _collect("qibo_client_register_result_stores")


def list_plugins() -> list[PluginInfo]:
    """Every adapter on offer with the package that provides it (for ``qibo-client plugins``).

    Adapters another plugin overrides are listed too. Installed plugins that
    offer no adapter (a qibo backend, say) are listed as kind ``plugin``.
    """
    manager = get_plugin_manager()
    rows: list[PluginInfo] = []
    offering: set[str] = set()
    for kind, hook_name in _KINDS:
        for impl, found in reversed(_offers(manager, hook_name)):
            offering.add(impl.plugin_name)
            package = manager.packages.get(impl.plugin_name) or RUN_TIME
            rows.extend(PluginInfo(kind, item.name, package, item.description) for item in found)
    for name, plugin in manager.list_name_plugin():
        if name not in offering and name in manager.packages:
            summary = (inspect.getdoc(plugin) or "").strip().splitlines()
            rows.append(
                PluginInfo("plugin", name, manager.packages[name], summary[0] if summary else "")
            )
    return rows


__all__ = [
    "ENTRY_POINT_GROUP",
    "PluginInfo",
    "QiboPluginManager",
    "RendererPlugin",
    "ResultStorePlugin",
    "TransportPlugin",
    "build_plugin_manager",
    "get_plugin_manager",
    "installed_entry_points",
    "list_plugins",
    "renderer_plugins",
    "result_store_plugins",
    "transport_plugins",
]
