"""Importing qibo_client is cheap and leaves the interpreter as it was."""

from __future__ import annotations

import subprocess
import sys

PROBE = """
import logging, sys, threading
hooks = (sys.excepthook, threading.excepthook)
handlers = list(logging.getLogger().handlers)
import qibo_client, qibo_client.exceptions, qibo_client.qibo_job, qibo_client.qibo_client
assert (sys.excepthook, threading.excepthook) == hooks, "an exception hook was installed"
assert logging.getLogger().handlers == handlers, "the root logger was changed"
assert not logging.getLogger("qibo_client").handlers, "our logger got a handler on import"
heavy = sorted(m for m in ("qibo", "requests", "rich", "numpy", "fastapi", "urllib3") if m in sys.modules)
assert not heavy, f"import pulled in {heavy}"
"""


def test_import_prints_nothing_and_installs_nothing():
    result = subprocess.run(
        [sys.executable, "-c", PROBE], capture_output=True, text=True, check=False
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout == "" and result.stderr == ""


def test_plain_import_command_is_silent():
    result = subprocess.run(
        [sys.executable, "-c", "import qibo_client"], capture_output=True, text=True, check=True
    )
    assert (result.stdout, result.stderr) == ("", "")


def test_error_hooks_are_opt_in_and_reversible():
    from qibo_client.exceptions import (
        install_qibo_error_hooks,
        qibo_error_hooks,
        uninstall_qibo_error_hooks,
    )

    before = sys.excepthook
    with qibo_error_hooks():
        assert sys.excepthook is not before
        assert install_qibo_error_hooks() is False  # already installed
    assert sys.excepthook is before
    assert uninstall_qibo_error_hooks() is False


def test_installed_hook_shows_api_errors_through_the_renderer(monkeypatch):
    from tests.support.fakes import RecordingRenderer

    from qibo_client.exceptions import QiboApiError, qibo_error_hooks
    from qibo_client.plugins import RendererPlugin, get_plugin_manager, hookimpl

    renderer = RecordingRenderer()

    class Plugin:
        @hookimpl
        def qibo_client_register_renderers(self, register):
            register(RendererPlugin("recording-hooks", lambda: renderer))

    plugin = Plugin()
    get_plugin_manager().register(plugin)
    monkeypatch.setenv("QIBO_CLIENT_UI", "recording-hooks")
    error = QiboApiError(403, "GET", "https://x/api/jobs/", "invalid token")
    try:
        with qibo_error_hooks():
            sys.excepthook(QiboApiError, error, None)
    finally:
        get_plugin_manager().unregister(plugin)
    assert renderer.errors == [error]
