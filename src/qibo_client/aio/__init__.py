"""asyncio: :class:`AsyncClient` and :class:`AsyncJob`, the published client's methods awaited.

``from qibo_client import AsyncClient`` works too; either import loads httpx
only when an ``http(s)://`` client is made (the ``async`` extra).
"""

from qibo_client.aio.client import AsyncClient
from qibo_client.aio.job import AsyncJob

__all__ = ["AsyncClient", "AsyncJob"]
