"""Adapters from outside packages arrive through the same hooks as ours, with no change to our code."""

from __future__ import annotations

import importlib.metadata
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from pluggy import PluginValidationError
from tests.support.fakes import DictResultStore, RecordingRenderer, ScriptedTransport

from qibo_client import Client
from qibo_client.bootstrap import build_renderer, build_result_store, build_transport
from qibo_client.exceptions import ConfigurationError
from qibo_client.plugins import (
    RendererPlugin,
    ResultStorePlugin,
    TransportPlugin,
    get_plugin_manager,
    hookimpl,
    list_plugins,
    transport_plugins,
)
from qibo_client.plugins.manager import build_plugin_manager

THIRD_PARTY_MODULE = '''
"""A third-party plugin: a 'mock://' transport and a 'shout' renderer."""
import sys
from qibo_client.domain.records import (
    DiskQuota, JobDeletion, JobInfo, Partition, ProjectQuota, ServerVersion,
)
from qibo_client.plugins import hookimpl, RendererPlugin, TransportPlugin
from qibo_client.ports import Renderer, Transport


class MockTransport(Transport):
    def __init__(self, url, token):
        self.base_url = url
    def server_version(self, *, deadline=None): return ServerVersion("0.3.2", "0.2.8")
    def submit_job(self, submission, *, idempotency_key=None): return "mock-1"
    def get_job(self, pid, *, hold=0.0, known_status=None, deadline=None):
        return JobInfo(pid=pid, status="success")
    def list_jobs(self, *, deadline=None): return []
    def fetch_result(self, pid, receive, *, deadline=None): raise NotImplementedError
    def delete_job(self, pid): return JobDeletion(pid)
    def delete_all_jobs(self): return ["mock-1"]
    def disk_quota(self): return DiskQuota("mock@lab", 1.0, 2.0)
    def project_quotas(self):
        return [ProjectQuota("personal", Partition("mockdev"), 10, 20, 30)]


class Shout(Renderer):
    def start_progress(self, snapshot): raise NotImplementedError
    def show_quota(self, disk, projects):
        print("SHOUT QUOTA", disk.email, [p.partition.name for p in projects])
    def show_jobs(self, user, jobs): print("SHOUT JOBS", user)
    def show_error(self, error): print("SHOUT ERROR", error)
    def show_message(self, text, *, level="info"): print("SHOUT", level, text)


@hookimpl
def qibo_client_register_transports(register):
    register(TransportPlugin("mock", ("mock",), MockTransport, "canned answers"))


@hookimpl
def qibo_client_register_renderers(register):
    register(RendererPlugin("shout", Shout, description="prints in capitals"))
'''


def install_distribution(site: Path, name: str, module: str, source: str) -> None:
    """What pip leaves behind for distribution ``name`` whose module ``module`` is an entry point.

    The entry point is called ``module`` too, in the ``qibo_client`` group.
    """
    (site / f"{module}.py").write_text(source)
    dist = site / f"{name.replace('-', '_')}-1.0.dist-info"
    dist.mkdir()
    (dist / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {name}\nVersion: 1.0\n")
    (dist / "entry_points.txt").write_text(f"[qibo_client]\n{module} = {module}\n")


def install_fake_distribution(site: Path) -> None:
    """What pip leaves behind for a package declaring a ``qibo_client`` entry point."""
    (site / "thirdparty_qibo_plugin.py").write_text(THIRD_PARTY_MODULE)
    dist = site / "thirdparty_qibo_plugin-1.0.dist-info"
    dist.mkdir()
    (dist / "METADATA").write_text(
        "Metadata-Version: 2.1\nName: thirdparty-qibo-plugin\nVersion: 1.0\n"
    )
    (dist / "entry_points.txt").write_text("[qibo_client]\nmock = thirdparty_qibo_plugin\n")


def run_python(code: str, *sites: Path, **env: str) -> subprocess.CompletedProcess[str]:
    """Run ``code`` in a fresh interpreter that sees the distributions under ``sites``."""
    path = os.pathsep.join(str(site) for site in sites)
    return subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code)],
        env={**os.environ, "PYTHONPATH": path, **env},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_an_installed_third_party_transport_and_renderer_are_used(tmp_path):
    install_fake_distribution(tmp_path)
    script = textwrap.dedent(
        """
        import qibo_client
        from qibo_client.plugins import list_plugins
        client = qibo_client.Client("tok", "mock://lab")
        print(type(client.transport).__name__)
        client.print_quota_info()
        print(client.delete_all_jobs())
        for info in list_plugins():
            if info.package.startswith("thirdparty"):
                print("LISTED", info.kind, info.name, info.package)
        """
    )
    env = {**os.environ, "PYTHONPATH": str(tmp_path), "QIBO_CLIENT_UI": "shout"}
    out = subprocess.run(
        [sys.executable, "-c", script], env=env, capture_output=True, text=True, check=True
    ).stdout
    assert "MockTransport" in out
    assert "SHOUT QUOTA mock@lab ['mockdev']" in out
    assert "SHOUT info Deleted 1 jobs" in out
    assert "LISTED transport mock thirdparty-qibo-plugin 1.0" in out
    assert "LISTED renderer shout thirdparty-qibo-plugin 1.0" in out


class RuntimePlugin:
    """Registered at run time, the way a framework embedding the client would."""

    def __init__(self) -> None:
        self.transport = ScriptedTransport(["success"])
        self.renderer = RecordingRenderer()

    @hookimpl
    def qibo_client_register_transports(self, register):
        register(TransportPlugin("fake", ("fake",), lambda url, token: self.transport))

    @hookimpl
    def qibo_client_register_renderers(self, register):
        register(RendererPlugin("recording", lambda: self.renderer))


@pytest.fixture
def runtime_plugin():
    plugin = RuntimePlugin()
    manager = get_plugin_manager()
    manager.register(plugin)
    yield plugin
    manager.unregister(plugin)


def test_a_plugin_registered_at_run_time_is_picked_by_scheme_and_name(runtime_plugin, monkeypatch):
    monkeypatch.setenv("QIBO_CLIENT_UI", "recording")
    client = Client("tok", "fake://anywhere")
    assert client.transport is runtime_plugin.transport
    client.print_job_info()
    assert runtime_plugin.renderer.messages == [("info", "No jobs found in database for user")]
    assert any(p.name == "fake" and p.package == "registered at run time" for p in list_plugins())


def test_a_later_plugin_replaces_a_built_in_of_the_same_name():
    replacement = ScriptedTransport()

    class Override:
        @hookimpl
        def qibo_client_register_transports(self, register):
            register(TransportPlugin("http", ("http", "https"), lambda url, token: replacement))

    plugin = Override()
    get_plugin_manager().register(plugin)
    try:
        assert build_transport("https://cloud.example", "tok") is replacement
    finally:
        get_plugin_manager().unregister(plugin)


def test_built_ins_come_through_the_entry_point_group():
    from importlib.metadata import entry_points

    names = {ep.name for ep in entry_points(group="qibo_client")}
    assert {"http", "local", "filesystem", "rich_ui", "logging_ui"} <= names
    listed = [(p.kind, p.name) for p in list_plugins()]
    assert len(listed) == len(set(listed)), "a built-in was registered twice"
    assert {
        ("transport", "http"),
        ("transport", "local"),
        ("renderer", "rich"),
        ("renderer", "logging"),
        ("result store", "filesystem"),
    } <= set(listed)


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("cloud.qibo.science", "has no scheme"),
        ("ftp://server", "no transport serves 'ftp://'"),
        ("", "must be a non-empty string"),
    ],
)
def test_unusable_urls_say_what_to_do(url, message):
    with pytest.raises(ConfigurationError, match=message):
        Client("tok", url)


def test_unknown_renderer_and_store_names_list_the_known_ones(monkeypatch):
    with pytest.raises(ConfigurationError, match=r"registered renderers: .*logging"):
        build_renderer("nope")
    monkeypatch.setenv("QIBO_CLIENT_UI", "nope")
    with pytest.raises(ConfigurationError, match=r"\$QIBO_CLIENT_UI='nope'"):
        build_renderer()
    with pytest.raises(ConfigurationError, match=r"registered stores: .*filesystem"):
        build_result_store("nope")


def test_renderer_is_detected_from_the_environment(monkeypatch):
    monkeypatch.delenv("QIBO_CLIENT_UI")
    # Under pytest stdout is captured, so not a terminal: the logging renderer is chosen.
    assert type(build_renderer()).__name__ == "LoggingRenderer"


def test_a_broken_plugin_is_skipped_with_a_warning(tmp_path):
    (tmp_path / "broken_plugin.py").write_text("raise ImportError('boom')\n")
    dist = tmp_path / "broken_plugin-0.1.dist-info"
    dist.mkdir()
    (dist / "METADATA").write_text("Metadata-Version: 2.1\nName: broken-plugin\nVersion: 0.1\n")
    (dist / "entry_points.txt").write_text("[qibo_client]\nbroken = broken_plugin\n")
    script = "import qibo_client.plugins as p; print(sorted(i.name for i in p.list_plugins()))"
    result = subprocess.run(
        [sys.executable, "-c", script],
        env={**os.environ, "PYTHONPATH": str(tmp_path)},
        capture_output=True,
        text=True,
        check=True,
    )
    assert "'http'" in result.stdout
    assert "plugin 'broken'" in result.stderr and "boom" in result.stderr


def test_a_result_store_plugin_is_chosen_by_name_or_environment(monkeypatch, tmp_path):
    class MemoryStores:
        @staticmethod
        @hookimpl
        def qibo_client_register_result_stores(register):
            register(ResultStorePlugin("memory", lambda: DictResultStore(tmp_path)))

    plugin = MemoryStores()
    get_plugin_manager().register(plugin)
    try:
        assert isinstance(build_result_store("memory"), DictResultStore)
        monkeypatch.setenv("QIBO_CLIENT_STORE", "memory")
        assert isinstance(build_result_store(), DictResultStore)
        client = Client("tok", "fake://x", transport=ScriptedTransport(["success"]))
        assert (
            client.run_circuit({"nqubits": 1, "queue": []}, device="numpy").result(wait=0)
            == b"result-bytes"
        )
    finally:
        get_plugin_manager().unregister(plugin)


# -- one broken plugin stops nothing ---------------------------------------------------------

MISSPELT_MODULE = '''
"""A plugin whose only hook is misspelt (no final s)."""
from qibo_client.plugins import TransportPlugin, hookimpl


@hookimpl
def qibo_client_register_transport(register):
    register(TransportPlugin("never", ("never",), lambda url, token: None))
'''


def test_a_plugin_with_a_misspelt_hook_is_skipped_with_one_warning(tmp_path):
    install_fake_distribution(tmp_path)
    install_distribution(tmp_path, "misspelt-qibo-plugin", "misspelt_qibo_plugin", MISSPELT_MODULE)
    done = run_python(
        """
        import warnings
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            from qibo_client import Client
            from qibo_client.plugins import list_plugins, transport_plugins
            print("HTTP", type(Client("tok", "https://cloud.example").transport).__name__)
            print("MOCK", type(Client("tok", "mock://lab").transport).__name__)
            print("SCHEMES", sorted(s for p in transport_plugins() for s in p.schemes))
            print("LISTED", sorted({i.package for i in list_plugins()}))
        for warning in caught:
            if issubclass(warning.category, RuntimeWarning):
                print("WARNING", warning.message)
        """,
        tmp_path,
    )
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert "HTTP HttpTransport" in lines and "MOCK MockTransport" in lines
    assert "SCHEMES ['http', 'https', 'local', 'mock']" in lines
    assert not any("misspelt" in line for line in lines if line.startswith("LISTED"))
    [warning] = [line for line in lines if line.startswith("WARNING")]
    assert "'misspelt_qibo_plugin'" in warning and "misspelt-qibo-plugin 1.0" in warning
    assert "'qibo_client_register_transport'" in warning
    assert "did you mean 'qibo_client_register_transports'" in warning


def test_registering_a_misspelt_plugin_at_run_time_fails_at_once_and_changes_nothing():
    class Misspelt:
        @hookimpl
        def qibo_client_register_renderer(self, register):
            raise AssertionError("never called")

    manager = get_plugin_manager()
    before = manager.list_name_plugin()
    plugin = Misspelt()
    with pytest.raises(PluginValidationError, match="qibo_client_register_renderer'"):
        manager.register(plugin)
    assert not manager.is_registered(plugin)
    assert manager.list_name_plugin() == before
    assert {"http", "local"} <= {p.name for p in transport_plugins()}


def test_a_hook_that_raises_is_skipped_with_a_warning_and_the_rest_still_answer():
    class Failing:
        @hookimpl
        def qibo_client_register_transports(self, register):
            raise RuntimeError("plugin bug")

    plugin = Failing()
    get_plugin_manager().register(plugin, name="failing-plugin")
    try:
        with pytest.warns(RuntimeWarning, match="'failing-plugin'.*plugin bug"):
            names = {p.name for p in transport_plugins()}
    finally:
        get_plugin_manager().unregister(plugin)
    assert {"http", "local"} <= names


# -- which plugin wins, and the built-ins without metadata -----------------------------------


def override_module(label: str) -> str:
    """A plugin offering its own ``http`` transport and ``logging`` renderer, both named ``label``."""
    return f'''
from qibo_client.plugins import RendererPlugin, TransportPlugin, hookimpl
from qibo_client.ports import Transport


class {label}Transport(Transport):
    def __init__(self, url, token):
        self.base_url = url
    server_version = submit_job = get_job = list_jobs = fetch_result = None
    delete_job = delete_all_jobs = disk_quota = project_quotas = None


@hookimpl
def qibo_client_register_transports(register):
    register(TransportPlugin("http", ("http", "https"), {label}Transport, "{label}"))


@hookimpl
def qibo_client_register_renderers(register):
    register(RendererPlugin("logging", object, lambda: True, 0, "{label}"))
'''


WHO_WINS = """
from qibo_client import Client
from qibo_client.plugins import renderer_plugins, transport_plugins
print("CLIENT", type(Client("tok", "https://cloud.example").transport).__name__)
print("HTTP", [p.description for p in transport_plugins() if p.name == "http"])
print("LOGGING", [p.description for p in renderer_plugins() if p.name == "logging"])
"""


def test_an_installed_plugin_overrides_a_built_in_and_the_later_installed_one_wins(tmp_path):
    first, second = tmp_path / "first", tmp_path / "second"
    first.mkdir()
    second.mkdir()
    install_distribution(first, "zz-override", "zz_override", override_module("Zz"))
    install_distribution(second, "aa-override", "aa_override", override_module("Aa"))
    answers = set()
    for sites in [(first, second), (second, first), (first, second)]:
        done = run_python(WHO_WINS, *sites)
        assert done.returncode == 0, done.stderr
        answers.add(done.stdout)
    # Sorted by distribution name, zz-override loads after aa-override, wherever pip put it.
    assert answers == {"CLIENT ZzTransport\nHTTP ['Zz']\nLOGGING ['Zz']\n"}


def test_one_installed_plugin_overrides_the_built_ins_of_the_same_name(tmp_path):
    install_distribution(tmp_path, "aa-override", "aa_override", override_module("Aa"))
    done = run_python(WHO_WINS, tmp_path)
    assert done.returncode == 0, done.stderr
    assert done.stdout == "CLIENT AaTransport\nHTTP ['Aa']\nLOGGING ['Aa']\n"


def test_the_built_ins_are_registered_without_any_entry_point(monkeypatch):
    monkeypatch.setattr(importlib.metadata, "entry_points", lambda **_: [])
    manager = build_plugin_manager()
    offered: list[TransportPlugin] = []
    manager.hook.qibo_client_register_transports(register=offered.append)
    assert {p.name for p in offered} == {"http", "local"}
    assert {name for name, _ in manager.list_name_plugin()} == {
        "http",
        "local",
        "filesystem",
        "rich_ui",
        "logging_ui",
        "notebook_ui",
        "none_ui",
    }


def test_a_client_works_when_the_installed_metadata_cannot_be_read():
    done = run_python(
        """
        import importlib.metadata
        def unreadable(**_):
            raise OSError("metadata unreadable")
        importlib.metadata.entry_points = unreadable
        from qibo_client import Client
        from qibo_client.plugins import renderer_plugins, result_store_plugins
        print(type(Client("tok", "https://cloud.example").transport).__name__)
        print(sorted(p.name for p in renderer_plugins()), [p.name for p in result_store_plugins()])
        """
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout == "HttpTransport\n['logging', 'none', 'notebook', 'rich'] ['filesystem']\n"
    assert "could not read the installed plugins (metadata unreadable)" in done.stderr
