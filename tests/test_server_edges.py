"""The local server's edges: a private data folder, idempotency keys that forget, a lean
job list, deep bodies, a full disk."""

from __future__ import annotations

import os
import stat
import time
from pathlib import Path

import pytest
from tests.support.server import SCRIPTED_RUNNER, body, wait_final

from qibo_client.protocol.objects import JOB_LIST
from qibo_client.server.config import DeviceConfig, ServerConfig
from qibo_client.server.core import EXTENSIONS, QiboServer, ServerError

ALICE = "alice-token"


def config(**limits: float) -> ServerConfig:
    return ServerConfig(
        devices=[DeviceConfig("numpy", max_num_qubits=6, description="numpy")], **limits
    )


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


# -- the data folder is private -------------------------------------------------------------


def test_an_existing_open_data_folder_and_its_files_are_made_private(tmp_path):
    folder = tmp_path / "data"
    with QiboServer(folder, config=config()) as first:
        first.add_user(ALICE, "alice@lab")
        first.submit(ALICE, body())
    os.chmod(folder, 0o755)
    for name in ("server.sqlite3", "server.sqlite3-wal"):
        if (folder / name).exists():
            os.chmod(folder / name, 0o644)
    (folder / "results").mkdir(exist_ok=True)
    os.chmod(folder / "results", 0o755)
    (folder / "notes.txt").write_text("the user's own file")
    os.chmod(folder / "notes.txt", 0o644)
    with QiboServer(folder, config=config()):
        assert mode(folder) == 0o700
        assert mode(folder / "server.sqlite3") == 0o600
        assert mode(folder / "results") == 0o700
        for name in ("server.sqlite3-wal", "server.sqlite3-shm"):
            if (folder / name).exists():
                assert mode(folder / name) == 0o600
        assert mode(folder / "notes.txt") == 0o644  # not the server's: left alone


def test_a_new_data_folder_is_private(tmp_path):
    with QiboServer(tmp_path / "new" / "data", config=config()) as srv:
        assert mode(srv.data_dir) == 0o700
        assert mode(srv.data_dir / "server.sqlite3") == 0o600


# -- idempotency keys forget deleted jobs, and expire -----------------------------------------


def test_a_key_replayed_after_its_job_was_deleted_makes_a_new_job(tmp_path):
    with QiboServer(tmp_path / "d", config=config()) as srv:
        srv.add_user(ALICE)
        first = srv.submit(ALICE, body(), idempotency_key="k1")["pid"]
        assert srv.submit(ALICE, body(), idempotency_key="k1")["pid"] == first
        srv.delete_job(ALICE, first)
        again = srv.submit(ALICE, body(), idempotency_key="k1")["pid"]
        assert again != first
        assert [job["pid"] for job in srv.list_jobs(ALICE)] == [again]


def test_a_key_is_forgotten_after_bulk_delete_too(tmp_path):
    with QiboServer(tmp_path / "d", config=config()) as srv:
        srv.add_user(ALICE)
        first = srv.submit(ALICE, body(), idempotency_key="k2")["pid"]
        srv.bulk_delete(ALICE)
        assert srv.submit(ALICE, body(), idempotency_key="k2")["pid"] != first


def test_a_key_expires(tmp_path):
    with QiboServer(tmp_path / "d", config=config(idempotency_seconds=0.3)) as srv:
        srv.add_user(ALICE)
        first = srv.submit(ALICE, body(), idempotency_key="k3")["pid"]
        assert srv.submit(ALICE, body(), idempotency_key="k3")["pid"] == first
        time.sleep(0.5)
        second = srv.submit(ALICE, body(), idempotency_key="k3")["pid"]
        assert second != first
        assert srv.submit(ALICE, body(), idempotency_key="k3")["pid"] == second


# -- the job list leaves frequencies out unless asked ---------------------------------------


def test_the_job_list_leaves_frequencies_out_unless_asked(tmp_path):
    with QiboServer(tmp_path / "d", config=config(), runner=SCRIPTED_RUNNER) as srv:
        srv.add_user(ALICE)
        pid = srv.submit(ALICE, body(nshots=50))["pid"]
        assert sum(wait_final(srv, ALICE, pid)["frequencies"].values()) == 50
        (listed,) = srv.list_jobs(ALICE)
        assert "frequencies" not in listed and listed["status"] == "success"
        assert {"pid", "user", "created_at", "updated_at", "status", "result_path"} <= set(listed)
        (full,) = srv.list_jobs(ALICE, frequencies=True)
        assert sum(full["frequencies"].values()) == 50
    assert JOB_LIST in EXTENSIONS


# -- a body nested too deep -----------------------------------------------------------------


def test_a_body_nested_100000_deep_is_a_400_saying_so(tmp_path):
    deep: object = 0
    for _ in range(100_000):
        deep = [deep]
    with QiboServer(tmp_path / "d", config=config()) as srv:
        srv.add_user(ALICE)
        for ask in (srv.submit, srv.dry_run):
            with pytest.raises(ServerError, match="more than 64 deep") as caught:
                ask(ALICE, body({"nqubits": 1, "queue": [], "x": deep}))
            assert caught.value.status == 400
