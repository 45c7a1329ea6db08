"""The job lifecycle as short transactions on the job tables, shared by both runners.

Both runners call the same functions, so the semantics cannot drift apart: ``enqueue`` refuses a second
unfinished copy of a dedup key and parks a job with unfinished dependencies as *waiting*; ``start_run``
records the attempt (log row, entry *In Process*, hold of a related recurring entry); ``finish_success``
moves the entry on (*Ready* for the next interval, or *On Hold with Inactivity Timeout* after an idle run)
and releases dependents whose dependencies have all succeeded; ``finish_failure`` schedules the next
attempt after the rerun delay or, on the last allowed attempt, leaves the job *dead* with its error and the
entry in *Error*. Who claims a job and how leases are kept is the runner's business.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import and_, exists, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, aliased

from lead2cash.jobs.model import (
    OPEN,
    EntryStatus,
    Job,
    JobDependency,
    JobQueueEntry,
    JobQueueLog,
    JobStatus,
    RunResult,
)
from lead2cash.sqltypes import utcnow

ERROR_LIMIT = 4000
# built once: a fresh alias per call would defeat SQLAlchemy's statement cache
_OTHER_DEP = aliased(JobDependency)
_BLOCKER = aliased(Job)


@dataclass(frozen=True)
class JobSpec:
    """A job to enqueue. ``dedup_key``: no second pending copy; ``serial_key``: one run at a time per key."""

    name: str
    payload: dict[str, Any] = field(default_factory=dict)
    dedup_key: str | None = None
    serial_key: str | None = None
    hold_key: str | None = None
    max_attempts: int = 2
    rerun_delay_s: int = 30
    run_after: datetime | None = None
    depends_on: Sequence[int] = ()
    entry_id: uuid.UUID | None = None


@dataclass(frozen=True)
class Failure:
    """How a failed attempt ended: retried at ``retry_at``, or dead (``retry_at`` is None).

    ``superseded``: the attempt had already been given up (its lease expired and the job was handed on), so
    its end changes nothing.
    """

    retry_at: datetime | None
    superseded: bool = False

    @property
    def dead(self) -> bool:
        return self.retry_at is None


def enqueue(session: Session, spec: JobSpec) -> tuple[int, bool]:
    """Add a job; returns ``(job id, created)``. An unfinished copy with the same dedup key is returned as is."""
    if spec.dedup_key and (existing := _pending_with(session, spec.dedup_key)) is not None:
        return existing, False
    waiting = bool(spec.depends_on) and _unfinished(session, spec.depends_on)
    job = Job(
        name=spec.name,
        payload=spec.payload,
        status=JobStatus.WAITING if waiting else JobStatus.READY,
        dedup_key=spec.dedup_key,
        serial_key=spec.serial_key,
        hold_key=spec.hold_key,
        entry_id=spec.entry_id,
        max_attempts=max(1, spec.max_attempts),
        rerun_delay_s=max(0, spec.rerun_delay_s),
        run_after=spec.run_after or utcnow(),
    )
    try:
        with session.begin_nested():
            session.add(job)
            session.flush()
    except IntegrityError:  # a concurrent transaction queued the same dedup key first (PostgreSQL)
        existing = _pending_with(session, spec.dedup_key) if spec.dedup_key else None
        if existing is None:
            raise
        return existing, False
    for dep in dict.fromkeys(spec.depends_on):
        session.add(JobDependency(job_id=job.id, depends_on_id=dep))
    session.flush()
    return job.id, True


def _pending_with(session: Session, dedup_key: str) -> int | None:
    return session.scalar(
        select(Job.id).where(Job.dedup_key == dedup_key, Job.status.in_((JobStatus.WAITING, JobStatus.READY)))
    )


def _unfinished(session: Session, ids: Iterable[int]) -> bool:
    ids = list(ids)
    blocking = session.scalar(select(Job.id).where(Job.id.in_(ids), Job.status != JobStatus.SUCCEEDED).limit(1))
    return blocking is not None


def start_run(session: Session, job: Job, worker: str) -> uuid.UUID:
    """Record the start of an attempt of ``job`` (already marked running by the runner); returns the run id."""
    now = utcnow()
    entry = session.get(JobQueueEntry, job.entry_id) if job.entry_id else None
    log = JobQueueLog(
        job_id=job.id,
        entry_key=entry.key if entry else job.hold_key,
        name=job.name,
        attempt=job.attempts,
        worker=worker[:120],
        started_at=now,
    )
    session.add(log)
    if entry is not None and entry.status not in (EntryStatus.ON_HOLD,):
        entry.status = EntryStatus.IN_PROCESS
        entry.last_run_at = now
    if job.hold_key:
        hold_entry(session, job.hold_key)
    session.flush()
    return log.id


def _superseded(job: Job | None, run_id: uuid.UUID | None, session: Session) -> bool:
    """True when this attempt's log row was already closed: the attempt was given up and the job handed on."""
    if job is None or run_id is None:
        return job is None
    log = session.get(JobQueueLog, run_id)
    return log is not None and log.result != RunResult.RUNNING


def finish_success(
    session: Session, job_id: int, run_id: uuid.UUID | None, *, idle: bool = False, links: Iterable[str] = ()
) -> list[int]:
    """Mark the job succeeded and move its entry on; returns the ids of dependents now ready to run."""
    now = utcnow()
    job = session.get(Job, job_id, with_for_update=True)
    if job is None or job.status in (JobStatus.SUCCEEDED, JobStatus.DEAD, JobStatus.CANCELLED):
        return []
    if _superseded(job, run_id, session):
        return []
    job.status = JobStatus.SUCCEEDED
    job.finished_at = now
    job.lease_owner = job.lease_until = None
    job.last_error = None
    _close_log(session, job, run_id, RunResult.IDLE if idle else RunResult.SUCCESS, None, links)
    entry = session.get(JobQueueEntry, job.entry_id) if job.entry_id else None
    if entry is not None and entry.status == EntryStatus.IN_PROCESS:
        entry.last_error = None
        woken_meanwhile = (
            entry.last_woken_at is not None
            and entry.last_run_at is not None
            and (entry.last_woken_at >= entry.last_run_at)
        )
        if idle and not woken_meanwhile:
            entry.status = EntryStatus.ON_HOLD_INACTIVE
            entry.next_run_at = now + timedelta(minutes=entry.inactivity_timeout_minutes)
        elif woken_meanwhile:
            entry.status = EntryStatus.READY
            entry.next_run_at = now
        else:
            entry.status = EntryStatus.READY
            entry.next_run_at = now + timedelta(minutes=entry.interval_minutes)
    if job.hold_key:
        resume_entry(session, job.hold_key, held_only=True)
    session.flush()
    return release_dependents(session, job.id)


def finish_failure(session: Session, job_id: int, run_id: uuid.UUID | None, error: str) -> Failure:
    """Record a failed attempt: retry after the rerun delay, or leave the job dead after the last attempt."""
    now = utcnow()
    error = error[:ERROR_LIMIT]
    job = session.get(Job, job_id, with_for_update=True)
    if job is None or job.status not in (JobStatus.RUNNING, JobStatus.READY) or _superseded(job, run_id, session):
        return Failure(None, superseded=True)
    _close_log(session, job, run_id, RunResult.ERROR, error, ())
    job.last_error = error
    job.lease_owner = job.lease_until = None
    entry = session.get(JobQueueEntry, job.entry_id) if job.entry_id else None
    if entry is not None:
        entry.last_error = error
    if job.attempts < job.max_attempts:
        job.status = JobStatus.READY
        job.run_after = now + timedelta(seconds=job.rerun_delay_s)
        if entry is not None and entry.status == EntryStatus.IN_PROCESS:
            entry.status = EntryStatus.READY
            entry.next_run_at = job.run_after
        session.flush()
        return Failure(job.run_after)
    job.status = JobStatus.DEAD
    job.finished_at = now
    if entry is not None and entry.status == EntryStatus.IN_PROCESS:
        entry.status = EntryStatus.ERROR
        entry.next_run_at = None
    if job.hold_key:
        resume_entry(session, job.hold_key, held_only=True)
    session.flush()
    return Failure(None)


def _close_log(
    session: Session, job: Job, run_id: uuid.UUID | None, result: RunResult, error: str | None, links: Iterable[str]
) -> None:
    log = session.get(JobQueueLog, run_id) if run_id else None
    if log is None:  # the attempt's runner is gone (expired lease): close its open log row
        log = session.scalars(
            select(JobQueueLog)
            .where(JobQueueLog.job_id == job.id, JobQueueLog.result == RunResult.RUNNING)
            .order_by(JobQueueLog.started_at.desc())
        ).first()
    if log is None:
        return
    log.result = result
    log.error = error
    log.finished_at = utcnow()
    links = list(links)
    if links:
        log.link = ",".join(links)


def release_dependents(session: Session, job_id: int) -> list[int]:
    """Waiting jobs that depend on ``job_id`` and have no other unfinished dependency become ready."""
    if session.scalar(select(JobDependency.job_id).where(JobDependency.depends_on_id == job_id).limit(1)) is None:
        return []
    other, blocker = _OTHER_DEP, _BLOCKER
    still_blocked = exists().where(
        other.job_id == Job.id,
        blocker.id == other.depends_on_id,
        blocker.status != JobStatus.SUCCEEDED,
    )
    depends = exists().where(and_(JobDependency.job_id == Job.id, JobDependency.depends_on_id == job_id))
    ids = session.scalars(
        update(Job)
        .where(Job.status == JobStatus.WAITING, depends, ~still_blocked)
        .values(status=JobStatus.READY, run_after=utcnow())
        .returning(Job.id)
    ).all()
    return list(ids)


def hold_entry(session: Session, key: str) -> None:
    """Put a recurring entry on hold for the duration of a related job, remembering its status."""
    entry = session.scalars(select(JobQueueEntry).where(JobQueueEntry.key == key)).first()
    if entry is None or entry.held_status is not None or entry.status == EntryStatus.ON_HOLD:
        return
    entry.held_status = EntryStatus.READY if entry.status == EntryStatus.IN_PROCESS else entry.status
    entry.status = EntryStatus.ON_HOLD


def resume_entry(session: Session, key: str, *, held_only: bool = False) -> bool:
    """End a hold: back to the status it had (a hold by a job) or to Ready (a hold by a user)."""
    entry = session.scalars(select(JobQueueEntry).where(JobQueueEntry.key == key)).first()
    if entry is None or entry.status != EntryStatus.ON_HOLD:
        return False
    if held_only and entry.held_status is None:
        return False
    entry.status = EntryStatus(entry.held_status or EntryStatus.READY)
    entry.held_status = None
    if entry.status == EntryStatus.READY:
        entry.next_run_at = utcnow()  # continue right away from where the related job ended
    return True


def expired_leases(session: Session, now: datetime | None = None) -> list[int]:
    """Running jobs whose worker stopped renewing its lease."""
    now = now or utcnow()
    return list(
        session.scalars(
            select(Job.id).where(Job.status == JobStatus.RUNNING, Job.lease_until.is_not(None), Job.lease_until < now)
        )
    )


def open_job_for_entry(session: Session, entry_id: uuid.UUID) -> int | None:
    return session.scalar(select(Job.id).where(Job.entry_id == entry_id, Job.status.in_(OPEN)).limit(1))


def retry_dead(session: Session, job_id: int) -> bool:
    """Give a dead job a fresh set of attempts (a user's "restart")."""
    job = session.get(Job, job_id)
    if job is None or job.status != JobStatus.DEAD:
        return False
    job.status = JobStatus.READY
    job.attempts = 0
    job.run_after = utcnow()
    job.finished_at = None
    return True
