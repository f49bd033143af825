"""The port fakes our tests use: the public testing kit's, under their old names here."""

from __future__ import annotations

from pathlib import Path

from qibo_client.testing import (
    BytesStream,
    MemoryResultStore,
    RecordingRenderer,
    RecordingView,
    ScriptedTransport,
    tar_gz,
    transient,
)
from qibo_client.testing import job_answer as job_wire


class DictResultStore(MemoryResultStore):
    """A :class:`MemoryResultStore` under ``root`` whose ``load`` gives the raw ``results.npy`` bytes."""

    def __init__(self, root: Path) -> None:
        super().__init__(root, loader=bytes)


__all__ = [
    "BytesStream",
    "DictResultStore",
    "MemoryResultStore",
    "RecordingRenderer",
    "RecordingView",
    "ScriptedTransport",
    "job_wire",
    "tar_gz",
    "transient",
]
