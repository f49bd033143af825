"""Helpers for the result-store tests: streams, archives, and hostile files made at test time."""

from __future__ import annotations

import builtins
import gzip
import io
import os
import pickle
import subprocess
import tarfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np

from qibo_client.exceptions import IncompleteDownloadError
from qibo_client.ports import ResultStream

FIXTURES = Path(__file__).resolve().parent.parent / "data" / "results"
_UNSET: Any = object()


class ChunkStream(ResultStream):
    """A result download served from bytes, in chunks, with optional faults.

    ``content_length`` defaults to the true length (pass ``None`` for "not
    announced", or a wrong number to lie); ``fail_after`` raises ``failure``
    (by default :class:`IncompleteDownloadError`, what the port says a broken
    transfer raises) once that many chunks were delivered.
    """

    def __init__(
        self,
        data: bytes,
        *,
        chunk_size: int = 4096,
        content_length: int | None = _UNSET,
        fail_after: int | None = None,
        failure: BaseException | None = None,
    ) -> None:
        self.data = data
        self.chunk_size = chunk_size
        self.content_length = len(data) if content_length is _UNSET else content_length
        self.fail_after = fail_after
        self.failure = failure
        self.delivered = 0
        self.closed = False

    def iter_chunks(self, chunk_size: int = 1 << 20) -> Iterator[bytes]:
        view = memoryview(self.data)
        for start in range(0, len(self.data), self.chunk_size):
            if self.fail_after is not None and self.delivered >= self.fail_after:
                raise self.failure or IncompleteDownloadError(
                    f"the download broke off after {self.delivered} chunks (connection reset)"
                )
            self.delivered += 1
            yield bytes(view[start : start + self.chunk_size])

    def close(self) -> None:
        self.closed = True


# -- archives -----------------------------------------------------------------------


def member(
    name: str, data: bytes = b"", *, kind: bytes = tarfile.REGTYPE, **attrs: Any
) -> tuple[tarfile.TarInfo, bytes]:
    """A tar member; ``kind`` is a tarfile type such as ``tarfile.SYMTYPE``."""
    info = tarfile.TarInfo(name)
    info.type = kind
    info.size = len(data) if kind in (tarfile.REGTYPE, tarfile.AREGTYPE) else 0
    info.mode = 0o755 if kind == tarfile.DIRTYPE else 0o644
    for key, value in attrs.items():
        setattr(info, key, value)
    return info, data


def tar_gz(
    *members: tuple[tarfile.TarInfo, bytes], fmt: int = tarfile.PAX_FORMAT, level: int = 6
) -> bytes:
    buffer = io.BytesIO()
    with (
        gzip.GzipFile(fileobj=buffer, mode="wb", compresslevel=level, mtime=0) as zipped,
        tarfile.open(fileobj=zipped, mode="w|", format=fmt) as archive,
    ):
        for info, data in members:
            archive.addfile(info, io.BytesIO(data) if info.isreg() else None)
    return buffer.getvalue()


def files_archive(files: dict[str, bytes], **kwargs: Any) -> bytes:
    return tar_gz(*(member(name, data) for name, data in files.items()), **kwargs)


def fixture_bytes(name: str) -> bytes:
    return (FIXTURES / name).read_bytes()


def listing(root: Path) -> list[str]:
    """Every path under ``root``, relative, sorted (links not followed)."""
    return sorted(str(p.relative_to(root)) for p in root.rglob("*"))


# -- npy files ----------------------------------------------------------------------


def npy_bytes(
    pickled: bytes, header: str = "{'descr': '|O', 'fortran_order': False, 'shape': (), }"
) -> bytes:
    """A version 1.0 ``.npy`` file around ``pickled``, as numpy writes it."""
    text = header + " " * ((64 - (10 + len(header) + 1) % 64) % 64) + "\n"
    return b"\x93NUMPY\x01\x00" + len(text).to_bytes(2, "little") + text.encode("latin1") + pickled


def forged_pickle(obj: Any, *, protocol: int = 4) -> bytes:
    """Pickle ``obj``, writing the reductions of :class:`Marker`, :class:`ForgedDType`
    and :class:`Call` stand-ins in their place, so states numpy would never write can be made."""
    buffer = io.BytesIO()
    _ForgingPickler(buffer, protocol=protocol).dump(obj)
    return buffer.getvalue()


def genuine_like(payload: dict[str, Any], *, protocol: int = 4) -> bytes:
    """``payload`` in a 0-d object array, pickled and framed as ``numpy.save`` does."""
    holder = np.empty((), dtype=object)
    holder[()] = payload
    return npy_bytes(forged_pickle(holder, protocol=protocol))


class Marker:
    """Stands in a payload for a forged reduction."""

    def __init__(self, *info: Any) -> None:
        self.info = info


def _forged_array(marker: Marker) -> Any:
    shape, dtype, fortran, data = marker.info
    return (
        np._core.multiarray._reconstruct,
        (np.ndarray, (0,), b"b"),
        (1, shape, dtype, fortran, data),
    )


class ForgedDType:
    def __init__(
        self, name: str, state: tuple[Any, ...], args: tuple[Any, ...] | None = None
    ) -> None:
        self.name, self.state, self.args = name, state, args


def _forged_dtype(forged: ForgedDType) -> Any:
    return (np.dtype, forged.args or (forged.name, False, True), forged.state)


class _ForgingPickler(pickle.Pickler):
    def reducer_override(self, obj: Any) -> Any:
        if type(obj) is Marker:
            return _forged_array(obj)
        if type(obj) is ForgedDType:
            return _forged_dtype(obj)
        if type(obj) is Call:
            return (obj.func, obj.args)
        return NotImplemented


class Call:
    """A reduction that calls ``func(*args)`` when a trusting unpickler loads it."""

    def __init__(self, func: Any, *args: Any) -> None:
        self.func, self.args = func, args


def hostile_npy(value: Any, *, protocol: int = 4) -> bytes:
    """A result file whose ``state`` entry is ``value`` (Calls and forgeries allowed)."""
    return genuine_like(
        {"dtype": "QuantumState", "qibo": "0.3.6", "state": value}, protocol=protocol
    )


def code_payloads(sentinel: Path, trusted_file: Path) -> dict[str, bytes]:
    """Files that run code when loaded with ``allow_pickle=True``; each would create ``sentinel``."""
    touch = f"open({str(sentinel)!r}, 'w').close()"
    trusted_file.write_bytes(hostile_npy(Call(builtins.exec, touch)))
    return {
        "os.system": hostile_npy(Call(os.system, f"touch {sentinel}")),
        "subprocess.call": hostile_npy(Call(subprocess.call, ["touch", str(sentinel)])),
        "builtins.eval": hostile_npy(Call(builtins.eval, touch)),
        "builtins.exec": hostile_npy(Call(builtins.exec, touch)),
        "numpy.load": hostile_npy(Call(np.load, str(trusted_file), None, True)),
        "numpy.frombuffer": hostile_npy(Call(np.frombuffer, b"\x00" * 16, np.complex128)),
        "exec at top level": npy_bytes(forged_pickle(Call(builtins.exec, touch))),
        "exec via protocol 2": npy_bytes(forged_pickle(Call(builtins.exec, touch), protocol=2)),
    }
