"""``qibo-client`` driven in-process through ``main([...])`` against ``local://`` folders."""

from __future__ import annotations

import importlib.metadata
import importlib.util
import io
import json
import re
import subprocess
import sys
from pathlib import Path

import pytest
import qibo  # noqa: F401 - qibo's log handler binds to stderr on import: not to one test's capture
from tests.support.cli import (
    HEAVY_MODULES,
    ScriptedRenderer,
    bell_script,
    broken_json,
    flip_qasm,
    ghz_json,
    registered_renderer,
    run_cli,
    spread_json,
)
from tests.support.http import FaultServer, job_object, refusing_url, reply, version_answer

from qibo_client.adapters.local_transport import LocalServerTransport
from qibo_client.cli.main import COMMANDS

needs_serve = pytest.mark.skipif(
    importlib.util.find_spec("qibo_client.cli.serve") is None,
    reason="qibo_client.cli.serve (the serve command, another helper's work) is not in the tree",
)


@pytest.fixture(scope="module")
def url(tmp_path_factory):
    """A ``local://`` folder for the module; holding a transport keeps its worker warm."""
    folder = tmp_path_factory.mktemp("server")
    address = f"local://{folder}"
    keeper = LocalServerTransport(address, "")
    yield address
    keeper.close()


@pytest.fixture
def fresh_url(tmp_path):
    """A ``local://`` folder of the test's own (for commands that touch every job)."""
    address = f"local://{tmp_path / 'own-server'}"
    keeper = LocalServerTransport(address, "")
    yield address
    keeper.close()


def cli(capsys, *argv):
    return run_cli(capsys, *argv)


def submit(capsys, url, path, *extra) -> str:
    done = cli(capsys, "run", path, "--url", url, "--no-wait", *extra)
    assert done.code == 0, done.err
    return done.out.strip()


# -- parsing ------------------------------------------------------------------------------


def test_help_lists_every_command(capsys):
    done = cli(capsys, "--help")
    assert done.code == 0
    for name in COMMANDS:
        assert name in done.out
    for option in ("--url", "--token", "--profile", "--ui", "--debug"):
        assert option in done.out


@pytest.mark.parametrize("name", [n for n in COMMANDS if n != "serve"])
def test_every_command_takes_the_global_options(capsys, name):
    done = cli(capsys, name, "--help")
    assert done.code == 0
    for option in ("--url", "--token", "--profile", "--ui", "--debug"):
        assert option in done.out


def test_a_bad_flag_is_a_usage_error_with_argparses_message(capsys):
    done = cli(capsys, "jobs", "--no-such-flag")
    assert done.code == 2
    assert "unrecognized arguments: --no-such-flag" in done.err
    assert "Traceback" not in done.err


@pytest.mark.parametrize(
    "argv, hint",
    [
        (["run", "x.py", "--shots", "100"], "(did you mean --nshots?)"),
        (["run", "x.py", "--shots=100"], "(did you mean --nshots?)"),
        (["jobs", "--stauts", "error"], "(did you mean --status?)"),
        (["jobs", "--urll=local://x"], "(did you mean --url?)"),
    ],
)
def test_an_unknown_option_close_to_a_known_one_gets_a_did_you_mean(capsys, argv, hint):
    done = cli(capsys, *argv)
    assert done.code == 2
    lines = done.err.strip().splitlines()
    assert lines[0].startswith(f"usage: qibo-client {argv[0]} ")  # the command's own usage
    assert lines[-1].startswith(f"qibo-client {argv[0]}: error: unrecognized arguments: ")
    assert lines[-1].endswith(hint)


def test_an_unknown_option_far_from_any_gets_no_guess(capsys):
    done = cli(capsys, "jobs", "--no-such-flag")
    assert done.code == 2 and "did you mean" not in done.err


@pytest.mark.parametrize(
    "argv, message",
    [
        ([], "required: COMMAND"),
        (["run", "x.py", "--nshots", "0"], "must be at least 1"),
        (["jobs", "--status", "finished"], "invalid choice: 'finished'"),
        (["fly"], "invalid choice: 'fly'"),
    ],
)
def test_bad_arguments_exit_2(capsys, argv, message):
    done = cli(capsys, *argv)
    assert done.code == 2 and message in done.err


def test_global_options_work_before_and_after_the_command(capsys, url):
    before = cli(capsys, "--url", url, "jobs", "--json")
    after = cli(capsys, "jobs", "--json", "--url", url)
    assert before.code == after.code == 0
    assert "embedded" not in before.err + after.err


# -- run ----------------------------------------------------------------------------------


def test_run_a_python_file_prints_the_bell_frequencies(capsys, url, tmp_path):
    done = cli(capsys, "run", bell_script(tmp_path), "--url", url, "--nshots", 300)
    assert done.code == 0, done.err
    rows = {row["OUTCOME"]: row for row in done.table()}
    assert set(rows) <= {"00", "11"}
    assert sum(int(row["COUNT"]) for row in rows.values()) == 300
    assert done.out.startswith("Job ") and "300 shots" in done.out


def test_run_a_json_circuit_prints_json_frequencies(capsys, url, tmp_path):
    done = cli(capsys, "run", ghz_json(tmp_path), "--url", url, "--nshots", 120, "--json")
    assert done.code == 0, done.err
    record = done.json()
    assert record["kind"] == "frequencies" and record["nshots"] == 120
    assert set(record["frequencies"]) <= {"000", "111"}
    assert sum(record["frequencies"].values()) == 120
    assert Path(record["results_folder"], "results.npy").is_file()


def _bar_cells(row: dict[str, str]) -> float:
    """How long a row's bar is, in character cells (eighths count)."""
    return sum(1 if glyph in "#\u2588" else 0.5 for glyph in row[""])


def test_run_lists_outcomes_by_count_with_bars_and_the_rest_summed(capsys, url, tmp_path):
    path = spread_json(tmp_path, nqubits=6)
    done = cli(capsys, "run", path, "--url", url, "--nshots", 400, "--top", 5)
    assert done.code == 0, done.err
    rows = done.table()
    shown, rest = rows[:5], rows[5:]
    counts = [int(row["COUNT"]) for row in shown]
    assert counts == sorted(counts, reverse=True)
    assert all(re.fullmatch("[01]{6}", row["OUTCOME"]) for row in shown)
    assert len(rest) == 1
    distinct = int(done.out.split(" shots, ")[1].split()[0])
    assert rest[0]["OUTCOME"] == f"and {distinct - 5} more" and rest[0][""] == ""
    assert sum(counts) + int(rest[0]["COUNT"]) == 400
    bars = [_bar_cells(row) for row in shown]
    assert bars[0] >= 10 and bars == sorted(bars, reverse=True)
    assert all(len(line) <= 100 for line in done.out.splitlines())

    everything = cli(
        capsys, "result", done.out.split()[1].rstrip(":"), "--url", url, "--top", "all"
    )
    assert everything.code == 0, everything.err
    assert len(everything.table()) == distinct
    assert not any(row["OUTCOME"].startswith("and ") for row in everything.table())


def test_run_json_keeps_every_outcome_sorted_by_outcome(capsys, url, tmp_path):
    done = cli(capsys, "run", spread_json(tmp_path), "--url", url, "--nshots", 300, "--json")
    assert done.code == 0, done.err
    record = done.json()
    assert set(record) == {"pid", "results_folder", "kind", "nshots", "frequencies"}
    assert list(record["frequencies"]) == sorted(record["frequencies"])
    assert sum(record["frequencies"].values()) == 300 and len(record["frequencies"]) > 16


def test_bars_fall_back_to_ascii_where_stdout_cannot_show_blocks(capsys, url, tmp_path):
    path = spread_json(tmp_path, nqubits=3)

    class Latin1(io.StringIO):
        encoding = "latin-1"

    pid = submit(capsys, url, path, "--nshots", 50)
    real = sys.stdout
    sys.stdout = Latin1()
    try:
        code = __import__("qibo_client.cli.main", fromlist=["main"]).main(
            ["result", pid, "--url", url]
        )
        text = sys.stdout.getvalue()
    finally:
        sys.stdout = real
    assert code == 0
    text.encode("latin-1")
    assert "#" in text


@pytest.mark.parametrize("top", ["0", "-3", "some"])
def test_a_bad_top_is_a_usage_error(capsys, top):
    done = cli(capsys, "run", "x.py", "--top", top)
    assert done.code == 2 and "'all'" in done.err


def test_run_an_openqasm_file(capsys, url, tmp_path):
    done = cli(capsys, "run", flip_qasm(tmp_path), "--url", url, "--nshots", 40, "--json")
    assert done.code == 0, done.err
    assert done.json()["frequencies"] == {"10": 40}


def test_run_without_measurements_summarises_the_state(capsys, url, tmp_path):
    done = cli(capsys, "run", bell_script(tmp_path, measure=False), "--url", url, "--json")
    assert done.code == 0, done.err
    record = done.json()
    assert record["kind"] == "state" and record["nqubits"] == 2
    top = {entry["basis"]: entry for entry in record["top"][:2]}
    assert set(top) == {"00", "11"}
    for entry in top.values():
        assert entry["probability"] == pytest.approx(0.5)
        assert entry["amplitude"] == pytest.approx([2**-0.5, 0.0])

    text = cli(capsys, "run", bell_script(tmp_path, measure=False), "--url", url)
    assert text.code == 0 and "state of 2 qubits" in text.out
    assert {row["BASIS"] for row in text.table()[:2]} == {"00", "11"}


def test_run_output_folder_holds_the_result(capsys, url, tmp_path):
    out = tmp_path / "mine"
    done = cli(capsys, "run", bell_script(tmp_path), "--url", url, "--output", out, "--json")
    assert done.code == 0, done.err
    folder = Path(done.json()["results_folder"])
    assert folder.is_relative_to(out) and folder.name == done.json()["pid"]
    assert (folder / "results.npy").is_file()


def test_no_wait_then_job_and_result(capsys, url, tmp_path):
    pid = submit(capsys, url, bell_script(tmp_path), "--nshots", 64)
    assert pid and "\n" not in pid

    got = cli(capsys, "result", pid, "--url", url, "--json")
    assert got.code == 0, got.err
    assert got.json()["pid"] == pid and sum(got.json()["frequencies"].values()) == 64

    shown = cli(capsys, "job", pid, "--url", url, "--json")
    assert shown.code == 0
    record = shown.json()
    assert record["pid"] == pid and record["status"] == "success"
    assert record["device"] == "numpy" and record["nshots"] == 64
    assert record["results_folder"] == got.json()["results_folder"]

    lines = cli(capsys, "job", pid, "--url", url)
    assert "pid  " in lines.out and pid in lines.out and "success" in lines.out


def test_result_is_read_back_from_the_store_without_the_job_on_the_server(capsys, url, tmp_path):
    pid = submit(capsys, url, bell_script(tmp_path), "--nshots", 10)
    first = cli(capsys, "result", pid, "--url", url, "--json")
    assert cli(capsys, "delete", pid, "--url", url, "--keep-local").code == 0
    assert cli(capsys, "job", pid, "--url", url).code == 1  # the server forgot it
    again = cli(capsys, "result", pid, "--url", url, "--json")
    assert again.code == 0, again.err
    # qibo redraws shots from a stored state on each load, so compare what is fixed
    fixed = ("pid", "kind", "nshots", "results_folder")
    assert {k: again.json()[k] for k in fixed} == {k: first.json()[k] for k in fixed}


def test_a_job_that_fails_exits_1_and_says_where_the_logs_are(capsys, url, tmp_path):
    done = cli(capsys, "run", broken_json(tmp_path), "--url", url)
    assert done.code == 1
    assert "ended in error" in done.err and "logs are in" in done.err
    folder = done.err.split("logs are in ")[1].split()[0]
    assert Path(folder).is_dir() and any(Path(folder).iterdir())
    assert "Traceback" not in done.err


def test_an_unknown_device_exits_1_with_the_servers_message(capsys, url, tmp_path):
    done = cli(capsys, "run", bell_script(tmp_path), "--url", url, "--device", "quantum-toaster")
    assert done.code == 1
    assert "qibo-client: error: the server refused the job" in done.err
    assert "quantum-toaster" in done.err and "numpy" in done.err


@pytest.mark.parametrize(
    "name, content, message",
    [
        ("nothing.py", "x = 1\n", "defines no `circuit`"),
        ("wrong.py", "circuit = 42\n", "not a qibo Circuit"),
        ("raises.py", "raise ValueError('bad angle')\n", "ValueError: bad angle"),
        ("bad.json", "{not json", "not valid JSON"),
        ("list.json", "[1, 2]", "circuit.raw"),
        ("bad.qasm", "OPENQASM 2.0;\nqreg q[1];\nfoo q[0];\n", "not OpenQASM that qibo can read"),
        ("circuit.txt", "H 0", "unknown circuit format"),
    ],
)
def test_an_unusable_circuit_file_is_a_usage_error(capsys, tmp_path, name, content, message):
    path = tmp_path / name
    path.write_text(content, encoding="utf-8")
    done = cli(capsys, "run", path, "--url", f"local://{tmp_path / 'unused'}")
    assert done.code == 2
    assert message in done.err and str(path) in done.err
    assert "Traceback" not in done.err
    assert not (tmp_path / "unused").exists()  # nothing started


def test_a_missing_file_exits_2(capsys, tmp_path):
    done = cli(capsys, "run", tmp_path / "absent.py", "--url", f"local://{tmp_path}")
    assert done.code == 2 and "absent.py: no such file" in done.err


def test_debug_shows_the_traceback(capsys, tmp_path):
    path = tmp_path / "raises.py"
    path.write_text("raise ValueError('bad angle')\n", encoding="utf-8")
    plain = cli(capsys, "run", path, "--url", f"local://{tmp_path}")
    debug = cli(capsys, "run", path, "--url", f"local://{tmp_path}", "--debug")
    assert "Traceback" not in plain.err
    assert "Traceback (most recent call last)" in debug.err and "bad angle" in debug.err
    assert plain.code == debug.code == 2
    assert debug.err.rstrip().splitlines()[-1].startswith("qibo-client: error: running")


def test_ctrl_c_while_waiting_says_how_to_resume(capsys, url, tmp_path):
    def interrupt(snapshot):
        raise KeyboardInterrupt

    renderer = ScriptedRenderer(on_update=interrupt)
    with registered_renderer("interrupting", renderer):
        done = cli(capsys, "run", bell_script(tmp_path), "--url", url, "--ui", "interrupting")
    assert done.code == 130
    assert renderer.messages == []  # not the library's advice for Python users
    assert done.err.count("interrupted") == 1 and "get_job" not in done.err
    pid = done.err.split("qibo-client result ")[1].split()[0]
    assert cli(capsys, "result", pid, "--url", url, "--json").json()["pid"] == pid


def test_an_unknown_renderer_is_a_usage_error(capsys, url):
    done = cli(capsys, "jobs", "--url", url, "--ui", "hologram")
    assert done.code == 2
    assert "hologram" in done.err and "logging" in done.err and "rich" in done.err


def test_a_url_without_scheme_is_a_usage_error(capsys):
    done = cli(capsys, "jobs", "--url", "cloud.qibo.science", "--token", "t")
    assert done.code == 2 and "https://cloud.qibo.science" in done.err


def test_no_url_uses_the_embedded_server_and_says_so(capsys, tmp_path, _isolated_user_state):
    done = cli(capsys, "quota")
    assert done.code == 0, done.err
    data = _isolated_user_state / "data" / "qibo-client" / "local-server"
    assert f"No server configured: using the embedded local server (data: {data})" in done.err
    assert data.is_dir()


# -- jobs, delete -------------------------------------------------------------------------


def test_jobs_table_json_and_filters(capsys, fresh_url, tmp_path):
    good = submit(capsys, fresh_url, bell_script(tmp_path), "--nshots", 5)
    cli(capsys, "result", good, "--url", fresh_url)
    bad = submit(capsys, fresh_url, broken_json(tmp_path))
    assert cli(capsys, "result", bad, "--url", fresh_url).code == 1

    table = cli(capsys, "jobs", "--url", fresh_url)
    assert table.code == 0
    rows = {row["PID"]: row for row in table.table()}
    assert rows[good]["STATUS"] == "success" and rows[bad]["STATUS"] == "error"
    assert rows[good]["NSHOTS"] == "5" and rows[good]["DEVICE"] == "numpy"

    lines = cli(capsys, "jobs", "--url", fresh_url, "--json").json_lines()
    assert {line["pid"] for line in lines} == {good, bad}
    errors = cli(capsys, "jobs", "--url", fresh_url, "--json", "--status", "error").json_lines()
    assert [line["pid"] for line in errors] == [bad]
    assert len(cli(capsys, "jobs", "--url", fresh_url, "--json", "--limit", 1).json_lines()) == 1
    none = cli(capsys, "jobs", "--url", fresh_url, "--device", "qibojit-gpu")
    assert none.code == 0 and none.out == "" and "No jobs found" in none.err


def test_delete_one_job(capsys, fresh_url, tmp_path):
    pid = submit(capsys, fresh_url, bell_script(tmp_path))
    done = cli(capsys, "delete", pid, "--url", fresh_url)
    assert done.code == 0 and f"Deleted job {pid}" in done.out
    assert cli(capsys, "jobs", "--url", fresh_url, "--json").out == ""
    again = cli(capsys, "delete", pid, "--url", fresh_url)
    assert again.code == 1 and "qibo-client: error: [404 Error]" in again.err


@pytest.mark.parametrize("argv", [["delete"], ["delete", "abc", "--all"]])
def test_delete_needs_a_pid_or_all(capsys, url, argv):
    done = cli(capsys, *argv, "--url", url)
    assert done.code == 2 and "a PID or --all" in done.err


class _Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_delete_all_asks_first(capsys, fresh_url, tmp_path, monkeypatch):
    pids = {submit(capsys, fresh_url, bell_script(tmp_path)) for _ in range(2)}

    refused = cli(capsys, "delete", "--all", "--url", fresh_url)  # stdin is not a terminal
    assert refused.code == 2 and "--yes" in refused.err

    monkeypatch.setattr(sys, "stdin", _Terminal("n\n"))
    declined = cli(capsys, "delete", "--all", "--url", fresh_url)
    assert declined.code == 0 and "Delete all 2 jobs" in declined.err
    assert declined.err.rstrip().endswith("Nothing deleted.") and "error" not in declined.err
    assert declined.out == ""
    listed = {
        line["pid"] for line in cli(capsys, "jobs", "--url", fresh_url, "--json").json_lines()
    }
    assert listed == pids

    monkeypatch.setattr(sys, "stdin", _Terminal("y\n"))
    accepted = cli(capsys, "delete", "--all", "--url", fresh_url)
    assert accepted.code == 0 and "Deleted 2 jobs" in accepted.out
    assert cli(capsys, "jobs", "--url", fresh_url, "--json").out == ""


def test_delete_all_with_yes(capsys, fresh_url, tmp_path):
    submit(capsys, fresh_url, bell_script(tmp_path))
    done = cli(capsys, "delete", "--all", "--yes", "--url", fresh_url)
    assert done.code == 0 and "Deleted 1 jobs" in done.out
    assert cli(capsys, "jobs", "--url", fresh_url, "--json").out == ""


# -- quota, plugins, version --------------------------------------------------------------


def test_quota(capsys, url):
    done = cli(capsys, "quota", "--url", url)
    assert done.code == 0
    assert done.out.startswith("User: ")
    rows = done.table()
    assert any(row["PROJECT"] == "personal" and row["DEVICE"] == "numpy" for row in rows)

    record = cli(capsys, "quota", "--url", url, "--json").json()
    assert record["disk"]["kbs_max"] >= record["disk"]["kbs_left"] >= 0
    assert any(p["partition"]["name"] == "numpy" for p in record["projects"])


def test_quota_reads_in_human_units_and_fits_80_columns(capsys, tmp_path):
    folder = tmp_path / "quota-server"
    folder.mkdir()
    (folder / "server.toml").write_text("[quota]\ndisk_kbs_max = 5000000\n", encoding="utf-8")
    done = cli(capsys, "quota", "--url", f"local://{folder}")
    assert done.code == 0, done.err
    first = done.out.splitlines()[0]
    assert re.fullmatch(
        r"User: \S+    Disk: \d+(\.\d)? [KMG]B used of 4\.8 GB \(\d+(\.\d)? [KMG]B left\)", first
    ), first
    assert max(len(line) for line in done.out.splitlines()) <= 80
    row = next(row for row in done.table() if row["DEVICE"] == "numpy")
    assert row["TIME LEFT"] == "100:00:00" and row["SHOTS LEFT"] == "100,000,000"


@pytest.mark.parametrize(
    "kilobytes, shown",
    [(542250.19, "529.5 MB"), (5000000, "4.8 GB"), (0, "0 KB"), (512, "512.0 KB"), (None, "-")],
)
def test_quota_sizes_read_in_the_unit_that_fits(kilobytes, shown):
    from qibo_client.presentation.tables import human_size

    assert human_size(kilobytes) == shown


def test_plugins_lists_each_adapter_with_its_package(capsys):
    done = cli(capsys, "plugins")
    assert done.code == 0
    rows = {(row["KIND"], row["NAME"]): row["PACKAGE"] for row in done.table()}
    ours = f"qibo-client {importlib.metadata.version('qibo-client')}"
    for kind, name in [
        ("transport", "http"),
        ("transport", "local"),
        ("result store", "filesystem"),
        ("renderer", "rich"),
        ("renderer", "logging"),
    ]:
        assert rows[(kind, name)] == ours
    lines = cli(capsys, "plugins", "--json").json_lines()
    assert {(line["kind"], line["name"]) for line in lines} == set(rows)


def test_version_names_client_qibo_and_server(capsys, url):
    done = cli(capsys, "version", "--url", url, "--json")
    assert done.code == 0
    record = done.json()
    assert record["client"] == importlib.metadata.version("qibo-client")
    assert record["qibo"] == importlib.metadata.version("qibo")
    assert record["server"]["qibo_version"] == importlib.metadata.version("qibo")
    assert record["server"]["url"] == url
    text = cli(capsys, "version", "--url", url).out.splitlines()
    assert text[0] == f"qibo-client {record['client']}" and text[1] == f"qibo {record['qibo']}"
    assert text[2].startswith(f"server {url}: qibo ")


def test_version_says_when_the_server_is_unreachable(capsys):
    with refusing_url() as address:
        done = cli(capsys, "version", "--url", address, "--token", "t", "--json")
    assert done.code == 0
    assert done.json()["server"]["error"].startswith("not reachable: [0 Error]")
    assert "qibo" in done.json()


# -- HTTP servers: tokens -----------------------------------------------------------------


def _guarded(token: str):
    """A server that answers the protocol only to ``token`` and 401 to anyone else."""

    def behaviour(handler, index):
        if handler.headers.get("x-api-token") != token:
            reply(handler, 401, {"detail": "Invalid token."})
        elif handler.path == "/api/qibo_version/":
            reply(handler, 200, version_answer(server="0.0.1", minimum="0.0.1"))
        elif handler.path == "/api/disk_quota/":
            reply(handler, 200, [{"user": {"email": "ada@lab.org"}, "kbs_left": 1, "kbs_max": 2}])
        elif handler.path == "/api/jobs/":
            reply(handler, 200, [job_object("job-1", "success")])
        else:
            reply(handler, 404, {"detail": "Not found."})

    return behaviour


def test_a_bad_token_exits_1_with_the_servers_answer(capsys):
    with FaultServer(_guarded("right")) as server:
        done = cli(capsys, "jobs", "--url", server.url, "--token", "wrong")
    assert done.code == 1
    assert "[401 Error] Invalid token." in done.err and "login" in done.err
    assert "wrong" not in done.err


def test_an_http_url_without_any_token_is_a_usage_error(capsys):
    done = cli(capsys, "jobs", "--url", "https://qibo.example.org")
    assert done.code == 2
    assert "no token" in done.err and "QIBO_CLIENT_TOKEN" in done.err


def test_login_verifies_saves_and_the_profile_is_used(capsys, monkeypatch):
    from qibo_client.credentials import load_profiles, profiles_path

    with FaultServer(_guarded("s3cret-token")) as server:
        refused = cli(capsys, "login", "--url", server.url, "--token", "nope", "--profile", "lab")
        assert refused.code == 1 and "401" in refused.err
        assert not profiles_path().exists()

        monkeypatch.setattr(sys, "stdin", io.StringIO("s3cret-token\n"))  # piped, not a tty
        done = cli(capsys, "login", "--url", server.url, "--profile", "lab")
        assert done.code == 0, done.err
        assert "ada@lab.org" in done.out and "'lab'" in done.out
        assert "s3cret-token" not in done.out + done.err
        assert load_profiles()["lab"] == {"url": server.url, "token": "s3cret-token"}
        assert profiles_path().stat().st_mode & 0o777 == 0o600

        listed = cli(capsys, "jobs", "--profile", "lab", "--json")
        assert listed.code == 0, listed.err
        assert [line["pid"] for line in listed.json_lines()] == ["job-1"]
        assert server.seen[-1].headers["x-api-token"] == "s3cret-token"


def test_login_without_verify_saves_and_never_prints_the_token(capsys):
    from qibo_client.credentials import load_profiles, profiles_path

    done = cli(
        capsys, "login", "--url", "https://qibo.example.org", "--token", "tok-123", "--no-verify"
    )
    assert done.code == 0
    assert "tok-123" not in done.out + done.err
    assert load_profiles()["default"]["token"] == "tok-123"
    path = profiles_path()
    assert path.stat().st_mode & 0o777 == 0o600
    assert path.parent.stat().st_mode & 0o777 == 0o700


def test_login_needs_a_url_and_a_token(capsys, monkeypatch):
    assert cli(capsys, "login", "--token", "t", "--no-verify").code == 2
    monkeypatch.setattr(sys, "stdin", io.StringIO(""))
    done = cli(capsys, "login", "--url", "https://qibo.example.org", "--no-verify")
    assert done.code == 2 and "no token" in done.err


def test_an_unknown_profile_is_a_usage_error(capsys):
    done = cli(capsys, "jobs", "--profile", "nowhere")
    assert done.code == 2 and "no profile named 'nowhere'" in done.err


# -- serve, start-up ----------------------------------------------------------------------


@needs_serve
def test_serve_help_comes_from_the_server_cli(capsys):
    done = cli(capsys, "serve", "--help")
    assert done.code == 0
    assert "usage: qibo-client serve" in done.out


def _imported_after(code: str) -> list[str]:
    probe = (
        "import sys, contextlib, io\n"
        "from qibo_client.cli.main import main\n"
        "with contextlib.redirect_stdout(io.StringIO()):\n"
        f"    {code}\n"
        f"print(','.join(m for m in {HEAVY_MODULES!r} if m in sys.modules))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, timeout=60, check=True
    )
    return [name for name in done.stdout.strip().split(",") if name]


@pytest.mark.parametrize(
    "code", ["main(['--help'])", "main(['version', '--help'])", "main(['run', '--help'])"]
)
def test_help_imports_nothing_heavy(code):
    assert _imported_after(code) == []


def test_the_console_script_is_installed():
    scripts = {ep.name: ep.value for ep in importlib.metadata.entry_points(group="console_scripts")}
    assert scripts["qibo-client"] == "qibo_client.cli.main:main"
    done = subprocess.run(
        [sys.executable, "-m", "qibo_client.cli.main", "plugins", "--json"],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0
    assert {"http", "local"} <= {json.loads(line)["name"] for line in done.stdout.splitlines()}


# -- against `qibo-client serve` over HTTP ------------------------------------------------

SERVE_TOKEN = "serve-token-123"


@pytest.fixture(scope="module")
def http_url(tmp_path_factory):
    """``qibo-client serve`` in a subprocess on a free loopback port; stopped after the module."""
    if importlib.util.find_spec("qibo_client.cli.serve") is None:
        pytest.skip("qibo_client.cli.serve (another helper's work) is not in the tree")
    for needed in ("fastapi", "uvicorn"):
        if importlib.util.find_spec(needed) is None:
            pytest.skip(f"serving over HTTP needs {needed} (the 'server' extra)")
    import queue
    import threading

    folder = tmp_path_factory.mktemp("http-server")
    command = [sys.executable, "-m", "qibo_client.cli.main", "serve", "--port", "0"]
    command += ["--data-dir", str(folder), "--token", f"{SERVE_TOKEN}=ada@lab.org"]
    with (folder / "stderr.log").open("w") as errors:
        process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=errors, text=True)
    lines: queue.Queue[str] = queue.Queue()

    def drain() -> None:
        assert process.stdout is not None
        for line in process.stdout:
            lines.put(line)

    threading.Thread(target=drain, daemon=True).start()
    try:
        address = None
        while address is None:
            line = lines.get(timeout=90)
            if line.startswith("Serving the Qibo protocol on "):
                address = line.split(" on ", 1)[1].split()[0]
        yield address
    finally:
        process.terminate()
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


@pytest.mark.slow
def test_run_and_jobs_over_http_with_a_token(capsys, http_url, tmp_path):
    done = cli(
        capsys,
        "run",
        bell_script(tmp_path),
        "--url",
        http_url,
        "--token",
        SERVE_TOKEN,
        "--nshots",
        50,
        "--json",
    )
    assert done.code == 0, done.err
    assert sum(done.json()["frequencies"].values()) == 50
    listed = cli(capsys, "jobs", "--url", http_url, "--token", SERVE_TOKEN, "--json")
    assert done.json()["pid"] in {line["pid"] for line in listed.json_lines()}
    assert SERVE_TOKEN not in done.err + listed.err


@pytest.mark.slow
def test_a_bad_token_against_qibo_client_serve_exits_1(capsys, http_url):
    done = cli(capsys, "quota", "--url", http_url, "--token", "not-the-token")
    assert done.code == 1 and ("[401 Error]" in done.err or "[403 Error]" in done.err)
    assert "qibo-client login" in done.err
    assert "not-the-token" not in done.err


@pytest.mark.slow
def test_login_against_qibo_client_serve_then_use_the_profile(capsys, http_url):
    done = cli(capsys, "login", "--url", http_url, "--token", SERVE_TOKEN, "--profile", "served")
    assert done.code == 0, done.err
    assert "ada@lab.org" in done.out and SERVE_TOKEN not in done.out
    version = cli(capsys, "version", "--profile", "served", "--json").json()
    assert version["server"]["qibo_version"] == importlib.metadata.version("qibo")


def test_the_rich_renderer_can_be_chosen(capsys, url, tmp_path):
    done = cli(capsys, "run", bell_script(tmp_path), "--url", url, "--ui", "rich", "--nshots", 8)
    assert done.code == 0, done.err
    assert "OUTCOME" in done.out and "SUCCESS" in done.out  # the table, and Rich's banner


def test_json_output_has_no_progress_display_mixed_in(capsys, url, tmp_path):
    done = cli(capsys, "run", bell_script(tmp_path), "--url", url, "--ui", "rich", "--json")
    assert done.code == 0
    assert done.json()["kind"] == "frequencies"  # stdout is exactly one JSON object


# -- error messages -----------------------------------------------------------------------


def test_each_error_type_gets_its_exit_status_and_one_line():
    from qibo_client.cli.errors import describe
    from qibo_client.exceptions import (
        ConfigurationError,
        JobPostServerError,
        JobTimeoutError,
        MalformedResponseError,
        QiboApiError,
        SubmissionOutcomeUnknownError,
    )

    cases = [
        (ConfigurationError("bad url"), 2, "bad url"),
        (FileNotFoundError(2, "No such file or directory", "x.py"), 2, "x.py: no such file"),
        (JobPostServerError("quota exceeded"), 1, "the server refused the job: quota exceeded"),
        (QiboApiError(0, "GET", "http://h/api/jobs/", "refused"), 1, "server is running"),
        (MalformedResponseError("no pid"), 1, "does not follow the protocol: no pid"),
        (JobTimeoutError("p-1", 2.5, "queueing"), 1, "within 2.5 s (last status: queueing)"),
        (
            SubmissionOutcomeUnknownError(
                method="POST", url="http://h/api/jobs/", message="cut", idempotency_key="k"
            ),
            1,
            "may or may not be queued",
        ),
        (RuntimeError("qibo too old"), 1, "RuntimeError: qibo too old (run again with --debug"),
    ]
    for error, code, text in cases:
        got_code, message = describe(error)
        assert got_code == code and text in message and "\n" not in message
    assert "qibo-client result p-1" in describe(JobTimeoutError("p-1", 1, None))[1]


def test_a_profiles_file_others_can_read_gives_one_warning_line(capsys, url):
    from qibo_client.credentials import profiles_path, save_profile

    save_profile("default", url, "")
    profiles_path().chmod(0o644)
    done = cli(capsys, "jobs", "--json")
    assert done.code == 0, done.err
    warning = [line for line in done.err.splitlines() if "warning" in line]
    assert len(warning) == 1 and warning[0].startswith("qibo-client: warning: ")
    assert "chmod 600" in warning[0]
