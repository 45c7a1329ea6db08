"""Job queue entries: recurring schedules, holds, wake-ups by outbox events or by an explicit ``wake``.

An entry is due when it is *Ready* and its next run time has come, or when it is *On Hold with Inactivity
Timeout* and the timeout has elapsed; a due entry gets one job (dedup key ``entry:<key>``, serial key the
entry's serial key or its key). ``tick`` also reads the ERP outbox past its watermark (events are numbered by
``row_version`` in commit order, so nothing that commits late is skipped) and wakes entries that watch a
changed table: an idle entry becomes *Ready* right away, a *Ready* entry waiting for its interval runs now.
An entry woken while it runs remembers it (``last_woken_at``), so an idle end of that run does not put it to
sleep over a change the run may not have seen. Every function works inside the caller's transaction.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from lead2cash.erp.model.base import Outbox
from lead2cash.jobs import store
from lead2cash.jobs.model import EntryStatus, Job, JobQueueEntry, JobStatus, JobWatermark
from lead2cash.sqltypes import utcnow

OUTBOX = "outbox"
#: fields of an entry users may edit
EDITABLE = ("interval_minutes", "inactivity_timeout_minutes", "max_attempts", "rerun_delay_s", "description")


@dataclass(frozen=True)
class EntrySpec:
    key: str
    handler: str
    payload: dict[str, Any] | None = None
    description: str = ""
    interval_minutes: float = 30
    inactivity_timeout_minutes: float = 720
    max_attempts: int = 10
    rerun_delay_s: int = 30
    serial_key: str | None = None
    watch_tables: tuple[str, ...] = ()
    on_hold: bool = False


def ensure_entry(session: Session, spec: EntrySpec) -> JobQueueEntry:
    """Create the recurring entry ``spec.key``, or update its definition keeping its status and edits' effect."""
    entry = entry_by_key(session, spec.key)
    if entry is None:
        entry = JobQueueEntry(
            key=spec.key,
            status=EntryStatus.ON_HOLD if spec.on_hold else EntryStatus.READY,
            next_run_at=utcnow(),
        )
        session.add(entry)
    entry.handler = spec.handler
    entry.payload = dict(spec.payload or {})
    entry.description = spec.description
    entry.interval_minutes = spec.interval_minutes
    entry.inactivity_timeout_minutes = spec.inactivity_timeout_minutes
    entry.max_attempts = spec.max_attempts
    entry.rerun_delay_s = spec.rerun_delay_s
    entry.serial_key = spec.serial_key
    entry.watch_tables = "|".join(spec.watch_tables)
    session.flush()
    return entry


def entry_by_key(session: Session, key: str) -> JobQueueEntry | None:
    return session.scalars(select(JobQueueEntry).where(JobQueueEntry.key == key)).first()


def edit_entry(session: Session, key: str, **changes: Any) -> JobQueueEntry:
    entry = _require(session, key)
    for name, value in changes.items():
        if name not in EDITABLE:
            raise ValueError(f"'{name}' is not an editable field of a job queue entry (use one of {EDITABLE})")
        setattr(entry, name, value)
    return entry


def delete_entry(session: Session, key: str) -> bool:
    entry = entry_by_key(session, key)
    if entry is None:
        return False
    _cancel_pending(session, entry)
    session.delete(entry)
    return True


def hold(session: Session, key: str) -> JobQueueEntry:
    """Put an entry on hold (a user's hold): its pending run is cancelled, nothing runs until ``resume``."""
    entry = _require(session, key)
    entry.status = EntryStatus.ON_HOLD
    entry.held_status = None
    _cancel_pending(session, entry)
    return entry


def resume(session: Session, key: str) -> JobQueueEntry:
    """Set an entry on hold or in error back to Ready; it runs at the next tick."""
    entry = _require(session, key)
    if entry.status in (EntryStatus.ON_HOLD, EntryStatus.ERROR, EntryStatus.ON_HOLD_INACTIVE, EntryStatus.FINISHED):
        entry.status = EntryStatus.READY
        entry.held_status = None
        entry.next_run_at = utcnow()
    return entry


def run_now(session: Session, key: str) -> int:
    """Queue a run of the entry now, whatever its schedule; returns the job id."""
    entry = _require(session, key)
    pending = store.open_job_for_entry(session, entry.id)
    if pending is not None:
        session.execute(update(Job).where(Job.id == pending, Job.status == JobStatus.READY).values(run_after=utcnow()))
        return pending
    return _enqueue_entry(session, entry)


def wake(session: Session, key: str, now: datetime | None = None) -> bool:
    """Wake one entry (a change noticed elsewhere, for example in the CRM); False when it is held or unknown."""
    entry = entry_by_key(session, key)
    return entry is not None and _wake(entry, now or utcnow())


def wake_tables(session: Session, tables: set[str], now: datetime | None = None) -> list[str]:
    """Wake every entry watching one of ``tables``; returns the keys woken."""
    now = now or utcnow()
    woken = []
    for entry in session.scalars(select(JobQueueEntry).where(JobQueueEntry.watch_tables != "")):
        if tables.intersection(entry.watched) and _wake(entry, now):
            woken.append(entry.key)
    return woken


def _wake(entry: JobQueueEntry, now: datetime) -> bool:
    if entry.status == EntryStatus.ON_HOLD_INACTIVE:
        entry.status = EntryStatus.READY
        entry.next_run_at = now
    elif entry.status == EntryStatus.READY:
        if entry.next_run_at is None or entry.next_run_at > now:
            entry.next_run_at = now
    elif entry.status == EntryStatus.IN_PROCESS:
        pass
    else:
        return False
    entry.last_woken_at = now
    return True


def consume_outbox(session: Session, now: datetime | None = None) -> list[str]:
    """Wake entries for outbox events past the watermark and advance it; returns the keys woken."""
    mark = session.get(JobWatermark, OUTBOX, with_for_update=True)
    if mark is None:  # first start: history is not news
        top = session.scalar(select(func.max(Outbox.row_version))) or 0
        session.add(JobWatermark(name=OUTBOX, value=top))
        session.flush()
        return []
    rows = session.execute(
        select(Outbox.table_name, func.max(Outbox.row_version))
        .where(Outbox.row_version > mark.value)
        .group_by(Outbox.table_name)
    ).all()
    if not rows:
        return []
    mark.value = max(version for _, version in rows)
    return wake_tables(session, {table for table, _ in rows if table}, now)


def due_entries(session: Session, now: datetime) -> list[JobQueueEntry]:
    ready = (JobQueueEntry.status == EntryStatus.READY) & (
        JobQueueEntry.next_run_at.is_(None) | (JobQueueEntry.next_run_at <= now)
    )
    timed_out = (JobQueueEntry.status == EntryStatus.ON_HOLD_INACTIVE) & (JobQueueEntry.next_run_at <= now)
    return list(session.scalars(select(JobQueueEntry).where(ready | timed_out).order_by(JobQueueEntry.next_run_at)))


def tick(session: Session, now: datetime | None = None) -> list[int]:
    """Read the outbox, then queue one job for every due entry without one; returns the new job ids."""
    now = now or utcnow()
    consume_outbox(session, now)
    created = []
    for entry in due_entries(session, now):
        if store.open_job_for_entry(session, entry.id) is not None:
            continue
        created.append(_enqueue_entry(session, entry))
    return created


def _enqueue_entry(session: Session, entry: JobQueueEntry) -> int:
    if entry.status == EntryStatus.ON_HOLD_INACTIVE:  # the inactivity timeout elapsed: look again
        entry.status = EntryStatus.READY
    job_id, _ = store.enqueue(
        session,
        store.JobSpec(
            name=entry.handler,
            payload=dict(entry.payload or {}),
            dedup_key=f"entry:{entry.key}",
            serial_key=entry.serial_key or entry.key,
            max_attempts=entry.max_attempts,
            rerun_delay_s=entry.rerun_delay_s,
            entry_id=entry.id,
        ),
    )
    return job_id


def _cancel_pending(session: Session, entry: JobQueueEntry) -> None:
    session.execute(
        update(Job)
        .where(Job.entry_id == entry.id, Job.status.in_((JobStatus.READY, JobStatus.WAITING)))
        .values(status=JobStatus.CANCELLED, finished_at=utcnow())
    )


def _require(session: Session, key: str) -> JobQueueEntry:
    entry = entry_by_key(session, key)
    if entry is None:
        raise LookupError(f"no job queue entry '{key}'")
    return entry
