"""Test-session settings shared by every test: nothing a test does leaves the sandbox.

Each test gets its own results folder and config folder, and the plain
logging renderer unless it asks for another, so a developer's own
settings or cache never leak in or out.
"""

from __future__ import annotations

import pytest


@pytest.fixture(autouse=True)
def _isolated_user_state(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch):
    home = tmp_path_factory.mktemp("user")
    monkeypatch.setenv("RESULTS_BASE_FOLDER", str(home / "results"))
    monkeypatch.setenv("XDG_CONFIG_HOME", str(home / "config"))
    monkeypatch.setenv("XDG_CACHE_HOME", str(home / "cache"))
    monkeypatch.setenv("XDG_DATA_HOME", str(home / "data"))
    monkeypatch.setenv("QIBO_CLIENT_UI", "logging")
    for name in (
        "QIBO_CLIENT_TOKEN",
        "QIBO_CLIENT_URL",
        "QIBO_CLIENT_PROFILE",
        "QIBO_CLIENT_STORE",
    ):
        monkeypatch.delenv(name, raising=False)
    yield home
