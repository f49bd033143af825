"""pytest fixtures for code that uses qibo-client, loaded through the ``pytest11`` entry point.

Installed with qibo-client, so any test can ask for them by name:

- ``qibo_mock_server``: a fresh :class:`~qibo_client.testing.MockServer`;
- ``qibo_mock_transport``: a :class:`~qibo_client.testing.MockTransport` on it;
- ``qibo_mock_client``: a ``Client`` on that transport, with an in-memory
  result store and a silent :class:`~qibo_client.testing.RecordingRenderer`;
- ``qibo_local_client``: a ``Client`` on the embedded ``local://`` server
  (real simulation, no network), closed after the test; the server, kept in
  one folder per test session, is shared by the session's tests;
- ``qibo_serve``: a loopback ``qibo-client serve`` for the test session
  (needs the ``server`` extra), with ``.url`` and ``.token``.

qibo_client is imported inside the fixtures, so that loading the plugin
costs nothing in test sessions that do not use them.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:
    from qibo_client import Client
    from qibo_client.testing import MockServer, MockTransport
    from qibo_client.testing.serve import ServeProcess

#: The token the mock and local clients use.
TEST_TOKEN = "qibo-test-token"


@pytest.fixture
def qibo_mock_server() -> MockServer:
    """A fresh in-memory Qibo server: jobs go queueing, running, success on successive polls."""
    from qibo_client.testing import MockServer

    return MockServer()


@pytest.fixture
def qibo_mock_transport(qibo_mock_server: MockServer) -> MockTransport:
    """A :class:`~qibo_client.testing.MockTransport` speaking to ``qibo_mock_server``."""
    return qibo_mock_server.transport()


@pytest.fixture
def qibo_mock_client(qibo_mock_transport: MockTransport) -> Iterator[Client]:
    """A ``Client`` on ``qibo_mock_transport``; results kept in memory, nothing printed."""
    from qibo_client.testing import mock_client

    client = mock_client(qibo_mock_transport)
    yield client
    client.close()


@pytest.fixture(scope="session")
def qibo_local_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The ``local://`` URL of the session's embedded server (a folder of its own).

    A client held open for the session keeps the server and its workers warm
    between tests; closing it at the end stops them.
    """
    from qibo_client import Client

    folder: Path = tmp_path_factory.mktemp("qibo-local-server")
    url = f"local://{folder}"
    keeper = Client(TEST_TOKEN, url)
    yield url
    keeper.close()


@pytest.fixture
def qibo_local_client(qibo_local_url: str, tmp_path: Path) -> Iterator[Client]:
    """A ``Client`` on the embedded local server; results go to ``tmp_path``; closed after."""
    from qibo_client import Client
    from qibo_client.adapters.filesystem_store import FilesystemResultStore
    from qibo_client.testing import RecordingRenderer

    client = Client(
        TEST_TOKEN,
        qibo_local_url,
        result_store=FilesystemResultStore(tmp_path / "results"),
        renderer=RecordingRenderer(),
    )
    yield client
    client.close()


@pytest.fixture(scope="session")
def qibo_serve(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServeProcess]:
    """A loopback ``qibo-client serve`` for the session; stopped (workers too) at its end."""
    import importlib.util

    if importlib.util.find_spec("uvicorn") is None:
        pytest.skip("qibo_serve needs the server extra: pip install 'qibo-client[server]'")
    from qibo_client.testing.serve import serve

    with serve(tmp_path_factory.mktemp("qibo-serve")) as served:
        yield served
