"""qibo-client: send Qibo circuits to a Qibo server, follow the job, get the result.

Importing this package is cheap and changes no global state: qibo, requests
and rich are imported only when a circuit, a connection or a display needs
them, and no exception hook is installed unless ``QIBO_API_ERRORS_AUTO=1``
asks for it (see :func:`qibo_client.exceptions.install_qibo_error_hooks`).
"""

import importlib.metadata as _metadata

try:
    __version__ = _metadata.version("qibo-client")
except _metadata.PackageNotFoundError:  # pragma: no cover - running from a bare source tree
    __version__ = "0+unknown"

from qibo_client.futures import (
    ALL_COMPLETED,
    FIRST_COMPLETED,
    FIRST_EXCEPTION,
    as_completed,
    wait,
)
from qibo_client.qibo_client import Client
from qibo_client.qibo_job import QiboJob, QiboJobStatus

__all__ = [
    "ALL_COMPLETED",
    "FIRST_COMPLETED",
    "FIRST_EXCEPTION",
    "Client",
    "QiboJob",
    "QiboJobStatus",
    "__version__",
    "as_completed",
    "wait",
]
