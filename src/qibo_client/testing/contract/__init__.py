"""Contract test suites an adapter proves itself with (import only under pytest).

Subclass one in a test module named ``Test...`` and give it the fixture it
asks for; every test then runs against your adapter::

    from qibo_client.testing.contract import TransportContract

    class TestMyTransport(TransportContract):
        @pytest.fixture
        def transport(self):
            transport = MyTransport("https://qibo.example", "token")
            yield transport
            transport.close()

:class:`TransportContract` needs ``transport``; :class:`ResultStoreContract`
needs ``result_store``; :class:`RendererContract` needs ``renderer``. Each
class's docstring lists the fixtures and settings it lets you override.
"""

from qibo_client.testing.contract.renderer import RendererContract
from qibo_client.testing.contract.store import ResultStoreContract
from qibo_client.testing.contract.transport import TransportContract

__all__ = ["RendererContract", "ResultStoreContract", "TransportContract"]
