"""Synchronization log rows for the manual operations: a coupling or uncoupling job and its errors.

Bulk coupling writes a ``SyncJob`` of type *Coupling* with its counters and one ``SyncError`` per record it
could not couple, so a user finds the outcome where synchronization results are (reference §6.6).
"""

from __future__ import annotations

import uuid

from sqlalchemy.orm import Session

from lead2cash.integration.mapping.enums import JobType
from lead2cash.integration.synclog import SyncError, SyncJob
from lead2cash.sqltypes import utcnow


def start(session: Session, mapping: str, *, kind: JobType = JobType.COUPLING, run_id: uuid.UUID | None = None):
    job = SyncJob(id=uuid.uuid4(), mapping_name=mapping, type=kind, started_at=utcnow(), run_id=run_id)
    session.add(job)
    session.flush()
    return job


def error(job: SyncJob, source: str, source_id: uuid.UUID | None, message: str, *, detail: str = "") -> None:
    job.errors.append(SyncError(source=source[:250], source_id=source_id, message=message, detail=detail))


def finish(job: SyncJob, **counts: int) -> SyncJob:
    for name, value in counts.items():
        setattr(job, name, value)
    job.finished_at = utcnow()
    return job
