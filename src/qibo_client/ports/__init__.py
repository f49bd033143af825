"""The ports: small abstract classes the domain depends on, and adapters implement."""

from qibo_client.ports.renderer import JobSnapshot, ProgressView, Renderer
from qibo_client.ports.result_store import RESULTS_FILE, ResultStore
from qibo_client.ports.transport import ResultStream, ServerResponse, Transport

__all__ = [
    "RESULTS_FILE",
    "JobSnapshot",
    "ProgressView",
    "Renderer",
    "ResultStore",
    "ResultStream",
    "ServerResponse",
    "Transport",
]
