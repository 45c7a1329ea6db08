"""The job log of a pass and the failure bookkeeping on couplings (R15).

One ``SyncJob`` per pass; its counters are bumped page by page in the page's transaction, so an
interrupted run still shows what it committed. A failed record gets one ``SyncError`` row (source,
destination, message, detail) and its coupling is marked failed for the pass's direction; the same
message twice in a row parks the coupling as *Skipped* (it is then counted as skipped and left alone
until a user retries it). A record that failed before it ever had a counterpart gets a *pending*
coupling — its counterpart's version is NULL — so it carries the failure state and is retried. Notes
about records that did not fail (a payment terms code without a CRM option, left blank: M14) become
lines of the job's message, each once.
"""

from __future__ import annotations

import uuid
from collections import Counter
from dataclasses import dataclass, field

from sqlalchemy.orm import Session

from lead2cash.integration.coupling_model import Coupling
from lead2cash.integration.mapping.enums import Direction, SyncResult
from lead2cash.integration.synclog import SyncError, SyncJob
from lead2cash.sqltypes import utcnow


@dataclass
class Failure:
    source: str
    source_id: uuid.UUID | None
    destination: str
    destination_id: uuid.UUID | None
    message: str
    detail: str = ""


@dataclass
class PageLog:
    """What one page did, written to the job in the page's transaction."""

    counts: Counter = field(default_factory=Counter)
    failures: list[Failure] = field(default_factory=list)
    #: what the user should know though nothing failed (an option left blank, M14): job message lines
    notes: list[str] = field(default_factory=list)

    def count(self, action: str, n: int = 1) -> None:
        self.counts[action] += n


def begin_job(session: Session, mapping_name: str, direction: Direction, run_id: uuid.UUID | None = None) -> uuid.UUID:
    job = SyncJob(mapping_name=mapping_name, direction=direction, run_id=run_id, started_at=utcnow())
    session.add(job)
    session.flush()
    return job.id


def write_page(session: Session, job_id: uuid.UUID, log: PageLog) -> None:
    job = session.get(SyncJob, job_id)
    for name, n in log.counts.items():
        setattr(job, name, getattr(job, name) + n)
    if log.notes:  # each distinct note once per job, however many pages repeat it
        lines = job.message.splitlines() if job.message else []
        lines += [n for n in dict.fromkeys(log.notes) if n not in lines]
        job.message = "\n".join(lines)
    for f in log.failures:
        session.add(
            SyncError(
                job_id=job_id,
                source=f.source[:250],
                source_id=f.source_id,
                destination=f.destination[:250],
                destination_id=f.destination_id,
                message=f.message,
                detail=f.detail,
            )
        )


def finish_job(session: Session, job_id: uuid.UUID, message: str = "") -> None:
    job = session.get(SyncJob, job_id)
    job.finished_at = utcnow()
    if message:
        job.message = message


def mark_success(coupling: Coupling, direction: Direction, job_id: uuid.UUID) -> None:
    if direction is Direction.TO_CRM:
        coupling.last_to_crm_result, coupling.last_to_crm_job_id = SyncResult.SUCCESS, job_id
    else:
        coupling.last_from_crm_result, coupling.last_from_crm_job_id = SyncResult.SUCCESS, job_id
    coupling.last_error = None


def mark_failed(coupling: Coupling, direction: Direction, job_id: uuid.UUID, message: str) -> bool:
    """Record a failure; returns True when this is the same error twice in a row (now Skipped)."""
    if direction is Direction.TO_CRM:
        before = coupling.last_to_crm_result
        coupling.last_to_crm_result, coupling.last_to_crm_job_id = SyncResult.FAILURE, job_id
    else:
        before = coupling.last_from_crm_result
        coupling.last_from_crm_result, coupling.last_from_crm_job_id = SyncResult.FAILURE, job_id
    again = before is SyncResult.FAILURE and coupling.last_error == message
    coupling.last_error = message
    if again:
        coupling.skipped = True
    return again


def failed(coupling: Coupling | None, direction: Direction) -> bool:
    if coupling is None:
        return False
    result = coupling.last_to_crm_result if direction is Direction.TO_CRM else coupling.last_from_crm_result
    return result is SyncResult.FAILURE
