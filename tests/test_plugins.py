"""Adapters from outside packages arrive through the same hooks as ours, with no change to our code."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
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
)

THIRD_PARTY_MODULE = '''
"""A third-party plugin: a 'mock://' transport and a 'shout' renderer."""
import sys
from qibo_client.domain.records import DiskQuota, JobInfo, ProjectQuota, Partition, ServerVersion
from qibo_client.plugins import hookimpl, RendererPlugin, TransportPlugin
from qibo_client.ports import Renderer, ProgressView, Transport


class MockTransport(Transport):
    def __init__(self, url, token):
        self.base_url = url
    def server_version(self): return ServerVersion("0.3.2", "0.2.8")
    def submit_job(self, submission, *, idempotency_key=None): return "mock-1"
    def get_job(self, pid, *, wait=0.0, known_status=None):
        return JobInfo(pid=pid, status="success")
    def list_jobs(self): return []
    def open_result(self, pid): raise NotImplementedError
    def delete_job(self, pid): raise NotImplementedError
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


def install_fake_distribution(site: Path) -> None:
    """What pip leaves behind for a package declaring a ``qibo_client`` entry point."""
    (site / "thirdparty_qibo_plugin.py").write_text(THIRD_PARTY_MODULE)
    dist = site / "thirdparty_qibo_plugin-1.0.dist-info"
    dist.mkdir()
    (dist / "METADATA").write_text(
        "Metadata-Version: 2.1\nName: thirdparty-qibo-plugin\nVersion: 1.0\n"
    )
    (dist / "entry_points.txt").write_text("[qibo_client]\nmock = thirdparty_qibo_plugin\n")


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
    listed = {(p.kind, p.name) for p in list_plugins()}
    assert {
        ("transport", "http"),
        ("transport", "local"),
        ("renderer", "rich"),
        ("renderer", "logging"),
        ("result store", "filesystem"),
    } <= listed


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
