"""The job tables, kept in the ERP database: queued jobs, their dependencies, job queue entries and run logs.

One ``job`` row is the record of one unit of background work in both runners. The embedded runner claims
these rows itself; the PostgreSQL runner hands each row to a procrastinate job that points back to it, so
users, the command line and the integration see the same status, attempts and last error whichever runner
executes the work. ``job_queue_entry`` is what users edit (the recurring entry of a mapping, its interval,
hold and retry settings); ``job_queue_log`` keeps one row per run attempt, with a free-form ``link`` the
integration fills with the synchronization jobs a run produced.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from enum import StrEnum

from sqlalchemy import JSON, BigInteger, Float, ForeignKey, Index, Integer, String, Text, Uuid, text
from sqlalchemy.orm import Mapped, mapped_column

from lead2cash.erp.model.base import Base
from lead2cash.erp.model.columns import option
from lead2cash.sqltypes import UTCDateTime, utcnow

ID = BigInteger().with_variant(Integer, "sqlite")
KEY = 120


class JobStatus(StrEnum):
    WAITING = "waiting"  # dependencies not finished yet
    READY = "ready"
    RUNNING = "running"
    SUCCEEDED = "succeeded"
    DEAD = "dead"  # failed on its last allowed attempt; kept with its error
    CANCELLED = "cancelled"


#: statuses of a job that is not finished (a second copy with the same dedup key is refused)
OPEN = (JobStatus.WAITING, JobStatus.READY, JobStatus.RUNNING)


class EntryStatus(StrEnum):
    """Job queue entry statuses, as users know them."""

    READY = "Ready"
    IN_PROCESS = "In Process"
    ERROR = "Error"
    ON_HOLD = "On Hold"
    ON_HOLD_INACTIVE = "On Hold with Inactivity Timeout"
    FINISHED = "Finished"


class RunResult(StrEnum):
    RUNNING = "running"
    SUCCESS = "success"
    IDLE = "idle"  # the handler had nothing to do
    ERROR = "error"


class Job(Base):
    __tablename__ = "job"
    __table_args__ = (
        # at most one unfinished job per dedup key (enforced by the database for every runner)
        Index(
            "uq_job_open_dedup",
            "dedup_key",
            unique=True,
            sqlite_where=text("status IN ('waiting', 'ready') AND dedup_key IS NOT NULL"),
            postgresql_where=text("status IN ('waiting', 'ready') AND dedup_key IS NOT NULL"),
        ),
        Index("ix_job_claim", "status", "run_after"),
    )

    id: Mapped[int] = mapped_column(ID, primary_key=True, autoincrement=True)
    name: Mapped[str] = mapped_column(String(KEY), nullable=False)
    payload: Mapped[dict] = mapped_column(JSON, nullable=False, default=dict)
    status: Mapped[JobStatus] = option(JobStatus, JobStatus.READY)
    dedup_key: Mapped[str | None] = mapped_column(String(KEY))
    serial_key: Mapped[str | None] = mapped_column(String(KEY), index=True)
    #: key of a recurring entry held while this job runs
    hold_key: Mapped[str | None] = mapped_column(String(KEY))
    entry_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("job_queue_entry.id", ondelete="SET NULL"))
    attempts: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    max_attempts: Mapped[int] = mapped_column(Integer, nullable=False, default=2)
    rerun_delay_s: Mapped[int] = mapped_column(Integer, nullable=False, default=30)
    run_after: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False, default=utcnow)
    lease_owner: Mapped[str | None] = mapped_column(String(KEY))
    lease_until: Mapped[datetime | None] = mapped_column(UTCDateTime)
    #: id of the procrastinate job executing this row (scale-out runner)
    external_id: Mapped[int | None] = mapped_column(BigInteger)
    last_error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False, default=utcnow)
    started_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class JobDependency(Base):
    """``job_id`` may start only when ``depends_on_id`` has succeeded."""

    __tablename__ = "job_dependency"

    job_id: Mapped[int] = mapped_column(ForeignKey("job.id", ondelete="CASCADE"), primary_key=True)
    depends_on_id: Mapped[int] = mapped_column(ForeignKey("job.id", ondelete="CASCADE"), primary_key=True, index=True)


class JobQueueEntry(Base):
    """A recurring job as users see and edit it (one per mapping for the synchronization)."""

    __tablename__ = "job_queue_entry"

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=uuid.uuid4)
    key: Mapped[str] = mapped_column(String(KEY), nullable=False, unique=True)
    handler: Mapped[str] = mapped_column(String(KEY), nullable=False)
    payload: Mapped[dict] = mapped_column(JSON, nullable=False, default=dict)
    description: Mapped[str] = mapped_column(String(250), nullable=False, default="")
    status: Mapped[EntryStatus] = option(EntryStatus, EntryStatus.READY)
    #: the status to go back to when a hold by a one-off job ends
    held_status: Mapped[str | None] = mapped_column(String(32))
    #: minutes between runs and before an idle entry looks again (fractions allowed)
    interval_minutes: Mapped[float] = mapped_column(Float, nullable=False, default=30)
    inactivity_timeout_minutes: Mapped[float] = mapped_column(Float, nullable=False, default=720)
    max_attempts: Mapped[int] = mapped_column(Integer, nullable=False, default=10)
    rerun_delay_s: Mapped[int] = mapped_column(Integer, nullable=False, default=30)
    #: runs of entries with the same serial key never overlap (default: the entry's key)
    serial_key: Mapped[str | None] = mapped_column(String(KEY))
    #: pipe-separated ERP table names whose outbox events wake the entry
    watch_tables: Mapped[str] = mapped_column(String(500), nullable=False, default="")
    next_run_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_run_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    #: last wake-up (outbox event or ``wake``); one during a run keeps an idle end of that run from sleeping
    last_woken_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False, default=utcnow)

    @property
    def watched(self) -> list[str]:
        return [t for t in self.watch_tables.split("|") if t]


class JobQueueLog(Base):
    """One run (attempt) of a job: when, by whom, how it ended, and what it produced (``link``)."""

    __tablename__ = "job_queue_log"

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=uuid.uuid4)
    job_id: Mapped[int | None] = mapped_column(ForeignKey("job.id", ondelete="SET NULL"), index=True)
    entry_key: Mapped[str | None] = mapped_column(String(KEY), index=True)
    name: Mapped[str] = mapped_column(String(KEY), nullable=False)
    attempt: Mapped[int] = mapped_column(Integer, nullable=False, default=1)
    worker: Mapped[str | None] = mapped_column(String(KEY))
    result: Mapped[RunResult] = option(RunResult, RunResult.RUNNING)
    error: Mapped[str | None] = mapped_column(Text)
    link: Mapped[str | None] = mapped_column(Text)
    started_at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False, default=utcnow)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class JobWatermark(Base):
    """How far a consumer has read a stream (the outbox) by ``row_version``."""

    __tablename__ = "job_watermark"

    name: Mapped[str] = mapped_column(String(64), primary_key=True)
    value: Mapped[int] = mapped_column(BigInteger, nullable=False, default=0)
