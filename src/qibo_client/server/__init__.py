"""The local Qibo server: runs circuits on qibo's simulators, no account, no network.

:class:`~qibo_client.server.core.QiboServer` is the core; the HTTP face
(``qibo-client serve``) and the in-process ``local://`` transport call it.
"""

from qibo_client.server.config import DeviceConfig, ServerConfig
from qibo_client.server.core import EXTENSIONS, QiboServer
from qibo_client.server.errors import JobRefused, ServerError

__all__ = ["EXTENSIONS", "DeviceConfig", "JobRefused", "QiboServer", "ServerConfig", "ServerError"]
