"""Importing qibo_client is cheap and leaves the interpreter as it was."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap

import pytest

#: The environment without the variable that asks for the hooks on import.
CLEAN_ENV = {k: v for k, v in os.environ.items() if k != "QIBO_API_ERRORS_AUTO"}

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
        [sys.executable, "-c", PROBE], capture_output=True, text=True, check=False, env=CLEAN_ENV
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout == "" and result.stderr == ""


def test_plain_import_command_is_silent():
    result = subprocess.run(
        [sys.executable, "-c", "import qibo_client"],
        capture_output=True,
        text=True,
        check=True,
        env=CLEAN_ENV,
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


def test_installed_hook_shows_api_errors_through_a_given_renderer():
    from tests.support.fakes import RecordingRenderer

    from qibo_client.exceptions import QiboApiError, qibo_error_hooks

    renderer = RecordingRenderer()
    error = QiboApiError(403, "GET", "https://x/api/jobs/", "invalid token")
    with qibo_error_hooks(render=renderer.show_error):
        sys.excepthook(QiboApiError, error, None)
    assert renderer.errors == [error]


def test_installed_hook_prints_the_one_line_summary_and_passes_other_errors_on(capsys):
    from qibo_client.exceptions import QiboApiError, qibo_error_hooks

    seen: list[BaseException] = []
    previous = sys.excepthook
    sys.excepthook = lambda kind, error, tb: seen.append(error)
    try:
        with qibo_error_hooks():
            sys.excepthook(QiboApiError, QiboApiError(0, "GET", "https://x/api/", "down"), None)
            other = ValueError("not ours")
            sys.excepthook(ValueError, other, None)
    finally:
        sys.excepthook = previous
    assert capsys.readouterr().err == "[0 Error] down (GET https://x/api/)\n"
    assert seen == [other]


def test_the_package_and_its_modules_hold_the_same_objects():
    import qibo_client.exceptions as package
    from qibo_client.exceptions import errors, hooks

    assert package.QiboApiError is errors.QiboApiError
    assert package.TransientError is errors.TransientError
    assert package.DeadlineExceededError is errors.DeadlineExceededError
    assert package.install_qibo_error_hooks is hooks.install_qibo_error_hooks
    assert set(errors.__all__) <= set(package.__all__)
    # The published 0.2.x hooks module's public names.
    for name in ("install_qibo_error_hooks", "uninstall_qibo_error_hooks", "qibo_error_hooks"):
        assert getattr(hooks, name) is getattr(package, name)
    assert callable(hooks.print_api_error)


UNCAUGHT = """
import sys, threading
hooks = (sys.excepthook, threading.excepthook)
import qibo_client
from qibo_client.exceptions import QiboApiError
print("INSTALLED", (sys.excepthook, threading.excepthook) != hooks, flush=True)
raise QiboApiError(403, "GET", "https://x/api/jobs/", "invalid token")
"""


@pytest.mark.parametrize("value", ["1", "true", "TRUE"])
def test_the_environment_can_ask_for_the_hooks_on_import(value):
    done = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(UNCAUGHT)],
        capture_output=True,
        text=True,
        env={**CLEAN_ENV, "QIBO_API_ERRORS_AUTO": value},
        check=False,
    )
    assert done.stdout == "INSTALLED True\n"
    assert done.stderr == "[403 Error] invalid token (GET https://x/api/jobs/)\n"
    assert done.returncode == 1


@pytest.mark.parametrize("value", [None, "", "0", "false"])
def test_without_asking_an_uncaught_error_keeps_its_traceback(value):
    env = dict(CLEAN_ENV) if value is None else {**CLEAN_ENV, "QIBO_API_ERRORS_AUTO": value}
    done = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(UNCAUGHT)],
        capture_output=True,
        text=True,
        env=env,
        check=False,
    )
    assert done.stdout == "INSTALLED False\n"
    assert done.stderr.startswith("Traceback")
    assert done.stderr.rstrip().endswith("QiboApiError: invalid token")
