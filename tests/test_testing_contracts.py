"""The testing kit's contract suites, run against every adapter we ship and one written here.

Each ``Test...`` class below is what a third party writes to prove its own
adapter: subclass the contract, give it the fixture it asks for.
"""

from __future__ import annotations

import io
import logging
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, TypeVar

import pytest
from rich.console import Console

from qibo_client import Client
from qibo_client.adapters.filesystem_store import FilesystemResultStore
from qibo_client.adapters.http_transport import HttpTransport
from qibo_client.adapters.local_transport import LocalServerTransport
from qibo_client.adapters.logging_renderer import LoggingRenderer
from qibo_client.adapters.rich_renderer import RichRenderer
from qibo_client.domain.records import (
    DiskQuota,
    JobDeletion,
    JobInfo,
    JobSubmission,
    ProjectQuota,
    ServerVersion,
)
from qibo_client.exceptions import DeadlineExceededError, JobPostServerError, QiboApiError
from qibo_client.ports import ResultStream, Transport
from qibo_client.testing import (
    BytesStream,
    MemoryResultStore,
    MockServer,
    MockTransport,
    RecordingRenderer,
    result_archive,
)
from qibo_client.testing.contract import RendererContract, ResultStoreContract, TransportContract
from qibo_client.testing.serve import TOKEN1, ServeProcess, serve

T = TypeVar("T")

# -- transports -----------------------------------------------------------------------


class TestMockServerTransport(TransportContract):
    @pytest.fixture
    def transport(self) -> Iterator[Transport]:
        transport = MockServer(devices=["numpy"]).transport()
        yield transport
        transport.close()


@pytest.fixture(scope="module")
def local_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """One embedded server for the module, kept warm by a client held open."""
    url = f"local://{tmp_path_factory.mktemp('contract-local')}"
    keeper = Client("keeper", url, renderer=RecordingRenderer())
    yield url
    keeper.close()


class TestLocalServerTransport(TransportContract):
    @pytest.fixture
    def transport_token(self) -> str:
        return "contract-local-token-91b2"

    @pytest.fixture
    def transport(self, local_url: str, transport_token: str) -> Iterator[Transport]:
        transport = LocalServerTransport(local_url, transport_token)
        yield transport
        transport.close()


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServeProcess]:
    with serve(tmp_path_factory.mktemp("contract-serve")) as process:
        yield process


@pytest.mark.slow
class TestHttpTransportOverLoopback(TransportContract):
    @pytest.fixture
    def transport_token(self) -> str:
        return TOKEN1

    @pytest.fixture
    def transport(self, served: ServeProcess, transport_token: str) -> Iterator[Transport]:
        transport = HttpTransport(served.url, transport_token)
        yield transport
        transport.close()


class NotebookTransport(Transport):
    """A third party's transport: a whole server in a dict, every job done at once."""

    base_url = "notebook://"

    def __init__(self) -> None:
        self.jobs: dict[str, JobSubmission] = {}

    def _check(self, deadline: float | None) -> None:
        if deadline is not None and time.monotonic() >= deadline:
            raise DeadlineExceededError(0, "GET", self.base_url, "out of time")

    def _job(self, pid: str) -> JobSubmission:
        if pid not in self.jobs:
            raise QiboApiError(404, "GET", f"{self.base_url}{pid}", f"job {pid} not found")
        return self.jobs[pid]

    def server_version(self, *, deadline: float | None = None) -> ServerVersion:
        self._check(deadline)
        return ServerVersion("0.3.6", "0.2.8")

    def submit_job(self, submission: JobSubmission, *, idempotency_key: str | None = None) -> str:
        if submission.device != "numpy":
            raise JobPostServerError(f"no device {submission.device!r} here")
        pid = f"nb-{len(self.jobs) + 1}"
        self.jobs[pid] = submission
        return pid

    def get_job(
        self,
        pid: str,
        *,
        hold: float = 0.0,
        known_status: str | None = None,
        deadline: float | None = None,
    ) -> JobInfo:
        self._check(deadline)
        return JobInfo(pid, "success", device=self._job(pid).device)

    def list_jobs(self, *, deadline: float | None = None) -> list[JobInfo]:
        self._check(deadline)
        return [JobInfo(pid, "success") for pid in self.jobs]

    def fetch_result(
        self, pid: str, receive: Callable[[ResultStream], T], *, deadline: float | None = None
    ) -> T:
        self._check(deadline)
        self._job(pid)
        with BytesStream(result_archive(frequencies={"00": 1})) as stream:
            return receive(stream)

    def delete_job(self, pid: str) -> JobDeletion:
        self._job(pid)
        del self.jobs[pid]
        return JobDeletion(pid)

    def delete_all_jobs(self) -> list[str]:
        pids, self.jobs = list(self.jobs), {}
        return pids

    def disk_quota(self) -> DiskQuota:
        return DiskQuota("me@notebook", 1.0, 1.0)

    def project_quotas(self) -> list[ProjectQuota]:
        return []


class TestAThirdPartyTransport(TransportContract):
    """A transport nobody here wrote against our fakes passes the same suite."""

    @pytest.fixture
    def transport(self) -> NotebookTransport:
        return NotebookTransport()


# -- result stores ----------------------------------------------------------------------


class TestFilesystemResultStore(ResultStoreContract):
    @pytest.fixture
    def result_store(self, tmp_path: Path) -> FilesystemResultStore:
        return FilesystemResultStore(tmp_path / "results")


class TestMemoryResultStore(ResultStoreContract):
    @pytest.fixture
    def result_store(self) -> MemoryResultStore:
        return MemoryResultStore()


# -- renderers --------------------------------------------------------------------------


class TestRichRenderer(RendererContract):
    @pytest.fixture
    def screen(self) -> io.StringIO:
        return io.StringIO()

    @pytest.fixture
    def renderer(self, screen: io.StringIO) -> RichRenderer:
        return RichRenderer(Console(file=screen, width=100, force_terminal=False))

    @pytest.fixture
    def renderer_output(self, screen: io.StringIO) -> Callable[[], str]:
        return screen.getvalue


class TestLoggingRenderer(RendererContract):
    @pytest.fixture
    def renderer(self) -> LoggingRenderer:
        return LoggingRenderer(logging.getLogger("contract.logging_renderer"))


class TestRecordingRenderer(RendererContract):
    checks_output = False

    @pytest.fixture
    def renderer(self) -> RecordingRenderer:
        return RecordingRenderer()


def test_the_third_party_transport_serves_a_client() -> None:
    client = Client("t", "notebook://", transport=NotebookTransport(), renderer=RecordingRenderer())
    job = client.run_circuit({"nqubits": 1, "queue": []}, device="numpy", nshots=1)
    assert job.pid == "nb-1"


def test_every_contract_test_is_run_here() -> None:
    """A contract test added later runs against every adapter above, with no edit here."""
    contracts: dict[type, list[Any]] = {
        TransportContract: [
            TestMockServerTransport,
            TestLocalServerTransport,
            TestHttpTransportOverLoopback,
            TestAThirdPartyTransport,
        ],
        ResultStoreContract: [TestFilesystemResultStore, TestMemoryResultStore],
        RendererContract: [TestRichRenderer, TestLoggingRenderer, TestRecordingRenderer],
    }
    for contract, suites in contracts.items():
        names = {name for name in dir(contract) if name.startswith("test_")}
        assert names, contract
        for suite in suites:
            assert issubclass(suite, contract)
            assert names <= set(dir(suite))
    assert isinstance(MockServer().transport(), MockTransport)
