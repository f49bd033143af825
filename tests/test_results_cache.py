"""The local results cache against a server and a neighbour it should not have to trust.

Issue 11, client side: an archive may unpack only to what a result of its job
can need, and nothing is left when it is refused; results are kept per server
and pid; a symbolic link or a foreign folder planted in a shared results
folder is never read from nor written into; two processes asking for the same
result at once both get it.
"""

from __future__ import annotations

import functools
import multiprocessing
import os
import re
import threading
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from tests.support.results import ChunkStream, listing

from qibo_client import QiboJob
from qibo_client.adapters.filesystem_store import FilesystemResultStore, server_key
from qibo_client.exceptions import UnsafeResultError
from qibo_client.protocol.wire import RESULTS_FILE
from qibo_client.results.sizes import (
    OVERHEAD_BYTES,
    UNKNOWN_JOB_BYTES,
    circuit_qubits,
    result_size_bound,
)
from qibo_client.testing import MockRequest, MockTransport
from qibo_client.testing.answers import (
    dump_result,
    job_answer,
    outcomes_from_frequencies,
    result_archive,
    tar_gz,
)
from qibo_client.testing.fakes import MemoryResultStore, RecordingRenderer

SERVER = "https://qibo.example"
OTHER_SERVER = "https://elsewhere.example:8443/qibo"
PID = "job-1"
BELL = {"nqubits": 2, "queue": [], "density_matrix": False}
GENUINE = {"00": 6, "11": 4}
FORGED = {"01": 10}


def serve(archive: bytes, circuit: dict | None, nshots: int | None, request: MockRequest) -> object:
    """A server whose jobs have all succeeded and whose downloads are ``archive``."""
    if request.operation == "get_job":
        return job_answer(request.pid or PID, "success", circuit=circuit, nshots=nshots)
    if request.operation == "download":
        return archive
    raise request.error(404, "not here")


def job_of(
    store: object,
    archive: bytes,
    *,
    pid: str = PID,
    server: str = SERVER,
    circuit: dict | None = BELL,
    nshots: int | None = 10,
    echoed: dict | None = None,
) -> tuple[QiboJob, MockTransport, RecordingRenderer]:
    handler = functools.partial(serve, archive, echoed or circuit, nshots)
    transport = MockTransport(handler)
    renderer = RecordingRenderer()
    job = QiboJob(
        pid,
        server,
        {"x-api-token": "cache-token"},
        circuit=circuit,
        nshots=nshots,
        transport=transport,
        result_store=store,  # type: ignore[arg-type]
        renderer=renderer,
    )
    return job, transport, renderer


def zeros_npy(size: int) -> bytes:
    """A ``results.npy`` of ``size`` zero bytes: it compresses a thousandfold."""
    return b"\0" * size


# -- an archive is bounded by what its job can need ------------------------------------


def test_the_bound_follows_qubits_representation_and_shots() -> None:
    assert result_size_bound(BELL, 100) == 16 * 4 + 8 * 4 + 8 * 100 * 2 + OVERHEAD_BYTES
    density = {**BELL, "density_matrix": True}
    assert result_size_bound(density, 100) == 16 * 16 + 8 * 4 + 8 * 100 * 2 + OVERHEAD_BYTES
    assert result_size_bound({"nqubits": 30}, None) > 16 * 2**30
    qasm = 'OPENQASM 2.0;\ninclude "qelib1.inc";\nqreg q[3];\nqreg r[2];\nh q[0];'
    assert circuit_qubits(qasm) == (5, False)
    for unknown in (None, {}, {"nqubits": "2"}, {"nqubits": True}, {"nqubits": 500}, "h q[0];"):
        assert result_size_bound(unknown, 100) == UNKNOWN_JOB_BYTES


def test_a_bomb_is_refused_at_the_jobs_bound_and_nothing_is_left(tmp_path: Path) -> None:
    # Before: a 2-qubit job's 64 KB download unpacked to 64 MiB in full (the bound was
    # 16 GiB per archive), was kept in the results folder, and only the loader refused it.
    archive = tar_gz({RESULTS_FILE: zeros_npy(64 << 20)})
    assert len(archive) < 1 << 20
    store = FilesystemResultStore(tmp_path / "results")
    job, _, renderer = job_of(store, archive)
    assert job.result(verbose=False, timeout=30) is None
    [error] = renderer.errors
    assert isinstance(error, UnsafeResultError)
    bound = result_size_bound(BELL, 10)
    assert re.search(rf"past {bound} bytes|more than {bound} bytes", str(error))
    assert listing(store.base_folder) == [server_key(SERVER)]  # no job folder, no partial


def test_the_running_total_is_refused_before_the_member_is_written(tmp_path: Path) -> None:
    store = FilesystemResultStore(tmp_path / "results")
    stream = ChunkStream(tar_gz({RESULTS_FILE: zeros_npy(8 << 20)}), chunk_size=512)
    with pytest.raises(UnsafeResultError, match="past 1048576 bytes"):
        store.save(SERVER, PID, stream, max_bytes=1 << 20)
    assert stream.delivered <= 2  # refused at the member's header, not after its data
    assert listing(store.base_folder) == [server_key(SERVER)]


def test_the_bound_comes_from_what_was_sent_not_what_the_server_echoes() -> None:
    store = MemoryResultStore()
    echoed = {"nqubits": 34, "queue": [], "density_matrix": True}
    job, _, _ = job_of(store, result_archive(frequencies=GENUINE), echoed=echoed)
    assert dict(job.result(verbose=False, timeout=30).frequencies()) == GENUINE
    assert store.last_limit == result_size_bound(BELL, 10)


def test_a_job_known_only_by_its_pid_is_bounded_by_what_the_server_reports() -> None:
    store = MemoryResultStore(max_total_bytes=1 << 40)
    job, _, _ = job_of(store, result_archive(frequencies=GENUINE), circuit=None, echoed=BELL)
    job.result(verbose=False, timeout=30)
    assert store.last_limit == result_size_bound(BELL, 10)


# -- kept per server and pid ---------------------------------------------------------


def test_the_same_pid_on_two_servers_is_kept_apart(tmp_path: Path) -> None:
    # Before: both went to <results>/<pid>; the second replaced the first, and
    # result() on the first server returned the second server's counts.
    store = FilesystemResultStore(tmp_path / "results")
    first, _, _ = job_of(store, result_archive(frequencies=GENUINE))
    second, _, _ = job_of(store, result_archive(frequencies=FORGED), server=OTHER_SERVER)
    assert dict(first.result(verbose=False).frequencies()) == GENUINE
    assert dict(second.result(verbose=False).frequencies()) == FORGED
    again, transport, _ = job_of(store, b"never asked for", server=SERVER)
    assert dict(again.result(verbose=False).frequencies()) == GENUINE
    assert transport.operations("download") == []
    assert first.results_folder != second.results_folder


def test_server_keys_are_readable_and_distinct() -> None:
    assert re.fullmatch(
        r"https-cloud\.qibo\.science-[0-9a-f]{12}", server_key("https://cloud.qibo.science/")
    )
    assert server_key("https://cloud.qibo.science") == server_key("https://cloud.qibo.science/")
    assert server_key("http://cloud.qibo.science") != server_key("https://cloud.qibo.science")
    assert re.fullmatch(r"local-data-qibo-[0-9a-f]{12}", server_key("local:///data/qibo"))
    assert server_key("local:///data/qibo") != server_key("local:///data/qibo2")
    assert server_key("http://127.0.0.1:8000").startswith("http-127.0.0.1-8000-")
    secret = server_key("https://user:s3cret@host.example/?token=abc")
    assert "s3cret" not in secret and "abc" not in secret and "user" not in secret


@settings(max_examples=300, deadline=None)
@given(url=st.text(max_size=300))
def test_any_server_url_gives_one_safe_folder_name(url: str) -> None:
    key = server_key(url)
    assert re.fullmatch(r"[a-z0-9]([a-z0-9.-]{0,46}[a-z0-9])?-[0-9a-f]{12}", key), key
    assert len(key) <= 61 and key not in (".", "..")


# -- planted links and foreign folders in a shared results folder ----------------------


def forged_folder(tmp_path: Path) -> Path:
    """What a neighbour prepares: a genuine-looking result with counts of their choosing."""
    folder = tmp_path / "neighbour" / PID
    folder.mkdir(parents=True)
    (folder / RESULTS_FILE).write_bytes(dump_result(outcomes_from_frequencies(FORGED)))
    return folder


def test_a_link_planted_at_the_server_folder_is_never_read(tmp_path: Path) -> None:
    # Before: a link at <results>/<pid> made result() return the forged counts
    # without downloading anything; here both the old and the new place are planted.
    base = tmp_path / "shared"
    base.mkdir()
    forged = forged_folder(tmp_path)
    (base / PID).symlink_to(forged, target_is_directory=True)
    (base / server_key(SERVER)).symlink_to(forged.parent, target_is_directory=True)
    store = FilesystemResultStore(base)
    assert store.lookup(SERVER, PID) is None
    job, transport, renderer = job_of(store, result_archive(frequencies=GENUINE))
    assert job.result(verbose=False, timeout=30) is None  # refused, said why
    assert len(transport.operations("download")) == 1
    [error] = renderer.errors
    assert "symbolic link" in str(error) and server_key(SERVER) in str(error)
    assert sorted(p.name for p in forged.parent.rglob("*")) == [PID, RESULTS_FILE]


def test_a_link_planted_at_the_job_folder_is_never_read(tmp_path: Path) -> None:
    store = FilesystemResultStore(tmp_path / "results")
    store.save(SERVER, "other-job", ChunkStream(result_archive(frequencies=GENUINE)))
    forged = forged_folder(tmp_path)
    store.folder_for(SERVER, PID).symlink_to(forged, target_is_directory=True)
    assert store.lookup(SERVER, PID) is None
    with pytest.raises(UnsafeResultError, match="symbolic link"):
        store.save(SERVER, PID, ChunkStream(result_archive(frequencies=GENUINE)))
    assert not store.forget(SERVER, PID)
    assert (forged / RESULTS_FILE).is_file() and len(list(forged.iterdir())) == 1


def test_a_linked_results_file_is_never_read(tmp_path: Path) -> None:
    store = FilesystemResultStore(tmp_path / "results")
    stored = store.save(SERVER, PID, ChunkStream(result_archive(frequencies=GENUINE)))
    assert stored.result_file is not None
    stored.result_file.unlink()
    stored.result_file.symlink_to(forged_folder(tmp_path) / RESULTS_FILE)
    assert store.lookup(SERVER, PID) is None
    with pytest.raises(FileNotFoundError):
        store.load(stored)


@pytest.mark.skipif(not hasattr(os, "geteuid") or os.geteuid() != 0, reason="needs root to chown")
def test_a_server_folder_owned_by_someone_else_is_never_used(tmp_path: Path) -> None:
    base = tmp_path / "shared"
    theirs = base / server_key(SERVER)
    (theirs / PID).mkdir(parents=True)
    (theirs / PID / RESULTS_FILE).write_bytes(b"forged")
    for path in (theirs, theirs / PID, theirs / PID / RESULTS_FILE):
        os.chown(path, 4242, 4242)
    store = FilesystemResultStore(base)
    assert store.lookup(SERVER, PID) is None
    with pytest.raises(UnsafeResultError, match="not a folder of yours"):
        store.save(SERVER, PID, ChunkStream(result_archive(frequencies=GENUINE)))


# -- two processes at once -------------------------------------------------------------

#: Processes and rounds of the stress test: on the code before the fix, 4 x 60 fetches
#: gave a raw FileNotFoundError or OSError in about 5 of 240 (2 x 60: none, 2 x 120: 0-1).
PROCESSES, ROUNDS = 4, 60


def fetch_in_rounds(base: str, archive: bytes, barrier: object, answers: object) -> None:
    """One process's side: ``ROUNDS`` jobs, each fetched at the same moment as the others'."""
    store = FilesystemResultStore(base)
    outcomes = []
    for round_ in range(ROUNDS):
        job, _, renderer = job_of(store, archive, pid=f"job-{round_}")
        barrier.wait()  # type: ignore[attr-defined]
        try:
            result = job.result(verbose=False, timeout=60)
            counts = dict(result.frequencies()) if result is not None else renderer.errors
            outcomes.append(repr(counts))
        except Exception as error:  # what this test is about: none should escape
            outcomes.append(f"raised {error!r}")
    answers.put(outcomes)  # type: ignore[attr-defined]


@pytest.mark.slow
def test_processes_fetching_the_same_results_at_once_all_get_them(tmp_path: Path) -> None:
    context = multiprocessing.get_context("spawn")
    barrier, answers = context.Barrier(PROCESSES), context.Queue()
    archive = result_archive(frequencies=GENUINE)
    workers = [
        context.Process(target=fetch_in_rounds, args=(str(tmp_path), archive, barrier, answers))
        for _ in range(PROCESSES)
    ]
    for worker in workers:
        worker.start()
    outcomes = [answers.get(timeout=600) for _ in workers]
    for worker in workers:
        worker.join(timeout=60)
    failures = [o for side in outcomes for o in side if o != repr(GENUINE)]
    assert failures == [], f"{len(failures)} of {PROCESSES * ROUNDS} fetches failed: {failures[:3]}"
    here = tmp_path / server_key(SERVER)
    assert sorted(p.name for p in here.iterdir()) == sorted(f"job-{r}" for r in range(ROUNDS))


def test_a_load_during_another_processs_replacement_waits_for_it(tmp_path: Path) -> None:
    # Before: a load that looked while another save had set the folder aside (between its
    # two renames) raised a raw FileNotFoundError. Here the gap is held open for 30 ms.
    store = FilesystemResultStore(tmp_path / "results")
    stored = store.save(SERVER, PID, ChunkStream(result_archive(frequencies=GENUINE)))
    aside = stored.folder.with_name(f".{PID}.old-elsewhere")
    stored.folder.rename(aside)
    timer = threading.Timer(0.03, aside.rename, args=(stored.folder,))
    timer.start()
    try:
        assert dict(store.load(stored).frequencies()) == GENUINE
    finally:
        timer.join()


def test_a_result_moved_in_by_another_process_mid_download_is_kept(tmp_path: Path) -> None:
    # Before: the later save set the other process's complete folder aside and deleted
    # it, while that process may have been reading it.
    store = FilesystemResultStore(tmp_path / "results")
    theirs = tar_gz(
        {RESULTS_FILE: dump_result(outcomes_from_frequencies(GENUINE)), "theirs.txt": b"1"}
    )

    class RacedStream(ChunkStream):
        def iter_chunks(self, chunk_size: int = 1 << 20):  # type: ignore[override]
            yield from super().iter_chunks(chunk_size)
            # The other process finishes while our last bytes arrive.
            FilesystemResultStore(store.base_folder).save(SERVER, PID, ChunkStream(theirs))

    ours = store.save(SERVER, PID, RacedStream(result_archive(frequencies=GENUINE)))
    assert (ours.folder / "theirs.txt").is_file()  # kept, not deleted under the other's feet
    assert dict(store.load(ours).frequencies()) == GENUINE
    assert [p for p in listing(store.base_folder) if ".partial-" in p or ".old-" in p] == []


def test_saving_a_stored_result_again_still_replaces_it(tmp_path: Path) -> None:
    store = FilesystemResultStore(tmp_path / "results")
    store.save(SERVER, PID, ChunkStream(result_archive(frequencies=GENUINE)))
    again = store.save(SERVER, PID, ChunkStream(result_archive(frequencies=FORGED)))
    assert dict(store.load(again).frequencies()) == FORGED
