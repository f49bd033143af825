"""mock_client: a ``Client`` on a mock server in one line, for tests of your own code."""

from __future__ import annotations

from typing import TYPE_CHECKING

from qibo_client.ports import Renderer, ResultStore
from qibo_client.testing.fakes import MemoryResultStore, RecordingRenderer
from qibo_client.testing.mock_server import MockServer
from qibo_client.testing.mock_transport import Handler, MockTransport

if TYPE_CHECKING:
    from qibo_client import Client

#: The token mock clients carry (any string works: nothing checks it).
MOCK_TOKEN = "qibo-mock-token"


def mock_client(
    handler: Handler | MockTransport | None = None,
    *,
    base_url: str = "mock://server",
    result_store: ResultStore | None = None,
    renderer: Renderer | None = None,
) -> Client:
    """A ``Client`` whose server is ``handler`` (a fresh :class:`MockServer` by default).

    ``handler`` may also be a ready :class:`MockTransport`, used as it is.

    Results are kept in a :class:`MemoryResultStore` and progress goes to a
    silent :class:`RecordingRenderer` unless you pass your own; both are
    reachable afterwards as ``client.transport.handler`` (the server) and
    your own references.
    """
    from qibo_client import Client

    if isinstance(handler, MockTransport):
        transport = handler
    else:
        transport = MockTransport(
            handler if handler is not None else MockServer(), base_url=base_url
        )
    return Client(
        MOCK_TOKEN,
        transport.base_url,
        transport=transport,
        result_store=result_store if result_store is not None else MemoryResultStore(),
        renderer=renderer if renderer is not None else RecordingRenderer(),
    )
