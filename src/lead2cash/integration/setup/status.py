"""What the setup page shows about synchronization at any time (S7): how many integration table mappings
exist, how many of the integration's scheduled jobs are active ("3 of 14", as Business Central shows it),
and where a full synchronization stands (its review lines counted by status)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from lead2cash.integration.mapping.model import TableMapping
from lead2cash.integration.synclog import FullSyncLine
from lead2cash.jobs.model import EntryStatus, JobQueueEntry

JOB_HANDLER_PREFIX = "integration."  # job handlers of the integration
_ACTIVE = (EntryStatus.READY, EntryStatus.IN_PROCESS)


def synchronization_status(session: Session) -> dict[str, Any]:
    entries = session.execute(
        select(JobQueueEntry.status, func.count())
        .where(JobQueueEntry.handler.like(f"{JOB_HANDLER_PREFIX}%"))
        .group_by(JobQueueEntry.status)
    ).all()
    total = sum(n for _, n in entries)
    active = sum(n for status, n in entries if status in _ACTIVE)
    lines = session.execute(select(FullSyncLine.status, func.count()).group_by(FullSyncLine.status)).all()
    return {
        "table_mappings": session.scalar(select(func.count()).select_from(TableMapping)) or 0,
        "scheduled_jobs": {"active": active, "total": total, "text": f"{active} of {total}"},
        "full_synchronization": {str(getattr(status, "value", status)): n for status, n in lines},
    }
