"""Extract a result archive (``.tar.gz``) while it downloads, keeping only plain files.

The download is decompressed as it arrives (zlib checks the gzip trailer, so
truncation and corruption are caught) and read as a tar stream. Nothing
tarfile offers for extraction is used: each regular member is copied into a
file we create ourselves, so links, devices, fifos and path tricks never reach
the filesystem, on every Python version.
"""

from __future__ import annotations

import json
import os
import tarfile
import zlib
from collections.abc import Iterator
from pathlib import Path, PurePosixPath

from qibo_client.exceptions import IncompleteDownloadError, UnsafeResultError
from qibo_client.ports.transport import ResultStream
from qibo_client.protocol.wire import RESULTS_FILE

CHUNK = 1 << 20
#: Tar metadata blocks (pax headers, GNU long names) larger than this are refused.
MAX_METADATA = 64 << 10
#: Decompressed bytes allowed after the tar end marker (tar pads to 10 KiB records).
MAX_TAIL = 1 << 20
MAX_NAME_PARTS = 16
_METADATA_TYPES = (
    tarfile.GNUTYPE_LONGNAME,
    tarfile.GNUTYPE_LONGLINK,
    tarfile.XHDTYPE,
    tarfile.XGLTYPE,
    tarfile.SOLARIS_XHDTYPE,
)
_OPEN_FLAGS = (
    os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_BINARY", 0)
)


def describe_body(head: bytes) -> str:
    """Say what the server sent instead of an archive, from its first bytes."""
    if not head:
        return "the server sent an empty body instead of the result archive (.tar.gz)"
    text = head.decode("utf-8", "replace")
    start = text.lstrip().lower()
    if start.startswith(("<!doctype html", "<html", "<head", "<body")) or "<html" in start[:300]:
        kind = "an HTML page"
    elif start.startswith(("{", "[")):
        kind = "JSON"
        try:
            data = json.loads(text)
        except ValueError:
            data = None
        if isinstance(data, dict):
            for key in ("detail", "message", "error"):
                if isinstance(data.get(key), str):
                    return f"the server sent JSON instead of the result archive (.tar.gz): {data[key][:200]}"
    elif start.startswith("<"):
        kind = "XML"
    else:
        kind = "data that is not gzip"
    excerpt = "".join(c if c.isprintable() else "?" for c in text[:120])
    return f"the server sent {kind} instead of the result archive (.tar.gz); it begins {excerpt!r}"


class _Download:
    """The stream's chunks, counted and checked against the announced length."""

    def __init__(self, stream: ResultStream, limit: int) -> None:
        self._chunks: Iterator[bytes] = iter(stream.iter_chunks(CHUNK))
        self.expected = stream.content_length
        self.limit = limit
        self.received = 0
        self.head = b""
        self.finished = False
        if self.expected is not None and self.expected > limit:
            raise UnsafeResultError(
                f"the server announced a {self.expected}-byte archive, over the {limit}-byte limit"
            )

    def next_chunk(self) -> bytes:
        while not self.finished:
            try:
                chunk = next(self._chunks)
            except StopIteration:
                self.finished = True
                if self.expected is not None and self.received < self.expected:
                    raise IncompleteDownloadError(
                        f"download truncated: got {self.received} of {self.expected} bytes"
                    ) from None
                return b""
            if not chunk:
                continue
            self.received += len(chunk)
            if len(self.head) < 512:
                self.head += bytes(chunk[: 512 - len(self.head)])
            if self.expected is not None and self.received > self.expected:
                raise UnsafeResultError(
                    f"download longer than announced: more than {self.expected} bytes arrived"
                )
            if self.received > self.limit:
                raise UnsafeResultError(f"download exceeds the {self.limit}-byte limit")
            return bytes(chunk) if not isinstance(chunk, bytes) else chunk
        return b""


class _Gunzip:
    """A read-only file of the download's decompressed bytes, for ``tarfile``'s stream mode."""

    def __init__(self, download: _Download, limit: int) -> None:
        self.download = download
        self.limit = limit
        self.produced = 0
        self._inflate = zlib.decompressobj(wbits=31)  # gzip wrapper: checks header, CRC and size
        self._pending = b""
        self._check_magic()

    def _check_magic(self) -> None:
        while len(self.download.head) < 64 and not self.download.finished:
            self._pending += self.download.next_chunk()
        if not self.download.head.startswith(b"\x1f\x8b"):
            raise UnsafeResultError(describe_body(self.download.head))

    def read(self, size: int = CHUNK) -> bytes:
        size = CHUNK if size is None or size < 0 else max(size, 1)
        while not self._inflate.eof:
            if not self._pending:
                self._pending = self.download.next_chunk()
                if not self._pending:
                    raise IncompleteDownloadError(
                        f"download truncated: the archive's gzip stream ends early "
                        f"(after {self.download.received} bytes)"
                    )
            try:
                data = self._inflate.decompress(self._pending, size)
            except zlib.error as error:
                raise UnsafeResultError(
                    f"the result archive is corrupt (not valid gzip data: {error})"
                ) from None
            self._pending = self._inflate.unconsumed_tail
            if data:
                self.produced += len(data)
                if self.produced > self.limit:
                    raise UnsafeResultError(
                        f"the result archive unpacks to more than {self.limit} bytes; refused"
                    )
                return data
        return b""

    def finish(self) -> None:
        """Read to the end of the gzip stream; refuse a long tail or trailing data."""
        tail = 0
        while data := self.read(CHUNK):
            tail += len(data)
            if tail > MAX_TAIL:
                raise UnsafeResultError(
                    f"the result archive has more than {MAX_TAIL} bytes after its end marker"
                )
        extra = len(self._inflate.unused_data) + len(self._pending)
        while chunk := self.download.next_chunk():
            extra += len(chunk)
        if extra:
            raise UnsafeResultError(
                f"{extra} unexpected bytes follow the result archive's gzip stream"
            )


class _GuardedTarInfo(tarfile.TarInfo):
    """Refuse huge metadata blocks, which ``tarfile`` would read into memory whole."""

    def _proc_member(self, tarfile: tarfile.TarFile) -> tarfile.TarInfo:
        if self.type in _METADATA_TYPES and self.size > MAX_METADATA:
            raise UnsafeResultError(
                f"archive member {self.name!r:.80} carries {self.size} bytes of tar metadata; refused"
            )
        return super()._proc_member(tarfile)  # type: ignore[misc]


def _member_parts(member: tarfile.TarInfo) -> tuple[str, ...]:
    """The member's name as plain relative path parts, or a refusal saying why."""
    name = member.name
    problem = None
    if name.startswith(("/", "\\")) or (len(name) > 1 and name[1] == ":"):
        problem = "is an absolute path"
    elif "\\" in name or any(ord(c) < 32 for c in name):
        problem = "contains a backslash or a control character"
    parts = tuple(p for p in PurePosixPath(name).parts if p != ".")
    if problem is None and ".." in parts:
        problem = "contains '..'"
    elif problem is None and len(parts) > MAX_NAME_PARTS:
        problem = f"is nested more than {MAX_NAME_PARTS} folders deep"
    elif problem is None and any(len(os.fsencode(part)) > 255 for part in parts):
        problem = "has a path part longer than 255 bytes"
    if problem:
        raise UnsafeResultError(f"archive member {name!r:.120} {problem}; refused")
    return parts


def _member_kind(member: tarfile.TarInfo) -> str:
    if member.isreg() and not member.issparse():
        return "file"
    if member.isdir():
        return "dir"
    kinds = {
        tarfile.SYMTYPE: "a symbolic link",
        tarfile.LNKTYPE: "a hard link",
        tarfile.CHRTYPE: "a device",
        tarfile.BLKTYPE: "a device",
        tarfile.FIFOTYPE: "a fifo",
        tarfile.GNUTYPE_SPARSE: "a sparse file",
    }
    kind = kinds.get(member.type, f"of tar type {member.type!r}")
    raise UnsafeResultError(
        f"archive member {member.name!r:.120} is {kind}; only plain files are accepted"
    )


class _Extraction:
    """Where members go, and what has been seen so far."""

    def __init__(self, destination: Path, max_total_bytes: int, max_members: int) -> None:
        self.destination = destination
        self.max_total_bytes = max_total_bytes
        self.max_members = max_members
        self.kinds: dict[tuple[str, ...], str] = {}
        self.total = 0
        self.members = 0

    def add(self, archive: tarfile.TarFile, member: tarfile.TarInfo) -> None:
        self.members += 1
        if self.members > self.max_members:
            raise UnsafeResultError(
                f"the result archive has more than {self.max_members} members; refused"
            )
        parts = _member_parts(member)
        kind = _member_kind(member)
        if not parts:
            if kind == "dir":
                return  # "." itself
            raise UnsafeResultError(f"archive member {member.name!r:.120} has no usable name")
        for depth in range(1, len(parts) + (kind == "dir")):
            self._claim(parts[:depth], "dir", member.name)
        if kind == "file":
            self._claim(parts, "file", member.name)
            self._write(archive, member, parts)

    def _claim(self, parts: tuple[str, ...], kind: str, name: str) -> None:
        seen = self.kinds.get(parts)
        if parts == (RESULTS_FILE,) and kind == "dir":
            raise UnsafeResultError(
                f"archive member {name!r:.120} makes {RESULTS_FILE} a folder; refused"
            )
        if seen == "dir" and kind == "dir":
            return
        if seen is not None:
            raise UnsafeResultError(
                f"archive member {name!r:.120} repeats or overlaps an earlier member; refused"
            )
        self.kinds[parts] = kind
        if kind == "dir":
            os.mkdir(self.destination.joinpath(*parts), 0o700)

    def _write(
        self, archive: tarfile.TarFile, member: tarfile.TarInfo, parts: tuple[str, ...]
    ) -> None:
        self.total += member.size
        if self.total > self.max_total_bytes:
            raise UnsafeResultError(
                f"archive member {member.name!r:.120} takes the archive past {self.max_total_bytes} bytes; refused"
            )
        source = archive.extractfile(member)
        assert source is not None  # a regular member always has data
        written = 0
        fd = os.open(self.destination.joinpath(*parts), _OPEN_FLAGS, 0o600)
        with open(fd, "wb", buffering=0) as target:
            while data := source.read(CHUNK):
                target.write(data)
                written += len(data)
        if written != member.size:
            raise UnsafeResultError(
                f"archive member {member.name!r:.120} holds {written} of its {member.size} bytes"
            )


def extract_stream(
    stream: ResultStream, destination: Path, *, max_total_bytes: int, max_members: int
) -> list[str]:
    """Extract the archive ``stream`` delivers into the empty folder ``destination``.

    Returns the member files' relative names. Raises ``UnsafeResultError`` for
    anything but a complete gzip tar of plain files within the limits; the
    caller removes ``destination`` then.
    """
    download = _Download(stream, limit=max_total_bytes + (1 << 20))
    gunzip = _Gunzip(download, limit=max_total_bytes + max_members * 4 * MAX_METADATA + MAX_TAIL)
    extraction = _Extraction(destination, max_total_bytes, max_members)
    try:
        with tarfile.open(
            fileobj=gunzip, mode="r|", bufsize=CHUNK, tarinfo=_GuardedTarInfo
        ) as archive:  # type: ignore[call-overload]
            for member in archive:
                extraction.add(archive, member)
    except tarfile.TarError as error:
        head = "empty" if gunzip.produced == 0 else "damaged"
        raise UnsafeResultError(
            f"the result archive is {head} or not a tar archive: {error}"
        ) from None
    gunzip.finish()
    return ["/".join(parts) for parts, kind in extraction.kinds.items() if kind == "file"]
