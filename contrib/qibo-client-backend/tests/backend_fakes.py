"""A tiny in-memory Qibo server (a Transport fake) that really runs circuits on numpy.

It lets the backend's tests run without the local:// server: each submitted
circuit is rebuilt from ``circuit.raw`` and executed at once on qibo's own
numpy backend, and its result is packed as the protocol's ``results.npy``.
"""

from __future__ import annotations

import io
import tarfile
import tempfile
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

from qibo_client.domain.records import (
    DiskQuota,
    JobInfo,
    JobSubmission,
    Partition,
    ProjectQuota,
    ServerVersion,
)
from qibo_client.ports import (
    RESULTS_FILE,
    JobSnapshot,
    ProgressView,
    Renderer,
    ResultStore,
    ResultStream,
    Transport,
)


class ArchiveStream(ResultStream):
    def __init__(self, data: bytes) -> None:
        self.data = data
        self.content_length = len(data)

    def iter_chunks(self, chunk_size: int = 1 << 20) -> Iterator[bytes]:
        yield self.data


def _archive(results_npy: bytes | None) -> bytes:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as archive:
        name, content = (RESULTS_FILE, results_npy) if results_npy else ("stderr.log", b"boom")
        info = tarfile.TarInfo(name)
        info.size = len(content)
        archive.addfile(info, io.BytesIO(content))
    return buffer.getvalue()


class NumpyServerTransport(Transport):
    """Executes each job on submission; ``fail_devices`` end in ``error``."""

    def __init__(self, fail_devices: Sequence[str] = ()) -> None:
        self.base_url = "fake://numpy-server"
        self.submissions: list[JobSubmission] = []
        self.archives: dict[str, bytes] = {}
        self.statuses: dict[str, str] = {}
        self.fail_devices = set(fail_devices)
        self.calls: list[str] = []

    def server_version(self) -> ServerVersion:
        import qibo

        return ServerVersion(qibo.__version__, "0.2.8")

    def submit_job(self, submission: JobSubmission, *, idempotency_key: str | None = None) -> str:
        from qibo import Circuit
        from qibo.backends import NumpyBackend

        self.calls.append("submit_job")
        pid = f"job-{len(self.submissions) + 1}"
        self.submissions.append(submission)
        if submission.device in self.fail_devices:
            self.statuses[pid], self.archives[pid] = "error", _archive(None)
            return pid
        circuit = Circuit.from_dict(dict(submission.circuit))
        result = NumpyBackend().execute_circuit(circuit, nshots=submission.nshots or 1000)
        with tempfile.TemporaryDirectory() as folder:
            path = Path(folder) / RESULTS_FILE
            result.dump(str(path))
            self.archives[pid] = _archive(path.read_bytes())
        self.statuses[pid] = "success"
        return pid

    def get_job(self, pid: str, *, wait: float = 0.0, known_status: str | None = None) -> JobInfo:
        self.calls.append("get_job")
        return JobInfo(pid, self.statuses[pid], user_email="me@lab", device="numpy")

    def list_jobs(self) -> list[JobInfo]:
        self.calls.append("list_jobs")
        return [JobInfo(pid, status, user_email="me@lab") for pid, status in self.statuses.items()]

    def open_result(self, pid: str) -> ResultStream:
        self.calls.append("open_result")
        return ArchiveStream(self.archives[pid])

    def delete_job(self, pid: str) -> Any:
        raise NotImplementedError

    def delete_all_jobs(self) -> list[str]:
        raise NotImplementedError

    def disk_quota(self) -> DiskQuota:
        return DiskQuota("me@lab", 1.0, 2.0)

    def project_quotas(self) -> list[ProjectQuota]:
        partition = Partition("numpy", 30, "simulator", "CPU", "available")
        return [ProjectQuota("personal", partition)]


class FolderResultStore(ResultStore):
    """Extracts archives under ``root`` and loads ``results.npy`` with qibo."""

    def __init__(self, root: Path) -> None:
        self.root = root

    def folder_for(self, pid: str) -> Path:
        return self.root / pid

    def has_result(self, pid: str) -> bool:
        return self.results_path(pid).is_file()

    def save_archive(self, pid: str, stream: ResultStream) -> Path:
        data = b"".join(stream.iter_chunks())
        folder = self.folder_for(pid)
        folder.mkdir(parents=True, exist_ok=True)
        with tarfile.open(fileobj=io.BytesIO(data), mode="r:gz") as archive:
            archive.extractall(folder, filter="data")
        return folder

    def load(self, pid: str) -> Any:
        from qibo.result import load_result

        return load_result(str(self.results_path(pid)))


class SilentRenderer(Renderer):
    """Keeps messages; shows nothing."""

    def __init__(self) -> None:
        self.messages: list[str] = []

    def start_progress(self, snapshot: JobSnapshot) -> ProgressView:
        raise AssertionError("the backend was asked to be quiet (verbose=False)")

    def show_quota(self, disk: DiskQuota, projects: Sequence[ProjectQuota]) -> None:
        pass

    def show_jobs(self, user: str, jobs: Sequence[JobInfo]) -> None:
        pass

    def show_error(self, error: BaseException) -> None:
        self.messages.append(str(error))

    def show_message(self, text: str, *, level: str = "info") -> None:
        self.messages.append(text)
