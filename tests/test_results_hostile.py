"""Hostile and broken downloads: refused with UnsafeResultError, nothing run, nothing left behind."""

from __future__ import annotations

import contextlib
import gzip
import tarfile
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from tests.support.results import (
    FIXTURES,
    ChunkStream,
    ForgedDType,
    Marker,
    code_payloads,
    files_archive,
    fixture_bytes,
    hostile_npy,
    listing,
    member,
    tar_gz,
)

from qibo_client.adapters.filesystem_store import FilesystemResultStore, server_key
from qibo_client.exceptions import IncompleteDownloadError, UnsafeResultError
from qibo_client.results import load_result_file
from qibo_client.results.loader import check_payload
from qibo_client.results.npy import read_result_payload

PID = "job-1"
F8 = (3, "<", None, None, None, -1, -1, 0)


#: The server the results come from (a store keeps each job under its server and pid).
SERVER = "https://qibo.example"
#: The server's folder in the store.
HERE = server_key(SERVER)


@pytest.fixture
def store(tmp_path: Path) -> FilesystemResultStore:
    return FilesystemResultStore(tmp_path / "base", max_total_bytes=1 << 20, max_members=8)


def genuine_archive() -> bytes:
    return files_archive(
        {"results.npy": fixture_bytes("circuit_samples-np2.npy"), "log.txt": b"ok\n"}
    )


def assert_refused(
    store: FilesystemResultStore, data: bytes, match: str, **stream_options
) -> UnsafeResultError:
    root = store.base_folder.parent
    before = listing(root)
    with pytest.raises(UnsafeResultError, match=match) as caught:
        store.save(SERVER, PID, ChunkStream(data, **stream_options))
    assert listing(store.base_folder) == [HERE]  # no partial folder, no job folder
    ours = {"base", f"base/{HERE}"}
    assert [p for p in listing(root) if p not in ours] == [p for p in before if p not in ours]
    assert store.lookup(SERVER, PID) is None
    return caught.value


# -- code in pickles ----------------------------------------------------------------


def test_code_payloads_run_under_numpy_but_not_here(tmp_path: Path) -> None:
    sentinel = tmp_path / "pwned"
    payloads = code_payloads(sentinel, tmp_path / "inner.npy")
    probe = tmp_path / "probe.npy"
    probe.write_bytes(payloads["builtins.exec"])
    np.load(probe, allow_pickle=True)  # proves the corpus is live: a trusting loader runs it
    assert sentinel.exists()
    sentinel.unlink()
    for name, data in payloads.items():
        path = tmp_path / f"{name}.npy"
        path.write_bytes(data)
        with pytest.raises(UnsafeResultError, match=r"global|refused") as caught:
            load_result_file(path)
        assert not sentinel.exists(), name
        assert "nothing was run" in str(caught.value) or "refused" in str(caught.value)


def test_refusal_names_the_global(tmp_path: Path) -> None:
    path = tmp_path / "results.npy"
    path.write_bytes(code_payloads(tmp_path / "x", tmp_path / "inner.npy")["os.system"])
    with pytest.raises(UnsafeResultError, match=r"global (posix|os)\.system"):
        load_result_file(path)


FORGED = {
    "shape larger than data": (
        Marker((1000,), np.dtype("f8"), False, b"\0" * 8),
        "needs 8000 bytes",
    ),
    "negative shape": (Marker((-1,), np.dtype("f8"), False, b"\0" * 8), "shape"),
    "huge shape": (Marker((2**62, 2**62), np.dtype("f8"), False, b""), "shape"),
    "many dimensions": (Marker((1,) * 40, np.dtype("f8"), False, b"\0" * 8), "shape"),
    "bool in shape": (Marker((True,), np.dtype("f8"), False, b"\0" * 8), "shape"),
    "object dtype inside": (Marker((1,), np.dtype(object), False, [1]), "object array"),
    "object dtype, 0-d inside": (Marker((), np.dtype(object), False, [{"a": 1}]), "object array"),
    "structured with object field": (
        Marker((1,), np.dtype([("a", "O")]), False, b"\0" * 8),
        "numpy.dtype called",
    ),
    "structured plain": (
        Marker((1,), np.dtype([("a", "f8")]), False, b"\0" * 8),
        "numpy.dtype called",
    ),
    "string dtype": (Marker((1,), np.dtype("U4"), False, b"\0" * 16), "numpy.dtype called"),
    "wrong byte order": (
        Marker((1,), ForgedDType("f8", (3, "X", None, None, None, -1, -1, 0)), False, b"\0" * 8),
        "dtype f8",
    ),
    "byte order on bool": (
        Marker((1,), ForgedDType("b1", (3, "<", None, None, None, -1, -1, 0)), False, b"\0"),
        "dtype b1",
    ),
    "itemsize lie in state": (
        Marker((1,), ForgedDType("f8", (3, "<", None, None, None, 4, -1, 0)), False, b"\0" * 8),
        "dtype f8",
    ),
    "object flags on float": (
        Marker((1,), ForgedDType("f8", (3, "<", None, None, None, -1, -1, 63)), False, b"\0" * 8),
        "dtype f8",
    ),
    "fields smuggled in state": (
        Marker(
            (1,), ForgedDType("f8", (3, "<", None, ("a",), {"a": 1}, -1, -1, 0)), False, b"\0" * 8
        ),
        "dtype f8",
    ),
    "dtype name lie": (
        Marker((1,), ForgedDType("f8", F8, args=("f9", False, True)), False, b"\0" * 8),
        "numpy.dtype called",
    ),
    "data too short": (Marker((2,), np.dtype("c16"), False, b"\0" * 17), "needs 32 bytes"),
    "data not bytes": (Marker((1,), np.dtype("f8"), False, [0.0]), "data of type list"),
    "fortran not bool": (Marker((1,), np.dtype("f8"), 1, b"\0" * 8), "array state"),
    "dtype not a dtype": (Marker((1,), "f8", False, b"\0" * 8), "array dtype"),
}


@pytest.mark.parametrize("name", list(FORGED))
def test_forged_array_and_dtype_states_are_refused(tmp_path: Path, name: str) -> None:
    value, problem = FORGED[name]
    path = tmp_path / "results.npy"
    path.write_bytes(hostile_npy(value))
    with pytest.raises(UnsafeResultError, match=problem):
        load_result_file(path)


def test_protocol_5_out_of_band_arrays_are_refused(tmp_path: Path) -> None:
    from tests.support.results import genuine_like

    path = tmp_path / "results.npy"
    path.write_bytes(
        genuine_like({"dtype": "QuantumState", "state": np.zeros(2, complex)}, protocol=5)
    )
    with pytest.raises(UnsafeResultError):
        load_result_file(path)


# -- archives -----------------------------------------------------------------------

NPY = b"\x93NUMPY fake"
ARCHIVES = {
    "dot-dot": (tar_gz(member("../evil", b"x")), "contains '..'"),
    "dot-dot inside": (tar_gz(member("a/../../evil", b"x")), "contains '..'"),
    "absolute": (tar_gz(member("/tmp/evil", b"x")), "absolute path"),
    "backslash": (tar_gz(member("..\\evil", b"x")), "backslash"),
    "symlink": (
        tar_gz(member("results.npy", kind=tarfile.SYMTYPE, linkname="/etc/passwd")),
        "symbolic link",
    ),
    "symlink then file through it": (
        tar_gz(member("d", kind=tarfile.SYMTYPE, linkname=".."), member("d/evil", b"x")),
        "symbolic link",
    ),
    "hardlink": (
        tar_gz(member("results.npy", kind=tarfile.LNKTYPE, linkname="/etc/passwd")),
        "hard link",
    ),
    "char device": (
        tar_gz(member("results.npy", kind=tarfile.CHRTYPE, devmajor=1, devminor=3)),
        "device",
    ),
    "block device": (tar_gz(member("disk", kind=tarfile.BLKTYPE)), "device"),
    "fifo": (tar_gz(member("results.npy", kind=tarfile.FIFOTYPE)), "fifo"),
    "duplicate": (tar_gz(member("results.npy", NPY), member("results.npy", NPY)), "repeats"),
    "file then same-name dir": (
        tar_gz(member("logs", b"x"), member("logs/a", b"y")),
        "repeats or overlaps",
    ),
    "directory named results.npy": (
        tar_gz(member("results.npy", kind=tarfile.DIRTYPE)),
        "makes results.npy a folder",
    ),
    "file under results.npy": (tar_gz(member("results.npy/x", b"y")), "makes results.npy a folder"),
    "too many members": (tar_gz(*(member(f"f{i}", b"x") for i in range(9))), "more than 8 members"),
    "too big in total": (
        tar_gz(member("a", b"\0" * 700_000), member("b", b"\0" * 700_000)),
        "past 1048576 bytes",
    ),
    "gzip bomb": (files_archive({"results.npy": b"\0" * (8 << 20)}, level=9), "past 1048576 bytes"),
    "huge pax header": (tar_gz(member("a" * 100_000, b"x")), "tar metadata"),
    "gnu long name": (tar_gz(member("b" * 100_000, b"x"), fmt=tarfile.GNU_FORMAT), "tar metadata"),
    "name part too long": (tar_gz(member("n" * 300, b"x")), "longer than 255 bytes"),
    "control character": (tar_gz(member("a\nb", b"x")), "control character"),
    "unknown member type": (tar_gz(member("odd", kind=b"Z")), "tar type"),
    "html": (b"<!DOCTYPE html><html><body>502 Bad Gateway</body></html>", "HTML page"),
    "html with whitespace": (b"\n\n  <html><head><title>Login</title>", "HTML page"),
    "json": (b'{"detail": "Job not found"}', "JSON .*Job not found"),
    "json list": (b"[1, 2, 3]", "JSON"),
    "empty body": (b"", "empty body"),
    "plain tar, not gzip": (b"results.npy" + b"\0" * 1000, "not gzip"),
    "gzip of html": (gzip.compress(b"<html>" + b"x" * 2000), "not a tar archive"),
    "gzip of nothing": (gzip.compress(b""), "empty or not a tar archive"),
    "trailing garbage": (
        files_archive({"results.npy": NPY}) + b"GARBAGE",
        "unexpected bytes follow",
    ),
    "second gzip member": (files_archive({"results.npy": NPY}) * 2, "unexpected bytes follow"),
    "bad crc": (lambda a: a[:-8] + bytes([a[-8] ^ 1]) + a[-7:], "corrupt"),
}


@pytest.mark.parametrize("name", list(ARCHIVES))
def test_hostile_archives_are_refused_and_leave_nothing(
    store: FilesystemResultStore, name: str
) -> None:
    data, problem = ARCHIVES[name]
    if callable(data):
        data = data(files_archive({"results.npy": NPY}))
    assert_refused(store, data, problem)
    assert not (store.base_folder.parent / "evil").exists()


@pytest.mark.parametrize("cut", [1, 10, 100, 0.5, -9, -1])
def test_truncated_download_with_announced_length(store: FilesystemResultStore, cut: float) -> None:
    data = genuine_archive()
    end = int(len(data) * cut) if isinstance(cut, float) else cut % len(data)
    error = assert_refused(store, data[:end], "download truncated", content_length=len(data))
    assert f"got {end} of {len(data)} bytes" in str(error)


@pytest.mark.parametrize("cut", [0.3, 0.9, 0.999])
def test_truncated_download_without_length(store: FilesystemResultStore, cut: float) -> None:
    data = genuine_archive()
    assert_refused(store, data[: int(len(data) * cut)], "truncated|damaged", content_length=None)


def test_longer_than_announced(store: FilesystemResultStore) -> None:
    data = genuine_archive()
    assert_refused(store, data, "longer than announced", content_length=len(data) - 10)


def test_announced_length_over_the_limit(store: FilesystemResultStore) -> None:
    assert_refused(
        store,
        genuine_archive(),
        r"announced a 10485760-byte archive, over the \d+-byte limit",
        content_length=10 << 20,
    )


def test_a_broken_transfer_passes_through_after_cleanup(store: FilesystemResultStore) -> None:
    # The stream's own IncompleteDownloadError reaches the transport unchanged, so it can retry.
    failure = IncompleteDownloadError("the result of job job-1 broke off after 192 bytes")
    stream = ChunkStream(genuine_archive(), chunk_size=64, fail_after=3, failure=failure)
    with pytest.raises(IncompleteDownloadError) as caught:
        store.save(SERVER, PID, stream)
    assert caught.value is failure
    assert listing(store.base_folder) == [HERE]


def test_ctrl_c_mid_download_leaves_nothing(store: FilesystemResultStore) -> None:
    stream = ChunkStream(
        genuine_archive(), chunk_size=64, fail_after=4, failure=KeyboardInterrupt()
    )
    with pytest.raises(KeyboardInterrupt):
        store.save(SERVER, PID, stream)
    assert listing(store.base_folder) == [HERE]
    store.save(SERVER, PID, ChunkStream(genuine_archive()))  # and the next try works
    assert store.lookup(SERVER, PID) is not None


def test_failed_resave_keeps_the_complete_old_copy(store: FilesystemResultStore) -> None:
    store.save(SERVER, PID, ChunkStream(genuine_archive()))
    with pytest.raises(UnsafeResultError):
        store.save(SERVER, PID, ChunkStream(tar_gz(member("../evil", b"x"))))
    here = store.base_folder / HERE
    assert listing(here) == [PID, f"{PID}/log.txt", f"{PID}/results.npy"]
    assert store.lookup(SERVER, PID) is not None


@pytest.mark.parametrize("pid", ["../x", "/abs", "a/b", ".hidden", "", "..", "x" * 200])
def test_bad_pids_never_reach_the_filesystem(store: FilesystemResultStore, pid: str) -> None:
    from qibo_client.exceptions import MalformedResponseError

    with pytest.raises(MalformedResponseError, match="unusable job id"):
        store.save(SERVER, pid, ChunkStream(genuine_archive()))
    assert not store.base_folder.exists() or listing(store.base_folder) == []


def test_extracted_files_get_private_modes_not_the_archives(store: FilesystemResultStore) -> None:
    info, data = member("run.sh", b"echo hi", mode=0o4777)
    folder = store.save(
        SERVER, PID, ChunkStream(tar_gz((info, data), member("sub", kind=tarfile.DIRTYPE)))
    ).folder
    assert (folder / "run.sh").stat().st_mode & 0o7777 == 0o600
    assert (folder / "sub").stat().st_mode & 0o777 == 0o700


# -- fuzzing ------------------------------------------------------------------------

GENUINE_FILES = [p.read_bytes() for p in sorted(FIXTURES.glob("*.npy"))]
FUZZ = settings(
    max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)


@st.composite
def mutated(draw: st.DrawFn, originals: list[bytes]) -> bytes:
    data = bytearray(draw(st.sampled_from(originals)))
    for _ in range(draw(st.integers(1, 6))):
        position = draw(st.integers(0, max(len(data) - 1, 0)))
        action = draw(st.sampled_from(["flip", "set", "cut", "insert", "truncate"]))
        if action == "flip" and data:
            data[position] ^= 1 << draw(st.integers(0, 7))
        elif action == "set" and data:
            data[position] = draw(st.integers(0, 255))
        elif action == "cut":
            del data[position : position + draw(st.integers(1, 16))]
        elif action == "insert":
            data[position:position] = draw(st.binary(min_size=1, max_size=16))
        else:
            del data[position:]
    return bytes(data)


def _read_or_refuse(path: Path, data: bytes) -> None:
    path.write_bytes(data)
    with contextlib.suppress(UnsafeResultError):
        check_payload(read_result_payload(path))


@FUZZ
@given(data=st.binary(max_size=2000))
def test_fuzz_random_bytes_as_npy(tmp_path: Path, data: bytes) -> None:
    _read_or_refuse(tmp_path / "results.npy", data)
    _read_or_refuse(tmp_path / "results.npy", GENUINE_FILES[0][:128] + data)


@FUZZ
@given(data=mutated(GENUINE_FILES))
def test_fuzz_mutated_genuine_npy(tmp_path: Path, data: bytes) -> None:
    _read_or_refuse(tmp_path / "results.npy", data)


@settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(data=mutated(GENUINE_FILES[:4]))
def test_fuzz_mutated_genuine_npy_through_qibo(tmp_path: Path, data: bytes) -> None:
    path = tmp_path / "results.npy"
    path.write_bytes(data)
    with contextlib.suppress(UnsafeResultError):
        load_result_file(path)


ARCHIVE_SAMPLES = [
    genuine_archive(),
    files_archive({"results.npy": NPY, "logs/out.txt": b"x" * 3000}, level=1),
]


TAR_SAMPLES = [gzip.decompress(archive) for archive in ARCHIVE_SAMPLES]


@FUZZ
@given(
    data=st.one_of(
        mutated(ARCHIVE_SAMPLES),
        mutated(TAR_SAMPLES).map(gzip.compress),  # valid gzip around a damaged tar
        st.binary(max_size=3000),
    ),
    announce=st.booleans(),
    chunk=st.integers(1, 5000),
)
def test_fuzz_archive_extractor(tmp_path: Path, data: bytes, announce: bool, chunk: int) -> None:
    base = tmp_path / "fuzz-base"
    store = FilesystemResultStore(base, max_total_bytes=1 << 20, max_members=8)
    stream = ChunkStream(data, chunk_size=chunk, content_length=len(data) if announce else None)
    try:
        folder = store.save(SERVER, PID, stream).folder
    except UnsafeResultError:
        # Nothing but the server's folder, and the job of an earlier example if one was saved.
        assert all(p == HERE or p.startswith(f"{HERE}/{PID}") for p in listing(base))
    else:
        assert folder == base / HERE / PID
        assert all(not p.is_symlink() and (p.is_file() or p.is_dir()) for p in folder.rglob("*"))
    assert [p for p in listing(base) if ".partial-" in p or ".old-" in p] == []
    assert {p.split("/")[0] for p in listing(base)} <= {HERE}
