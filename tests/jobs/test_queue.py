"""The job queue contract on both runners, in process: dedup, retries and the dead state, chains, holds,
periodic entries, idle back-off and wake-ups by outbox events and by ``wake(key)``.

Each test runs on the embedded runner (SQLite) and on procrastinate (PostgreSQL, when configured).
"""

from __future__ import annotations

from datetime import timedelta

import pytest
from job_test_support import effects, wait_for
from sqlalchemy import select, update
from typer.testing import CliRunner

from lead2cash.cli import app as cli
from lead2cash.db import transaction
from lead2cash.erp.versioning import emit
from lead2cash.jobs import EntrySpec, JobSpec, store
from lead2cash.jobs import scheduler as sched
from lead2cash.jobs.model import EntryStatus, Job, JobQueueEntry, JobQueueLog, JobStatus, RunResult
from lead2cash.sqltypes import utcnow


def job(db, job_id: int) -> Job:
    with db.sessions() as session:
        return session.get(Job, job_id)


def entry(db, key: str) -> JobQueueEntry:
    with db.sessions() as session:
        return sched.entry_by_key(session, key)


def runs(db, key: str) -> list[JobQueueLog]:
    with db.sessions() as session:
        return list(
            session.scalars(select(JobQueueLog).where(JobQueueLog.entry_key == key).order_by(JobQueueLog.started_at))
        )


def finished(db, job_id: int, status: JobStatus = JobStatus.SUCCEEDED) -> bool:
    return job(db, job_id).status == status


def test_a_pending_dedup_key_is_queued_once(jobs_db, make_jobs_queue):
    queue = make_jobs_queue()  # not started: the first copy stays pending
    first = queue.enqueue(JobSpec("test.record", {"tag": "a"}, dedup_key="sync:CUSTOMER"))
    second = queue.enqueue(JobSpec("test.record", {"tag": "b"}, dedup_key="sync:CUSTOMER"))
    assert first == second
    queue.start()
    wait_for(lambda: finished(jobs_db, first), what="the job to run")
    third = queue.enqueue(JobSpec("test.record", {"tag": "c"}, dedup_key="sync:CUSTOMER"))
    assert third != first  # the first copy is done, so a new one is queued
    wait_for(lambda: finished(jobs_db, third), what="the second copy to run")
    assert [e["tag"] for e in effects(jobs_db)] == ["a", "c"]


def test_a_poison_job_ends_dead_with_its_error_after_max_attempts(jobs_db, queue):
    job_id = queue.enqueue(JobSpec("test.poison", {"what": "order 1001"}, max_attempts=3, rerun_delay_s=0))
    wait_for(lambda: finished(jobs_db, job_id, JobStatus.DEAD), what="the job to be dead")
    dead = job(jobs_db, job_id)
    assert dead.attempts == 3
    assert dead.last_error == "ValueError: cannot process order 1001: malformed input"
    with jobs_db.sessions() as session:
        log = session.scalars(select(JobQueueLog).where(JobQueueLog.job_id == job_id)).all()
    assert sorted(r.attempt for r in log) == [1, 2, 3]
    assert {r.result for r in log} == {RunResult.ERROR}

    listing = CliRunner().invoke(cli, ["jobs", "list", "--database-url", jobs_db.url], env={"COLUMNS": "250"})
    assert listing.exit_code == 0, listing.output
    assert "dead" in listing.output and "cannot process order 1001" in listing.output

    assert queue.retry(job_id)  # a user restarts it: fresh attempts, same error again
    wait_for(lambda: job(jobs_db, job_id).attempts == 3 and finished(jobs_db, job_id, JobStatus.DEAD))


def test_a_chain_of_dependent_jobs_runs_to_the_end_in_dependency_order(jobs_db, make_jobs_queue):
    queue = make_jobs_queue()
    # CURRENCY ─┬─> CUSTOMER ─┬─> CONTACT
    #           └─> ITEM ─────┘
    currency = queue.enqueue(JobSpec("test.record", {"tag": "CURRENCY", "sleep": 0.1}))
    customer = queue.enqueue(JobSpec("test.record", {"tag": "CUSTOMER"}, depends_on=[currency]))
    item = queue.enqueue(JobSpec("test.record", {"tag": "ITEM"}, depends_on=[currency]))
    contact = queue.enqueue(JobSpec("test.record", {"tag": "CONTACT"}, depends_on=[customer, item]))
    blocked = queue.enqueue(JobSpec("test.poison", max_attempts=1))
    after_failure = queue.enqueue(JobSpec("test.record", {"tag": "NEVER"}, depends_on=[blocked]))
    assert job(jobs_db, contact).status == JobStatus.WAITING
    queue.start()
    wait_for(lambda: finished(jobs_db, contact), what="the last line of the chain")
    order = [e["tag"] for e in effects(jobs_db)]
    assert order[0] == "CURRENCY" and order[-1] == "CONTACT"
    assert sorted(order[1:3]) == ["CUSTOMER", "ITEM"]
    wait_for(lambda: finished(jobs_db, blocked, JobStatus.DEAD))
    assert job(jobs_db, after_failure).status == JobStatus.WAITING  # waits until its dependency is fixed


def test_a_recurring_entry_runs_periodically(jobs_db, queue):
    with transaction(jobs_db.sessions) as session:
        sched.ensure_entry(session, EntrySpec("ITEM-PRODUCT", "test.record", {"tag": "tick"}, interval_minutes=0.01))
    wait_for(lambda: len(runs(jobs_db, "ITEM-PRODUCT")) >= 3, what="three periodic runs")
    assert all(r.result in (RunResult.SUCCESS, RunResult.RUNNING) for r in runs(jobs_db, "ITEM-PRODUCT"))
    assert {r.link for r in runs(jobs_db, "ITEM-PRODUCT") if r.result == RunResult.SUCCESS} == {"effect:tick"}
    assert entry(jobs_db, "ITEM-PRODUCT").status in (EntryStatus.READY, EntryStatus.IN_PROCESS)


def _idle_entry(db, key: str, tables=("customer",)) -> None:
    with transaction(db.sessions) as session:
        sched.ensure_entry(session, EntrySpec(key, "test.idle", {"tag": key}, watch_tables=tables))
    wait_for(lambda: entry(db, key).status == EntryStatus.ON_HOLD_INACTIVE, what="the idle run to put it on hold")
    assert entry(db, key).next_run_at > utcnow() + timedelta(hours=11)  # 720 minutes by default


def test_an_outbox_event_wakes_an_idle_entry(jobs_db, queue):
    _idle_entry(jobs_db, "CUSTOMER")
    _idle_entry(jobs_db, "ITEM", tables=("item",))
    with transaction(jobs_db.sessions) as session:
        emit(session, "customer.changed", table="customer")
    wait_for(lambda: len(runs(jobs_db, "CUSTOMER")) == 2, what="the customer entry to run again")
    wait_for(lambda: entry(jobs_db, "CUSTOMER").status == EntryStatus.ON_HOLD_INACTIVE)
    assert len(runs(jobs_db, "ITEM")) == 1  # not watching customers: still asleep


def test_wake_by_key_wakes_an_idle_entry(jobs_db, queue):
    _idle_entry(jobs_db, "CONTACT", tables=())
    assert queue.wake("CONTACT")
    wait_for(lambda: len(runs(jobs_db, "CONTACT")) == 2, what="the contact entry to run again")
    assert not queue.wake("NO SUCH ENTRY")


def test_an_entry_on_hold_does_not_run_until_resumed(jobs_db, make_jobs_queue):
    queue = make_jobs_queue()
    with transaction(jobs_db.sessions) as session:
        sched.ensure_entry(session, EntrySpec("CURRENCY", "test.record", {"tag": "cur"}))
        sched.hold(session, "CURRENCY")
    queue.start()
    queue.tick()
    assert not queue.wake("CURRENCY")
    assert runs(jobs_db, "CURRENCY") == []
    result = CliRunner().invoke(cli, ["jobs", "resume", "CURRENCY", "--database-url", jobs_db.url])
    assert result.exit_code == 0 and "Ready" in result.output
    wait_for(lambda: len(runs(jobs_db, "CURRENCY")) == 1, what="the resumed entry to run")


def test_a_recurring_entry_is_held_while_a_related_one_off_job_runs(jobs_db, queue):
    with transaction(jobs_db.sessions) as session:
        sched.ensure_entry(session, EntrySpec("CUSTOMER", "test.idle", {"tag": "recurring"}))
    wait_for(lambda: entry(jobs_db, "CUSTOMER").status == EntryStatus.ON_HOLD_INACTIVE)
    full_sync = queue.enqueue(
        JobSpec("test.entry_status", {"key": "CUSTOMER"}, serial_key="CUSTOMER", hold_key="CUSTOMER", max_attempts=2)
    )
    wait_for(lambda: finished(jobs_db, full_sync), what="the one-off job")
    assert [e["tag"] for e in effects(jobs_db, "entry_status")] == [EntryStatus.ON_HOLD]
    # afterwards the entry is back to what it was (asleep until a change or its timeout)
    assert entry(jobs_db, "CUSTOMER").status == EntryStatus.ON_HOLD_INACTIVE


def test_a_failed_attempt_of_an_entry_is_retried_after_the_rerun_delay(jobs_db, queue):
    with transaction(jobs_db.sessions) as session:
        sched.ensure_entry(session, EntrySpec("SALESPEOPLE", "test.poison", max_attempts=2, rerun_delay_s=0))
    wait_for(lambda: entry(jobs_db, "SALESPEOPLE").status == EntryStatus.ERROR, what="the entry to be in error")
    assert "malformed input" in entry(jobs_db, "SALESPEOPLE").last_error
    assert [r.attempt for r in runs(jobs_db, "SALESPEOPLE")] == [1, 2]


@pytest.mark.parametrize("erp_url", ["sqlite"], indirect=True)
def test_an_expired_lease_counts_as_an_attempt(jobs_db, make_jobs_queue):
    queue = make_jobs_queue()
    job_id = queue.enqueue(JobSpec("test.record", {"tag": "lost"}, max_attempts=1))
    with transaction(jobs_db.sessions) as session:  # a worker took it and vanished without a heartbeat
        session.execute(
            update(Job)
            .where(Job.id == job_id)
            .values(status=JobStatus.RUNNING, attempts=1, lease_owner="gone", lease_until=utcnow())
        )
    assert queue.requeue_expired() == [job_id]
    assert job(jobs_db, job_id).status == JobStatus.DEAD
    assert "stopped" in job(jobs_db, job_id).last_error


@pytest.mark.parametrize("erp_url", ["sqlite"], indirect=True)
def test_the_late_end_of_a_given_up_attempt_changes_nothing(jobs_db, make_jobs_queue):
    first, second = make_jobs_queue(), make_jobs_queue()
    job_id = first.enqueue(JobSpec("test.record", {"tag": "x"}, max_attempts=3, rerun_delay_s=0))
    stale, _ = first.claim()
    with transaction(jobs_db.sessions) as session:  # the first worker froze past its lease
        session.execute(update(Job).where(Job.id == job_id).values(lease_until=utcnow() - timedelta(seconds=1)))
    assert second.requeue_expired() == [job_id]
    current, payload = second.claim()
    with transaction(jobs_db.sessions) as session:  # the frozen worker wakes up and reports
        assert store.finish_success(session, job_id, stale.run_id) == []
        assert store.finish_failure(session, job_id, stale.run_id, "late").superseded
    assert job(jobs_db, job_id).status == JobStatus.RUNNING and job(jobs_db, job_id).lease_owner == second.name
    second._execute(current, payload)
    assert job(jobs_db, job_id).status == JobStatus.SUCCEEDED and job(jobs_db, job_id).attempts == 2
