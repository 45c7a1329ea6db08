"""Real ``lead2cash worker`` processes on one database: serial keys across workers, and a worker killed
mid-job (SIGKILL) whose job is retried by another worker and completes once.

Embedded runner on SQLite (two processes on one file) and procrastinate on PostgreSQL when configured.
"""

from __future__ import annotations

import itertools

from job_test_support import effects, wait_for
from sqlalchemy import select

from lead2cash.jobs import JobSpec
from lead2cash.jobs.model import Job, JobQueueLog, JobStatus, RunResult
from lead2cash.jobs.runtime import make_queue


def _statuses(db, ids) -> set[str]:
    with db.sessions() as session:
        return set(session.scalars(select(Job.status).where(Job.id.in_(ids))))


def test_two_workers_never_run_the_same_serial_key_at_once(jobs_db, spawn_worker):
    workers = [spawn_worker("w1"), spawn_worker("w2")]
    for worker in workers:
        wait_for(worker.ready, timeout=30, what="the workers to start")
    queue = make_queue(jobs_db.engine, jobs_db.sessions, jobs_db.url)
    ids = [
        queue.enqueue(JobSpec("test.record", {"tag": f"{key}-{n}", "sleep": 0.15}, serial_key=key))
        for n in range(6)
        for key in ("CUSTOMER", "ITEM-PRODUCT")
    ]
    queue.stop()
    wait_for(lambda: _statuses(jobs_db, ids) == {JobStatus.SUCCEEDED}, timeout=60, what="all jobs to finish")
    done = effects(jobs_db)
    assert sorted(e["tag"] for e in done) == sorted(f"{k}-{n}" for n in range(6) for k in ("CUSTOMER", "ITEM-PRODUCT"))
    for key in ("CUSTOMER", "ITEM-PRODUCT"):
        spans = sorted((e["started"], e["ended"]) for e in done if e["tag"].startswith(key + "-"))
        for (_, end), (start, _) in itertools.pairwise(spans):
            assert start >= end, f"two runs of {key} overlapped"
    assert len({e["worker"] for e in done}) == 2, "both workers should have taken jobs"
    for worker in workers:
        worker.stop()


def test_a_worker_killed_mid_job_leaves_it_to_another_worker(jobs_db, spawn_worker, tmp_path):
    started, release = tmp_path / "started", tmp_path / "release"
    queue = make_queue(jobs_db.engine, jobs_db.sessions, jobs_db.url)
    job_id = queue.enqueue(
        JobSpec(
            "test.record",
            {"tag": "order 1001", "started_file": str(started), "release_file": str(release)},
            max_attempts=3,
            rerun_delay_s=0,
        )
    )
    other = queue.enqueue(JobSpec("test.record", {"tag": "other"}, serial_key="unrelated"))
    queue.stop()
    first = spawn_worker("first")
    wait_for(started.exists, timeout=30, what="the first worker to start the job")
    first.kill()  # SIGKILL in the middle of the job: no cleanup, no acknowledgement

    spawn_worker("second")
    release.touch()
    wait_for(lambda: _statuses(jobs_db, [job_id, other]) == {JobStatus.SUCCEEDED}, timeout=60, what="the retry")
    assert sorted(e["tag"] for e in effects(jobs_db)) == ["order 1001", "other"]  # nothing lost, nothing twice
    with jobs_db.sessions() as session:
        job = session.get(Job, job_id)
        log = session.scalars(select(JobQueueLog).where(JobQueueLog.job_id == job_id).order_by(JobQueueLog.attempt))
        log = list(log)
    assert job.attempts == 2
    assert [(r.attempt, r.result) for r in log] == [(1, RunResult.ERROR), (2, RunResult.SUCCESS)]
    assert "stopped" in log[0].error
    assert log[0].worker != log[1].worker
