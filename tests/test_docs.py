"""The documentation: every hook documented and tested, and the site builds without warnings."""

from __future__ import annotations

import importlib.util
import inspect
import re
import shutil
import subprocess
import sys
import warnings
from pathlib import Path

import pytest
from tests.support.contrib import DOCS, REPO

from qibo_client.plugins import hookspecs

#: Pages other people write; the build test stands in a placeholder while one is missing.
PAGES_OWNED_ELSEWHERE = ("protocol.md", "benchmarks.md", "reliability.md")


def hook_names() -> list[str]:
    """Every hookspec in :mod:`qibo_client.plugins.hookspecs`."""
    return sorted(
        name
        for name, function in inspect.getmembers(hookspecs, inspect.isfunction)
        if name.startswith("qibo_client_") and function.__module__ == hookspecs.__name__
    )


def undocumented(names: list[str], page: str) -> list[str]:
    """The names that ``page`` neither uses as a heading nor writes as a literal."""
    return [
        name
        for name in names
        if not re.search(rf"^#+ .*\b{name}\b", page, re.MULTILINE) and f"`{name}`" not in page
    ]


def untested(names: list[str], test_sources: dict[str, str]) -> list[str]:
    """The names that appear in none of ``test_sources`` (file name -> text)."""
    return [name for name in names if not any(name in text for text in test_sources.values())]


def _test_sources() -> dict[str, str]:
    this = Path(__file__).resolve()
    return {
        str(path): path.read_text(encoding="utf-8")
        for path in (REPO / "tests").rglob("*.py")
        if path.resolve() != this
    }


def test_there_are_hooks_to_check() -> None:
    assert "qibo_client_register_transports" in hook_names()


@pytest.mark.parametrize("name", hook_names())
def test_hook_has_a_docstring(name: str) -> None:
    assert inspect.getdoc(getattr(hookspecs, name)), f"hookspec {name} has no docstring"


@pytest.mark.parametrize("name", hook_names())
def test_hook_is_in_the_plugin_authors_guide(name: str) -> None:
    page = (DOCS / "plugins.md").read_text(encoding="utf-8")
    assert not undocumented([name], page), f"docs/plugins.md does not document {name}"


@pytest.mark.parametrize("name", hook_names())
def test_hook_is_exercised_by_a_test(name: str) -> None:
    assert not untested([name], _test_sources()), f"no test under tests/ mentions {name}"


def test_the_checks_catch_a_missing_hook() -> None:
    page = "# Hooks\n\n### `qibo_client_register_a`\n\nand `qibo_client_register_b`.\n"
    names = ["qibo_client_register_a", "qibo_client_register_b", "qibo_client_register_c"]
    assert undocumented(names, page) == ["qibo_client_register_c"]
    sources = {"test_x.py": "qibo_client_register_a()"}
    assert untested(names, sources) == ["qibo_client_register_b", "qibo_client_register_c"]


@pytest.mark.slow
def test_sphinx_builds_without_warnings(tmp_path: Path) -> None:
    if importlib.util.find_spec("sphinx") is None:
        pytest.skip("sphinx is not installed: pip install -e '.[docs]'")
    source = tmp_path / "docs"
    shutil.copytree(DOCS, source, ignore=shutil.ignore_patterns("_build"))
    for page in PAGES_OWNED_ELSEWHERE:
        if not (source / page).exists():
            warnings.warn(f"docs/{page} is missing; built with a placeholder", stacklevel=1)
            (source / page).write_text(f"# {page[:-3].capitalize()}\n\nTo be written.\n")
    command = ["-W", "--keep-going", "-q", "-b", "html", str(source), str(tmp_path / "html")]
    done = subprocess.run(
        [sys.executable, "-m", "sphinx", *command],
        capture_output=True,
        text=True,
        timeout=600,
        cwd=REPO,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    plugins_page = (tmp_path / "html" / "plugins.html").read_text(encoding="utf-8")
    for name in hook_names():
        assert name in plugins_page
    api_page = (tmp_path / "html" / "api.html").read_text(encoding="utf-8")
    assert "run_circuit" in api_page and "QiboJobStatus" in api_page
