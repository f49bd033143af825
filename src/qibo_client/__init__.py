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

from typing import TYPE_CHECKING, Any

from qibo_client.futures import (
    ALL_COMPLETED,
    FIRST_COMPLETED,
    FIRST_EXCEPTION,
    as_completed,
    wait,
)
from qibo_client.qibo_client import Client
from qibo_client.qibo_job import QiboJob, QiboJobStatus

if TYPE_CHECKING:
    from qibo_client.aio import AsyncClient


def __getattr__(name: str) -> Any:
    """``AsyncClient`` and ``plot_counts`` are imported on first use, so ``import
    qibo_client`` stays cheap (no httpx, no matplotlib)."""
    if name == "AsyncClient":
        from qibo_client.aio import AsyncClient

        return AsyncClient
    if name == "plot_counts":
        from qibo_client.plotting import plot_counts

        return plot_counts
    raise AttributeError(f"module 'qibo_client' has no attribute {name!r}")


__all__ = [
    "ALL_COMPLETED",
    "FIRST_COMPLETED",
    "FIRST_EXCEPTION",
    "AsyncClient",
    "Client",
    "QiboJob",
    "QiboJobStatus",
    "__version__",
    "as_completed",
    "plot_counts",
    "wait",
]
