"""``qibo-client cache`` (list, clear, prune) and ``delete`` taking the local copy with it.

Driven through ``main([...])`` as ``tests/test_cli.py`` does, with results put
in the per-test ``$RESULTS_BASE_FOLDER`` by the store itself, or by real jobs
on a ``local://`` server; one check runs the installed command in a process.
"""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
from tests.support.cli import bell_script, command_line, run_cli
from tests.support.results import ChunkStream

from qibo_client.adapters.filesystem_cache import CACHE_MAX_SIZE_ENV
from qibo_client.adapters.filesystem_store import FilesystemResultStore, server_key
from qibo_client.adapters.local_transport import LocalServerTransport
from qibo_client.testing.answers import result_archive

SERVER = "https://qibo.example"
DAY = 86400.0


class _Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


@pytest.fixture(autouse=True)
def _no_cap_from_outside(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(CACHE_MAX_SIZE_ENV, raising=False)


@pytest.fixture
def store() -> FilesystemResultStore:
    """The store the commands use by default: ``$RESULTS_BASE_FOLDER`` (set per test)."""
    return FilesystemResultStore()


def stored(store: FilesystemResultStore, pid: str, days: float, server: str = SERVER) -> Path:
    """A result of ``pid`` last used ``days`` ago."""
    folder = store.save(server, pid, ChunkStream(result_archive(frequencies={"0": 5}))).folder
    then = time.time() - days * DAY
    os.utime(folder, (then, then))
    return folder


def pids(store: FilesystemResultStore) -> list[str]:
    return sorted(entry.pid for entry in store.cached())


# -- list ------------------------------------------------------------------------------------


def test_list_shows_server_pid_size_and_age(capsys, store):
    stored(store, "old-job", 3)
    stored(store, "new-job", 0.5, server="local:///data/qibo")
    done = run_cli(capsys, "cache", "list")
    assert done.code == 0, done.err
    rows = done.table()
    assert [row["PID"] for row in rows] == ["new-job", "old-job"]  # most recently used first
    assert rows[0]["SERVER"] == server_key("local:///data/qibo")
    assert rows[1]["SERVER"] == server_key(SERVER)
    assert rows[1]["LAST USED"] == "3d ago" and rows[0]["LAST USED"] == "12h ago"
    assert rows[0]["SIZE"].endswith("KB")
    assert "2 results, " in done.err and str(store.base_folder) in done.err


def test_list_json_gives_one_object_per_result(capsys, store):
    folder = stored(store, "job-1", 2)
    done = run_cli(capsys, "cache", "list", "--json")
    assert done.code == 0
    [record] = done.json_lines()
    assert record["server"] == server_key(SERVER) and record["pid"] == "job-1"
    assert record["folder"] == str(folder)
    assert record["size"] == sum(p.stat().st_size for p in folder.rglob("*") if p.is_file())
    assert record["age_seconds"] == pytest.approx(2 * DAY, abs=60)
    assert record["last_used"] == pytest.approx(folder.stat().st_mtime)


def test_list_of_an_empty_cache_says_so(capsys):
    done = run_cli(capsys, "cache", "list")
    assert done.code == 0 and done.out == "" and "No stored results" in done.err
    assert run_cli(capsys, "cache", "list", "--json").out == ""


def test_folder_names_another_results_folder(capsys, tmp_path):
    elsewhere = FilesystemResultStore(tmp_path / "elsewhere")
    stored(elsewhere, "there", 1)
    done = run_cli(capsys, "cache", "list", "--json", "--folder", str(tmp_path / "elsewhere"))
    assert [line["pid"] for line in done.json_lines()] == ["there"]
    assert run_cli(capsys, "cache", "list", "--json").out == ""


# -- clear -----------------------------------------------------------------------------------


def test_clear_asks_first_and_no_is_a_calm_answer(capsys, store, monkeypatch):
    stored(store, "a", 1)
    stored(store, "b", 2)
    refused = run_cli(capsys, "cache", "clear")  # stdin is not a terminal
    assert refused.code == 2 and "--yes" in refused.err
    monkeypatch.setattr(sys, "stdin", _Terminal("n\n"))
    declined = run_cli(capsys, "cache", "clear")
    assert declined.code == 0 and "Remove 2 results" in declined.err
    assert declined.err.rstrip().endswith("Nothing removed.") and "error" not in declined.err
    assert pids(store) == ["a", "b"]
    monkeypatch.setattr(sys, "stdin", _Terminal("y\n"))
    accepted = run_cli(capsys, "cache", "clear")
    assert accepted.code == 0 and "Removed 2 results" in accepted.out
    assert pids(store) == []


def test_clear_yes_removes_everything_without_asking(capsys, store):
    stored(store, "a", 1)
    stored(store, "b", 0, server="https://other.example")
    done = run_cli(capsys, "cache", "clear", "--yes")
    assert done.code == 0 and "Removed 2 results" in done.out
    assert pids(store) == []


# -- prune -----------------------------------------------------------------------------------


def test_prune_older_than_and_max_size(capsys, store):
    for pid, days in (("month", 30), ("fortnight", 14), ("week", 6), ("day", 1), ("hour", 0.04)):
        stored(store, pid, days)
    done = run_cli(capsys, "cache", "prune", "--older-than", "7d")
    assert done.code == 0, done.err
    assert "Removed 2 results" in done.out and "Kept 3 results" in done.err
    assert pids(store) == ["day", "hour", "week"]
    [one] = {entry.size for entry in store.cached()}
    done = run_cli(capsys, "cache", "prune", "--older-than", "7d", "--max-size", f"{2 * one}")
    assert done.code == 0 and "Removed 1 result," in done.out
    assert pids(store) == ["day", "hour"]  # the least recently used went first
    done = run_cli(capsys, "cache", "prune", "--max-size", "1GB")
    assert done.code == 0 and "Removed 0 results" in done.out
    assert pids(store) == ["day", "hour"]


def test_prune_spares_what_was_used_in_the_last_minute_and_says_so(capsys, store):
    stored(store, "busy", 0)
    done = run_cli(capsys, "cache", "prune", "--max-size", "0")
    assert done.code == 0 and pids(store) == ["busy"]
    assert "1 used in the last minute, never pruned" in done.err


@pytest.mark.parametrize(
    "argv, message",
    [
        (["cache", "prune"], "--older-than DURATION, --max-size SIZE, or both"),
        (["cache", "prune", "--older-than", "7"], "'7' is not a duration"),
        (["cache", "prune", "--older-than", "soon"], "e.g. 7d, 12h, 30m"),
        (["cache", "prune", "--max-size", "lots"], "'lots' is not a size"),
        (["cache", "prune", "--max-size", "none"], "'none' is not a size"),
        (["cache"], "required: ACTION"),
        (["cache", "tidy"], "invalid choice: 'tidy'"),
    ],
)
def test_bad_cache_arguments_exit_2(capsys, argv, message):
    done = run_cli(capsys, *argv)
    assert done.code == 2 and message in done.err
    assert "Traceback" not in done.err


def test_a_bad_size_setting_is_a_usage_error_naming_it(capsys, monkeypatch):
    monkeypatch.setenv(CACHE_MAX_SIZE_ENV, "plenty")
    done = run_cli(capsys, "cache", "list")
    assert done.code == 2 and CACHE_MAX_SIZE_ENV in done.err and "'plenty'" in done.err


def test_the_installed_command_has_cache(tmp_path):
    folder = FilesystemResultStore(tmp_path / "results")
    stored(folder, "job", 9)
    environment = {**os.environ, "RESULTS_BASE_FOLDER": str(tmp_path / "results")}
    environment.pop(CACHE_MAX_SIZE_ENV, None)

    def qibo_client(*argv: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            command_line(*argv), capture_output=True, text=True, timeout=60, env=environment
        )

    listed = qibo_client("cache", "list", "--json")
    assert listed.returncode == 0, listed.stderr
    assert [json.loads(line)["pid"] for line in listed.stdout.splitlines()] == ["job"]
    pruned = qibo_client("cache", "prune", "--older-than", "1w")
    assert pruned.returncode == 0 and "Removed 1 result," in pruned.stdout
    assert qibo_client("cache", "list", "--json").stdout == ""


# -- delete takes the local copy with it -------------------------------------------------------


@pytest.fixture
def url(tmp_path):
    address = f"local://{tmp_path / 'own-server'}"
    keeper = LocalServerTransport(address, "")
    yield address
    keeper.close()


def finished(capsys, url: str, tmp_path: Path) -> tuple[str, Path]:
    done = run_cli(capsys, "run", bell_script(tmp_path), "--url", url, "--nshots", 10, "--json")
    assert done.code == 0, done.err
    return done.json()["pid"], Path(done.json()["results_folder"])


def test_delete_removes_the_local_copy_unless_keep_local(capsys, url, tmp_path):
    # Before: the job left the server and its results folder stayed in the cache forever.
    gone, gone_folder = finished(capsys, url, tmp_path)
    kept, kept_folder = finished(capsys, url, tmp_path)
    assert run_cli(capsys, "delete", gone, "--url", url).code == 0
    assert not gone_folder.exists()
    done = run_cli(capsys, "delete", kept, "--url", url, "--keep-local")
    assert done.code == 0 and f"Deleted job {kept}" in done.out
    assert (kept_folder / "results.npy").is_file()
    again = run_cli(capsys, "result", kept, "--url", url, "--json")  # read back from the cache
    assert again.code == 0 and again.json()["results_folder"] == str(kept_folder)


def test_delete_all_removes_every_local_copy(capsys, url, tmp_path):
    folders = [finished(capsys, url, tmp_path)[1] for _ in range(2)]
    done = run_cli(capsys, "delete", "--all", "--yes", "--url", url)
    assert done.code == 0 and "Deleted 2 jobs" in done.out
    assert not any(folder.exists() for folder in folders)


def test_delete_all_keep_local(capsys, url, tmp_path):
    _, folder = finished(capsys, url, tmp_path)
    done = run_cli(capsys, "delete", "--all", "--yes", "--keep-local", "--url", url)
    assert done.code == 0 and (folder / "results.npy").is_file()
