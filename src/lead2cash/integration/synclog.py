"""The synchronization log: one job row per pass, one error row per failed record, full-sync review lines.

Jobs name their mapping by text rather than by foreign key, so the log outlives a mapping that was
recreated by "Use default synchronization setup". Counters are updated as records are processed, so an
interrupted run still shows what it did.
"""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import BigInteger, ForeignKey, Integer, String, Text, Uuid
from sqlalchemy.orm import Mapped, mapped_column, relationship

from lead2cash.erp.model.base import Base
from lead2cash.erp.model.columns import option
from lead2cash.integration.mapping.enums import (
    Direction,
    JobType,
    LineStatus,
    PassStatus,
    Recommendation,
)
from lead2cash.integration.mapping.model import NAME, optional_option
from lead2cash.sqltypes import UTCDateTime, utcnow

COUNTERS = ("inserted", "modified", "deleted", "unchanged", "skipped", "failed", "coupled", "uncoupled")


def _counter() -> Mapped[int]:
    return mapped_column(Integer, nullable=False, default=0)


class SyncJob(Base):
    __tablename__ = "sync_job"

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=uuid.uuid4)
    mapping_name: Mapped[str] = mapped_column(String(NAME), nullable=False, index=True)
    direction: Mapped[Direction | None] = optional_option(Direction)
    type: Mapped[JobType] = option(JobType, JobType.SYNCHRONIZATION)
    started_at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False, default=utcnow, index=True)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    message: Mapped[str] = mapped_column(Text, nullable=False, default="")
    #: the background run (job queue entry run) this pass belongs to, if any
    run_id: Mapped[uuid.UUID | None] = mapped_column(Uuid, nullable=True, index=True)
    inserted: Mapped[int] = _counter()
    modified: Mapped[int] = _counter()
    deleted: Mapped[int] = _counter()
    unchanged: Mapped[int] = _counter()
    skipped: Mapped[int] = _counter()
    failed: Mapped[int] = _counter()
    coupled: Mapped[int] = _counter()
    uncoupled: Mapped[int] = _counter()

    errors: Mapped[list[SyncError]] = relationship(
        back_populates="job", cascade="all, delete-orphan", passive_deletes=True, order_by="SyncError.id"
    )

    @property
    def counts(self) -> dict[str, int]:
        return {name: getattr(self, name) for name in COUNTERS}


class SyncError(Base):
    """One failed record of a job: where it came from, where it was going, and why it failed."""

    __tablename__ = "sync_error"

    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)
    job_id: Mapped[uuid.UUID] = mapped_column(
        Uuid, ForeignKey("sync_job.id", ondelete="CASCADE"), nullable=False, index=True
    )
    #: human references ("Customer 10000", "account 5f0c…") and ids where known
    source: Mapped[str] = mapped_column(String(250), nullable=False, default="")
    source_id: Mapped[uuid.UUID | None] = mapped_column(Uuid, nullable=True, index=True)
    destination: Mapped[str] = mapped_column(String(250), nullable=False, default="")
    destination_id: Mapped[uuid.UUID | None] = mapped_column(Uuid, nullable=True)
    message: Mapped[str] = mapped_column(Text, nullable=False)
    detail: Mapped[str] = mapped_column(Text, nullable=False, default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False, default=utcnow)

    job: Mapped[SyncJob] = relationship(back_populates="errors")


class FullSyncLine(Base):
    """One line of the full synchronization review: a mapping, what it waits for, and how its run went."""

    __tablename__ = "full_sync_line"

    name: Mapped[str] = mapped_column(String(NAME), primary_key=True)
    dependency_filter: Mapped[str] = mapped_column(String(250), nullable=False, default="")
    direction: Mapped[Direction] = option(Direction, Direction.BOTH)
    recommendation: Mapped[Recommendation | None] = optional_option(Recommendation)
    status: Mapped[LineStatus] = option(LineStatus, LineStatus.NOT_STARTED)
    #: the background job running this line
    job_id: Mapped[uuid.UUID | None] = mapped_column(Uuid, nullable=True)
    to_crm_job_id: Mapped[uuid.UUID | None] = mapped_column(Uuid, nullable=True)
    to_crm_status: Mapped[PassStatus] = option(PassStatus, PassStatus.NONE)
    from_crm_job_id: Mapped[uuid.UUID | None] = mapped_column(Uuid, nullable=True)
    from_crm_status: Mapped[PassStatus] = option(PassStatus, PassStatus.NONE)
    started_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)

    @property
    def dependencies(self) -> list[str]:
        return [n for n in self.dependency_filter.split("|") if n]
