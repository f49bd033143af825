"""What a plugin's hook registers: one small record per adapter on offer.

A record names the adapter and holds a factory that builds it; nothing is
imported or built until the adapter is chosen, so loading plugins stays cheap.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from qibo_client.ports import Renderer, ResultStore, Transport
    from qibo_client.ports.async_transport import AsyncTransport


@dataclass(frozen=True)
class TransportPlugin:
    """A transport adapter on offer, for the URL schemes it serves.

    ``async_factory(url, token)``, when given, builds the
    :class:`~qibo_client.ports.async_transport.AsyncTransport` that
    ``AsyncClient`` uses; without it, ``AsyncClient`` runs ``factory``'s
    transport in a pool of threads.
    """

    name: str
    schemes: tuple[str, ...]
    factory: Callable[[str, str], Transport]
    description: str = ""
    async_factory: Callable[[str, str], AsyncTransport] | None = None


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
