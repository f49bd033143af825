"""The server's worker path: results kept as files, archives built on the first download,
and only the job's end written to SQLite (issue 13)."""

from __future__ import annotations

import io
import tarfile
import threading
import time
from pathlib import Path

import pytest
from tests.support.server import SCRIPTED_RUNNER, body, scripted, wait_final, wait_status

from qibo_client.server.config import DeviceConfig, ServerConfig
from qibo_client.server.core import QiboServer

ALICE = "alice-token"


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory):
    config = ServerConfig(devices=[DeviceConfig("numpy", max_num_qubits=4, description="numpy")])
    srv = QiboServer(tmp_path_factory.mktemp("ondemand"), config=config, runner=SCRIPTED_RUNNER)
    srv.add_user(ALICE)
    srv.start()
    yield srv
    srv.close()


def results_dir(server: QiboServer) -> Path:
    return server.dispatcher.results_dir


def job_files(server: QiboServer, pid: str) -> list[str]:
    """The names in the results folder that belong to ``pid``."""
    return sorted(p.name for p in results_dir(server).iterdir() if p.name.startswith(pid))


def members(data: bytes) -> dict[str, bytes]:
    with tarfile.open(fileobj=io.BytesIO(data), mode="r:gz") as archive:
        return {m.name: archive.extractfile(m).read() for m in archive.getmembers()}  # type: ignore[union-attr]


def load_counts(tmp_path: Path, data: bytes) -> dict[str, int]:
    """What the published client does: extract ``results.npy``, let qibo load it."""
    from qibo.result import load_result

    path = tmp_path / "results.npy"
    path.write_bytes(members(data)["results.npy"])
    return {str(k): int(v) for k, v in load_result(path).frequencies().items()}


def test_no_archive_is_written_until_the_first_download(server, tmp_path):
    job = wait_final(server, ALICE, server.submit(ALICE, body(nshots=300))["pid"])
    pid = job["pid"]
    assert job["status"] == "success"
    assert not (results_dir(server) / f"{pid}.tar.gz").exists()
    assert job_files(server, pid), "the job's result file is kept"
    row = server.store.job(pid)
    assert row["archive_size"] > 0  # what is kept counts against the disk quota
    archive = server.result_archive(ALICE, pid)
    assert archive.name == f"{pid}.tar.gz" and archive.is_file()
    assert job["result_path"] == str(archive)
    assert load_counts(tmp_path, archive.read_bytes()) == job["frequencies"]
    again = server.result_archive(ALICE, pid)
    assert again == archive and again.read_bytes() == archive.read_bytes()
    assert job_files(server, pid) == [f"{pid}.tar.gz"]
    assert server.store.job(pid)["archive_size"] == archive.stat().st_size


def test_a_failed_job_gets_its_logs_archive_on_demand(server):
    job = wait_final(server, ALICE, server.submit(ALICE, body(scripted("raise")))["pid"])
    pid = job["pid"]
    assert job["status"] == "error"
    assert job_files(server, pid) == []
    logs = members(server.result_archive(ALICE, pid).read_bytes())
    assert set(logs) == {"stdout.log", "stderr.log"}
    assert b"about to fail" in logs["stdout.log"]
    assert b"scripted failure" in logs["stderr.log"]


def test_concurrent_first_downloads_get_the_same_bytes(server, tmp_path):
    pid = wait_final(server, ALICE, server.submit(ALICE, body(nshots=200))["pid"])["pid"]
    got: list[bytes] = []
    errors: list[BaseException] = []
    start = threading.Barrier(8)

    def download() -> None:
        try:
            start.wait()
            got.append(server.result_archive(ALICE, pid).read_bytes())
        except BaseException as error:  # reported below
            errors.append(error)

    threads = [threading.Thread(target=download) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not errors and len(got) == 8 and len(set(got)) == 1
    assert sum(load_counts(tmp_path, got[0]).values()) == 200
    assert job_files(server, pid) == [f"{pid}.tar.gz"]
    assert not list(results_dir(server).glob(".*.tmp"))


def test_deleting_a_job_removes_its_kept_result_before_and_after_a_download(server):
    first = wait_final(server, ALICE, server.submit(ALICE, body())["pid"])["pid"]
    second = wait_final(server, ALICE, server.submit(ALICE, body())["pid"])["pid"]
    server.result_archive(ALICE, second)
    assert job_files(server, first) and job_files(server, second)
    server.delete_job(ALICE, first)
    server.delete_job(ALICE, second)
    assert job_files(server, first) == [] and job_files(server, second) == []


class FakeLane:
    """Holds results in memory, as the in-process lane does: writes a file when asked."""

    def __init__(self, data: dict[str, bytes]) -> None:
        self.data = data
        self.asked: list[str] = []

    def write_result(self, pid: str, path: Path) -> bool:
        self.asked.append(pid)
        if pid not in self.data:
            return False
        path.write_bytes(self.data[pid])
        return True


def test_a_result_held_by_the_lane_is_written_when_first_downloaded(server, tmp_path):
    source = wait_final(server, ALICE, server.submit(ALICE, body(nshots=150))["pid"])
    kept = server.result_archive(ALICE, source["pid"]).read_bytes()
    npy = members(kept)["results.npy"]
    held = wait_final(server, ALICE, server.submit(ALICE, body(nshots=150))["pid"])["pid"]
    for name in job_files(server, held):  # as if the job had run in the lane: no file
        (results_dir(server) / name).unlink()
    lane = FakeLane({held: npy})
    server.dispatcher.lane = lane  # type: ignore[attr-defined]
    try:
        archive = server.result_archive(ALICE, held)
    finally:
        server.dispatcher.lane = None  # type: ignore[attr-defined]
    assert lane.asked == [held]
    assert load_counts(tmp_path, archive.read_bytes()) == source["frequencies"]


def test_a_status_change_writes_no_transaction_and_is_still_shown(server):
    statements: list[str] = []
    db = server.store._connect()
    pid = server.submit(ALICE, body(scripted("sleep", seconds=1.5)))["pid"]
    db.set_trace_callback(statements.append)
    try:
        job = wait_status(server, ALICE, pid, "running")
        assert job["status"] == "running"
        assert [j["status"] for j in server.list_jobs(ALICE) if j["pid"] == pid] == ["running"]
        started = time.monotonic()
        held = server.get_job(ALICE, pid, wait=0.6, known_status="running")
        assert held["status"] == "success" or time.monotonic() - started >= 0.5
        final = wait_final(server, ALICE, pid)
    finally:
        db.set_trace_callback(None)
    assert final["status"] == "success"
    writes = [s for s in statements if s.strip().upper().startswith("BEGIN")]
    assert len(writes) == 1, statements  # the end, and nothing else
