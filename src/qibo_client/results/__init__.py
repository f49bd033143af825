"""Result archives and files from a server, read as the untrusted input they are.

:mod:`.archive` extracts a downloading ``.tar.gz`` safely, :mod:`.npy` and
:mod:`.safe_pickle` read ``results.npy`` without running it, and
:mod:`.loader` builds qibo's result object from it. Nothing here imports
numpy or qibo until it is used.
"""

from __future__ import annotations

from qibo_client.results.archive import extract_stream
from qibo_client.results.loader import load_result_file

__all__ = ["extract_stream", "load_result_file"]
