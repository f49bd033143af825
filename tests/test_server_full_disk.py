"""A full disk: submissions answer a clear error, a job caught mid-way ends cleanly.

The server runs on a small tmpfs mounted in a private mount namespace
(``unshare``), which is then filled; the test is skipped where unprivileged
namespaces are not allowed.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]

SCRIPT = textwrap.dedent(
    """
    import json, os, sys
    from pathlib import Path

    from tests.support.server import SCRIPTED_RUNNER, bell_raw, body, scripted, wait_final
    from qibo_client.server.config import DeviceConfig, ServerConfig
    from qibo_client.server.core import QiboServer, ServerError

    mount = Path(sys.argv[1])
    config = ServerConfig(devices=[DeviceConfig("numpy", 4, "numpy")])
    out = {}

    def server():
        srv = QiboServer(mount / "data", config=config, runner=SCRIPTED_RUNNER)
        srv.add_user("a")
        srv.start()
        return srv

    srv = server()
    out["warm"] = wait_final(srv, "a", srv.submit("a", body())["pid"])["status"]

    from tests.support.server import fill_disk
    fill_disk(mount / "filler")
    raw = bell_raw()
    big = {**raw, "queue": raw["queue"][:2] * 10000 + raw["queue"][2:]}
    try:
        srv.submit("a", body(big))
        out["submit"] = "accepted"
    except ServerError as error:
        out["submit"] = [error.status, error.detail]

    os.unlink(mount / "filler")
    pid = srv.submit("a", body(scripted("fill", path=str(mount / "filler"))))["pid"]
    job = wait_final(srv, "a", pid, timeout=120)
    out["midway"] = [job["status"], job["stderr"][-400:]]
    out["listed"] = [j["status"] for j in srv.list_jobs("a")]
    srv.close()

    os.unlink(mount / "filler")
    srv = server()
    out["after_restart"] = wait_final(srv, "a", pid, timeout=120)["status"]
    if (mount / "filler").exists():  # the job ran again (its end never reached the disk)
        os.unlink(mount / "filler")
    out["then"] = wait_final(srv, "a", srv.submit("a", body())["pid"])["status"]
    srv.close()
    print("OUT", json.dumps(out))
    """
)


def _namespaces_work() -> bool:
    if sys.platform != "linux" or shutil.which("unshare") is None:
        return False
    probe = subprocess.run(
        ["unshare", "-rm", "sh", "-c", "mount -t tmpfs -o size=1m tmpfs /mnt 2>/dev/null"],
        capture_output=True,
        timeout=30,
    )
    return probe.returncode == 0


@pytest.mark.slow
@pytest.mark.skipif(not _namespaces_work(), reason="needs unshare and a tmpfs mount")
def test_a_full_disk_is_said_and_a_job_caught_mid_way_ends_cleanly(tmp_path):
    mount = tmp_path / "small"
    mount.mkdir()
    script = tmp_path / "full_disk.py"
    script.write_text(SCRIPT)
    command = f"mount -t tmpfs -o size=24m tmpfs {mount} && exec {sys.executable} {script} {mount}"
    done = subprocess.run(
        ["unshare", "-rm", "sh", "-c", command],
        capture_output=True,
        text=True,
        cwd=ROOT,
        env={"PYTHONPATH": str(ROOT), "PATH": "/usr/bin:/bin"},
        timeout=600,
    )
    lines = [line for line in done.stdout.splitlines() if line.startswith("OUT ")]
    assert lines, done.stdout[-3000:] + done.stderr[-3000:]
    out = json.loads(lines[-1][4:])
    assert out["warm"] == "success"
    status, detail = out["submit"]
    assert status == 507 and "disk is full" in detail
    status, stderr = out["midway"]
    assert status == "error" and ("disk" in stderr or "No space" in stderr), stderr
    assert "running" not in out["listed"] and "postprocessing" not in out["listed"]
    assert out["after_restart"] in ("success", "error")
    assert out["then"] == "success"
