"""Keep every test away from the user's own qibo-client settings, profiles and results."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest


@pytest.fixture(autouse=True)
def _private_user_folders(
    tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch
) -> Iterator[Path]:
    home = tmp_path_factory.mktemp("backend-user")
    for variable, folder in (
        ("XDG_CONFIG_HOME", "config"),
        ("XDG_CACHE_HOME", "cache"),
        ("XDG_DATA_HOME", "data"),
        ("RESULTS_BASE_FOLDER", "results"),
    ):
        monkeypatch.setenv(variable, str(home / folder))
    for variable in (
        "QIBO_CLIENT_URL",
        "QIBO_CLIENT_TOKEN",
        "QIBO_CLIENT_PROFILE",
        "QIBO_CLIENT_DEVICE",
        "QIBO_BACKEND",
        "QIBO_PLATFORM",
    ):
        monkeypatch.delenv(variable, raising=False)
    monkeypatch.setenv("QIBO_CLIENT_UI", "logging")
    yield home
