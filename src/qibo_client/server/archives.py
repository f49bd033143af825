"""Result archives: packed next to their final place (on a job's first download), then
moved there in one step."""

from __future__ import annotations

import contextlib
import io
import os
import tarfile
import tempfile
from pathlib import Path

#: Files larger than this are stored without compression: a state vector barely
#: compresses, and deflating hundreds of megabytes costs more than the run.
COMPRESS_UP_TO = 4 << 20


def write_archive(dest: Path, files: dict[str, Path | bytes]) -> int:
    """Write a ``.tar.gz`` of ``files`` (archive name -> path or bytes) at ``dest``.

    The archive is written to a temporary file beside ``dest`` and moved into
    place with ``os.replace``, so ``dest`` is never half-written. Returns its size.
    """
    sizes = [len(f) if isinstance(f, bytes) else f.stat().st_size for f in files.values()]
    level = 1 if sum(sizes) <= COMPRESS_UP_TO else 0
    dest.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    handle, temp = tempfile.mkstemp(prefix=f".{dest.name}.", suffix=".tmp", dir=dest.parent)
    try:
        with (
            os.fdopen(handle, "wb") as raw,
            tarfile.open(fileobj=raw, mode="w:gz", compresslevel=level) as archive,
        ):
            for name, content in files.items():
                if isinstance(content, bytes):
                    info = tarfile.TarInfo(name)
                    info.size = len(content)
                    info.mode = 0o644
                    archive.addfile(info, io.BytesIO(content))
                else:
                    archive.add(str(content), arcname=name, recursive=False)
        os.replace(temp, dest)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(temp)
        raise
    return dest.stat().st_size


#: What a killed server may leave half-written in its results folder: temporary
#: archives, and result files being written out (``<pid>.npy.<writer>.partial.npy``).
STALE_PATTERNS = (".*.tmp", "*.partial.npy", "*.partial")


def remove_stale_temporaries(folder: Path) -> None:
    """Delete the half-written files a killed server left behind."""
    for pattern in STALE_PATTERNS:
        for temp in folder.glob(pattern):
            with contextlib.suppress(OSError):
                temp.unlink()
