"""Test your code that uses qibo-client without a server, and prove your own adapters.

- :func:`mock_client` is a ``Client`` on a mock server, in one line.
- :class:`MockTransport` asks a handler of yours what the server says (as
  httpx's ``MockTransport`` does); :class:`MockServer` is a ready-made handler,
  a tiny in-memory Qibo server; the ``*_answer`` and ``*_archive`` helpers
  build what a server sends.
- :class:`ScriptedTransport`, :class:`MemoryResultStore` and
  :class:`RecordingRenderer` are fakes of every port that keep plain state to
  assert on.
- :mod:`qibo_client.testing.contract` holds the contract suites a third-party
  transport, store or renderer subclasses (import it only under pytest).
- :mod:`qibo_client.testing.pytest_plugin` gives pytest fixtures
  (``qibo_mock_server``, ``qibo_mock_transport``, ``qibo_mock_client``,
  ``qibo_local_client``, ``qibo_serve``), loaded automatically once
  qibo-client is installed.
- :mod:`qibo_client.testing.serve` starts ``qibo-client serve`` on a loopback port.

See ``docs/guide/testing.md``.
"""

from qibo_client.testing.answers import (
    bulk_delete_answer,
    deletion_answer,
    disk_quota_answer,
    error_archive,
    job_answer,
    outcomes_from_frequencies,
    project_quota_answer,
    refusal_answer,
    result_archive,
    submission_answer,
    tar_gz,
    version_answer,
)
from qibo_client.testing.clients import MOCK_TOKEN, mock_client
from qibo_client.testing.fakes import (
    MemoryResultStore,
    RecordingRenderer,
    RecordingView,
    ScriptedTransport,
    load_qibo_result,
    transient,
)
from qibo_client.testing.mock_server import MockJob, MockServer, run_with_numpy
from qibo_client.testing.mock_transport import (
    OPERATIONS,
    Answer,
    Handler,
    MockRequest,
    MockTransport,
)
from qibo_client.testing.streams import BytesStream, truncated

__all__ = [
    "MOCK_TOKEN",
    "OPERATIONS",
    "Answer",
    "BytesStream",
    "Handler",
    "MemoryResultStore",
    "MockJob",
    "MockRequest",
    "MockServer",
    "MockTransport",
    "RecordingRenderer",
    "RecordingView",
    "ScriptedTransport",
    "bulk_delete_answer",
    "deletion_answer",
    "disk_quota_answer",
    "error_archive",
    "job_answer",
    "load_qibo_result",
    "mock_client",
    "outcomes_from_frequencies",
    "project_quota_answer",
    "refusal_answer",
    "result_archive",
    "run_with_numpy",
    "submission_answer",
    "tar_gz",
    "transient",
    "truncated",
    "version_answer",
]
