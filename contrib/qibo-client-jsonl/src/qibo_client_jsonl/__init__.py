"""qibo-client-jsonl: a qibo-client renderer that writes JSON lines.

Choose it by name: ``QIBO_CLIENT_UI=jsonl`` or ``Client(token, url, ui="jsonl")``.
Every event is one JSON object on its own line, on standard output or, when
``QIBO_CLIENT_JSONL_FILE`` names a file, appended to that file.
"""

from qibo_client_jsonl.renderer import FILE_ENV, JsonLinesRenderer

__all__ = ["FILE_ENV", "JsonLinesRenderer"]
