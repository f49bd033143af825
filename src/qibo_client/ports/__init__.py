"""The ports: small abstract classes the domain depends on, and adapters implement."""

from qibo_client.ports.renderer import (
    BatchSnapshot,
    BatchView,
    JobSnapshot,
    ProgressView,
    Renderer,
)
from qibo_client.ports.result_store import ResultStore
from qibo_client.ports.transport import ResultStream, Transport

__all__ = [
    "BatchSnapshot",
    "BatchView",
    "JobSnapshot",
    "ProgressView",
    "Renderer",
    "ResultStore",
    "ResultStream",
    "Transport",
]
