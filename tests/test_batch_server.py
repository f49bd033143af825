"""Extensions batch and job-list-pids in the local server's core: all or nothing, one pid
per job, idempotency of a whole batch, quotas counted across the batch, the filtered list."""

from __future__ import annotations

from pathlib import Path

import pytest
from tests.support.server import body, wide_raw

from qibo_client.protocol.wire import BATCH, JOB_LIST_PIDS, MAX_BATCH_JOBS, MAX_LIST_PIDS
from qibo_client.server.config import DeviceConfig, ServerConfig
from qibo_client.server.core import EXTENSIONS, JobRefused, QiboServer, ServerError

ALICE, BOB = "alice-token", "bob-token"


def config(**quota: float) -> ServerConfig:
    return ServerConfig(
        devices=[DeviceConfig("numpy", max_num_qubits=6, description="numpy", max_num_shots=500)],
        **quota,
    )


@pytest.fixture
def idle(tmp_path: Path):
    """A server whose workers were never started: jobs stay queued, nothing runs."""
    srv = QiboServer(tmp_path / "idle", config=config(jobs_max=5, shots_max=1000))
    srv.add_user(ALICE)
    srv.add_user(BOB)
    yield srv
    srv.close()


def pids_of(server: QiboServer, token: str = ALICE) -> list[str]:
    return [job["pid"] for job in server.list_jobs(token)]


def test_both_extensions_are_announced():
    assert BATCH in EXTENSIONS
    assert JOB_LIST_PIDS in EXTENSIONS


def test_a_batch_queues_one_job_per_body_in_order(idle):
    bodies = [body(nshots=10 + i) for i in range(3)]
    pids = idle.submit_many(ALICE, bodies)["pids"]
    assert len(pids) == len(set(pids)) == 3
    assert pids_of(idle) == pids
    assert [idle.get_job(ALICE, pid)["nshots"] for pid in pids] == [10, 11, 12]
    assert {idle.get_job(ALICE, pid)["status"] for pid in pids} == {"queueing"}


def test_one_refused_job_refuses_the_batch_naming_its_index(idle):
    bodies = [body(), body(), body(circuit=wide_raw(9)), body()]
    with pytest.raises(JobRefused) as refused:
        idle.submit_many(ALICE, bodies)
    assert "job 2 of the batch of 4" in refused.value.detail
    assert "qubits" in refused.value.detail
    assert "no job was queued" in refused.value.detail
    assert pids_of(idle) == []


def test_a_malformed_body_refuses_the_batch_naming_its_index(idle):
    with pytest.raises(ServerError) as error:
        idle.submit_many(ALICE, [body(), {"device": "numpy"}])
    assert error.value.status == 422
    assert "job 1 of the batch of 2" in error.value.detail
    assert pids_of(idle) == []


def test_the_quota_counts_the_jobs_before_each_one_and_refuses_all(idle):
    idle.submit(ALICE, body())  # 1 of 5 jobs used
    with pytest.raises(JobRefused) as refused:
        idle.submit_many(ALICE, [body(nshots=1)] * 5)  # the 5th would be the 6th job
    assert "job 4 of the batch of 5" in refused.value.detail
    assert "job quota" in refused.value.detail
    assert len(pids_of(idle)) == 1
    assert len(idle.submit_many(ALICE, [body(nshots=1)] * 4)["pids"]) == 4  # nothing was charged


def test_the_shot_quota_is_checked_across_the_batch(idle):
    with pytest.raises(JobRefused) as refused:
        idle.submit_many(ALICE, [body(nshots=400)] * 3)  # 1000 shots allowed
    assert "job 2 of the batch of 3" in refused.value.detail
    assert "shot quota" in refused.value.detail


def test_a_repeated_key_answers_the_same_pids_and_queues_nothing(idle):
    bodies = [body(nshots=5), body(nshots=6)]
    first = idle.submit_many(ALICE, bodies, idempotency_key="batch-1")
    assert idle.submit_many(ALICE, bodies, idempotency_key="batch-1") == first
    assert pids_of(idle) == first["pids"]
    # The key belongs to its user, and another body under it is refused.
    assert idle.submit_many(BOB, bodies, idempotency_key="batch-1") != first
    with pytest.raises(ServerError) as error:
        idle.submit_many(ALICE, [body(nshots=7)], idempotency_key="batch-1")
    assert error.value.status == 422


def test_a_batch_key_and_a_single_submission_key_do_not_meet(idle):
    single = idle.submit(ALICE, body(), idempotency_key="k")["pid"]
    batch = idle.submit_many(ALICE, [body()], idempotency_key="k")["pids"]
    assert batch != [single]


def test_a_key_whose_jobs_were_partly_deleted_says_so(idle):
    bodies = [body(), body()]
    pids = idle.submit_many(ALICE, bodies, idempotency_key="gone")["pids"]
    idle.delete_job(ALICE, pids[0])
    with pytest.raises(ServerError) as error:
        idle.submit_many(ALICE, bodies, idempotency_key="gone")
    assert error.value.status == 409
    assert "fresh key" in error.value.detail


def test_batch_size_is_bounded_and_not_empty(idle):
    with pytest.raises(ServerError, match="non-empty list"):
        idle.submit_many(ALICE, [])
    with pytest.raises(ServerError, match=f"at most {MAX_BATCH_JOBS}"):
        idle.submit_many(ALICE, [body()] * (MAX_BATCH_JOBS + 1))
    with pytest.raises(ServerError, match="1-128"):
        idle.submit_many(ALICE, [body()], idempotency_key="x" * 129)


def test_an_unknown_token_is_refused_before_reading(idle):
    with pytest.raises(ServerError) as error:
        idle.submit_many("nobody", [body()])
    assert error.value.status == 403


# -- the filtered job list ------------------------------------------------------------


def test_the_list_filtered_by_pid_has_only_those_of_the_callers_jobs(idle):
    mine = idle.submit_many(ALICE, [body(), body(), body()])["pids"]
    theirs = idle.submit(BOB, body())["pid"]
    listed = idle.list_jobs(ALICE, pids=[mine[2], mine[0], "no-such-job", theirs])
    assert [job["pid"] for job in listed] == [mine[0], mine[2]]  # oldest first
    assert all("frequencies" not in job for job in listed)
    assert idle.list_jobs(ALICE, pids=[]) == []
    with pytest.raises(ServerError, match=f"at most {MAX_LIST_PIDS}"):
        idle.list_jobs(ALICE, pids=[f"p{i}" for i in range(MAX_LIST_PIDS + 1)])
