"""Helpers for the tests of contrib/ plugins, docs and notebook: install, run, find."""

from __future__ import annotations

import importlib.metadata
import importlib.util
import json
import os
import subprocess
import sys
from pathlib import Path
from urllib.parse import unquote, urlsplit

REPO = Path(__file__).resolve().parents[2]
CONTRIB = REPO / "contrib"
DOCS = REPO / "docs"
EXAMPLES = REPO / "examples"

#: contrib distribution -> its folder.
CONTRIB_PACKAGES = {
    "qibo-client-jsonl": CONTRIB / "qibo-client-jsonl",
    "qibo-client-backend": CONTRIB / "qibo-client-backend",
}


def local_server_available() -> bool:
    """True once the ``local://`` transport module exists in the source tree."""
    return importlib.util.find_spec("qibo_client.adapters.local_transport") is not None


def installed_from(distribution: str) -> Path | None:
    """The folder ``distribution`` is installed (editable) from, else None."""
    try:
        dist = importlib.metadata.distribution(distribution)
    except importlib.metadata.PackageNotFoundError:
        return None
    direct_url = dist.read_text("direct_url.json")
    if not direct_url:
        return None
    url = json.loads(direct_url).get("url", "")
    return Path(unquote(urlsplit(url).path)) if url.startswith("file://") else None


def ensure_installed(distribution: str) -> None:
    """``pip install -e --no-deps`` a contrib package into this venv unless it already is."""
    folder = CONTRIB_PACKAGES[distribution]
    source = installed_from(distribution)
    if source is not None and source.resolve() == folder.resolve():
        return
    done = subprocess.run(
        [sys.executable, "-m", "pip", "install", "--quiet", "--no-deps", "-e", str(folder)],
        capture_output=True,
        text=True,
        timeout=600,
    )
    if done.returncode != 0:
        raise AssertionError(
            f"pip could not install {distribution} from {folder}:\n{done.stdout}\n{done.stderr}"
        )
    importlib.invalidate_caches()


def run_python(
    code: str, *, env: dict[str, str] | None = None, timeout: float = 300
) -> subprocess.CompletedProcess[str]:
    """Run ``code`` in a fresh interpreter of this venv (so new entry points are seen)."""
    return subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        timeout=timeout,
        cwd=REPO,
        env={**os.environ, **(env or {})},
    )


def json_lines(text: str) -> list[dict]:
    """The JSON objects among ``text``'s lines (other lines are skipped)."""
    found = []
    for line in text.splitlines():
        line = line.strip()
        if line.startswith("{"):
            try:
                found.append(json.loads(line))
            except json.JSONDecodeError:
                continue
    return found
