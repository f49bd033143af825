"""Result-store tests on disk: what a store keeps, where, and how it reads it back.

The port's contract suite (``qibo_client.testing.contract``) runs on every
store; these add the filesystem store's own promises. Add a factory to STORES
to run them on another store that keeps folders on disk.
"""

from __future__ import annotations

import os
import time
import tracemalloc
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest
from qibo.result import CircuitResult, QuantumState, load_result
from tests.support.results import ChunkStream, files_archive, fixture_bytes, listing

from qibo_client.adapters.filesystem_store import FilesystemResultStore, server_key
from qibo_client.domain.records import StoredResult
from qibo_client.exceptions import MalformedResponseError
from qibo_client.protocol.wire import RESULTS_FILE

STORES: dict[str, Callable[[Path], FilesystemResultStore]] = {
    "filesystem": lambda root: FilesystemResultStore(root / "results"),
}
#: The server results come from (a store keeps each job under its server and pid).
SERVER = "https://qibo.example"


@pytest.fixture(params=list(STORES))
def store(request: pytest.FixtureRequest, tmp_path: Path) -> FilesystemResultStore:
    return STORES[request.param](tmp_path)


def save(store: FilesystemResultStore, pid: str, data: bytes) -> StoredResult:
    return store.save(SERVER, pid, ChunkStream(data))


def success_archive(name: str = "circuit_samples-np2.npy") -> bytes:
    return files_archive({RESULTS_FILE: fixture_bytes(name), "logs/stdout.txt": b"done\n"})


def test_save_then_find_and_load(store: FilesystemResultStore) -> None:
    stream = ChunkStream(success_archive())
    assert store.lookup(SERVER, "job-1") is None
    stored = store.save(SERVER, "job-1", stream)
    assert (stored.server, stored.pid) == (SERVER, "job-1")
    assert stored.folder == store.folder_for(SERVER, "job-1")
    assert stored.result_file == stored.folder / RESULTS_FILE
    assert store.lookup(SERVER, "job-1") == stored
    assert (stored.folder / "logs" / "stdout.txt").read_bytes() == b"done\n"
    result = store.load(stored)
    expected = load_result(str(stored.result_file))
    assert isinstance(result, CircuitResult)
    np.testing.assert_array_equal(result.state(), expected.state())
    np.testing.assert_array_equal(result.samples(), expected.samples())


def test_error_archive_is_kept_without_a_result(store: FilesystemResultStore) -> None:
    stored = save(store, "job-2", files_archive({"error.log": b"Traceback: boom\n"}))
    assert stored.result_file is None
    assert store.lookup(SERVER, "job-2") is None  # no complete result to reuse
    assert (stored.folder / "error.log").read_text() == "Traceback: boom\n"


def test_resave_replaces_the_old_folder(store: FilesystemResultStore) -> None:
    save(store, "job-3", files_archive({"error.log": b"old"}))
    stored = save(store, "job-3", success_archive("state_vector-np1.npy"))
    assert sorted(p.name for p in stored.folder.iterdir()) == ["logs", RESULTS_FILE]
    assert isinstance(store.load(stored), QuantumState)


def test_jobs_are_kept_apart(store: FilesystemResultStore) -> None:
    a = save(store, "a", success_archive("state_vector-np2.npy"))
    b = save(store, "b", success_archive("density_matrix-np2.npy"))
    assert store.load(a).density_matrix is False
    assert store.load(b).density_matrix is True


def test_forget_removes_a_job_and_only_that_job(store: FilesystemResultStore) -> None:
    a = save(store, "a", success_archive())
    b = save(store, "b", success_archive())
    assert store.forget(SERVER, "a") is True
    assert store.lookup(SERVER, "a") is None and not a.folder.exists()
    assert store.lookup(SERVER, "b") == b
    assert store.forget(SERVER, "a") is False


@pytest.mark.parametrize("pid", ["../escape", "a/b", ""])
def test_bad_pids_are_refused(store: FilesystemResultStore, pid: str) -> None:
    with pytest.raises(MalformedResponseError):
        store.folder_for(SERVER, pid)
    with pytest.raises(MalformedResponseError):
        save(store, pid, success_archive())
    with pytest.raises(MalformedResponseError):
        store.lookup(SERVER, pid)


def test_no_temporary_folders_left(store: FilesystemResultStore, tmp_path: Path) -> None:
    save(store, "job-4", success_archive())
    save(store, "job-4", success_archive())
    assert [p for p in listing(tmp_path) if ".partial-" in p or ".old-" in p] == []


# -- filesystem specifics -----------------------------------------------------------


def test_results_base_folder_is_read_at_construction(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("RESULTS_BASE_FOLDER", str(tmp_path / "chosen"))
    store = FilesystemResultStore()
    monkeypatch.setenv("RESULTS_BASE_FOLDER", str(tmp_path / "later"))
    assert store.folder_for(SERVER, "p1") == tmp_path / "chosen" / server_key(SERVER) / "p1"
    save(store, "p1", success_archive())
    assert (tmp_path / "chosen" / server_key(SERVER) / "p1" / RESULTS_FILE).is_file()


def test_default_base_folder_is_the_user_cache(
    _isolated_user_state: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("RESULTS_BASE_FOLDER")
    store = FilesystemResultStore()
    expected = Path(os.environ["XDG_CACHE_HOME"]) / "qibo-client" / "results"
    assert store.base_folder == expected
    save(store, "p2", success_archive())
    assert expected.stat().st_mode & 0o777 == 0o700
    assert (expected / server_key(SERVER)).stat().st_mode & 0o777 == 0o700
    assert (expected / server_key(SERVER) / "p2").stat().st_mode & 0o777 == 0o700


def test_the_plugin_builds_a_filesystem_store(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from qibo_client.bootstrap import build_result_store

    monkeypatch.setenv("RESULTS_BASE_FOLDER", str(tmp_path / "via-plugin"))
    store = build_result_store("filesystem")
    assert isinstance(store, FilesystemResultStore)
    assert store.base_folder == tmp_path / "via-plugin"


def test_leftovers_of_a_killed_process_are_swept_later(tmp_path: Path) -> None:
    store = FilesystemResultStore(tmp_path)
    here = tmp_path / server_key(SERVER)
    old = here / ".job-5.partial-dead"
    fresh = here / ".job-5.partial-busy"
    other = here / ".job-6.partial-dead"
    for folder in (old, fresh, other):
        folder.mkdir(parents=True)
        (folder / "results.npy").write_bytes(b"half")
    long_ago = time.time() - 3 * 24 * 3600
    os.utime(old, (long_ago, long_ago))
    os.utime(other, (long_ago, long_ago))
    save(store, "job-5", success_archive())
    assert not old.exists()
    assert fresh.exists() and other.exists()  # maybe still in use; not this job's


def test_load_of_a_missing_result_says_so(tmp_path: Path) -> None:
    missing = StoredResult(SERVER, "nope", tmp_path / "nope", tmp_path / "nope" / RESULTS_FILE)
    with pytest.raises(FileNotFoundError, match="no stored result for job nope"):
        FilesystemResultStore(tmp_path).load(missing)


def big_state_archive(amplitudes: int) -> tuple[bytes, int]:
    """A genuine-format QuantumState of ``amplitudes`` complex128 values, archived."""
    import io

    rng = np.random.default_rng(7)
    state = rng.standard_normal(amplitudes) + 1j * rng.standard_normal(amplitudes)
    buffer = io.BytesIO()
    np.save(buffer, {"state": state, "dtype": "QuantumState", "qibo": "0.3.6"})
    return files_archive({RESULTS_FILE: buffer.getvalue()}, level=1), state.nbytes


def test_a_large_result_streams_through_in_bounded_memory(tmp_path: Path) -> None:
    archive, size = big_state_archive(1 << 22)  # 64 MiB of state
    store = FilesystemResultStore(tmp_path / "results")
    stream = ChunkStream(archive, chunk_size=1 << 20)
    tracemalloc.start()
    try:
        stored = store.save(SERVER, "big", stream)
        _, extract_peak = tracemalloc.get_traced_memory()
        tracemalloc.reset_peak()
        state = store.load(stored)
        _, load_peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert extract_peak < 16 << 20, f"extraction peaked at {extract_peak >> 20} MiB"
    assert load_peak < size + (16 << 20), (
        f"loading peaked at {load_peak >> 20} MiB for {size >> 20} MiB"
    )
    assert state.state().shape == (1 << 22,)
    assert stored.result_file is not None
    expected = np.load(stored.result_file, allow_pickle=True).item()["state"]
    np.testing.assert_array_equal(state.state(), expected)
