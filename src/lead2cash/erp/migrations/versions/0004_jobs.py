"""jobs: queued jobs and their dependencies, job queue entries, run logs, the outbox watermark of the scheduler

The job queue keeps its tables in the ERP database (``lead2cash.jobs.model``). A partial unique index keeps at
most one pending job per dedup key on SQLite and PostgreSQL alike.

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-21 18:50:00
"""

import sqlalchemy as sa
from alembic import op

import lead2cash.sqltypes

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "job_queue_entry",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("key", sa.String(length=120), nullable=False),
        sa.Column("handler", sa.String(length=120), nullable=False),
        sa.Column("payload", sa.JSON(), nullable=False),
        sa.Column("description", sa.String(length=250), nullable=False),
        sa.Column(
            "status",
            sa.Enum(
                "Ready",
                "In Process",
                "Error",
                "On Hold",
                "On Hold with Inactivity Timeout",
                "Finished",
                name="entrystatus",
                native_enum=False,
                length=32,
            ),
            nullable=False,
        ),
        sa.Column("held_status", sa.String(length=32), nullable=True),
        sa.Column("interval_minutes", sa.Float(), nullable=False),
        sa.Column("inactivity_timeout_minutes", sa.Float(), nullable=False),
        sa.Column("max_attempts", sa.Integer(), nullable=False),
        sa.Column("rerun_delay_s", sa.Integer(), nullable=False),
        sa.Column("serial_key", sa.String(length=120), nullable=True),
        sa.Column("watch_tables", sa.String(length=500), nullable=False),
        sa.Column("next_run_at", lead2cash.sqltypes.UTCDateTime(timezone=True), nullable=True),
        sa.Column("last_run_at", lead2cash.sqltypes.UTCDateTime(timezone=True), nullable=True),
        sa.Column("last_woken_at", lead2cash.sqltypes.UTCDateTime(timezone=True), nullable=True),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("created_at", lead2cash.sqltypes.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_job_queue_entry")),
        sa.UniqueConstraint("key", name=op.f("uq_job_queue_entry_key")),
    )
    op.create_table(
        "job_watermark",
        sa.Column("name", sa.String(length=64), nullable=False),
        sa.Column("value", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("name", name=op.f("pk_job_watermark")),
    )
    op.create_table(
        "job",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), autoincrement=True, nullable=False),
        sa.Column("name", sa.String(length=120), nullable=False),
        sa.Column("payload", sa.JSON(), nullable=False),
        sa.Column(
            "status",
            sa.Enum(
                "waiting",
                "ready",
                "running",
                "succeeded",
                "dead",
                "cancelled",
                name="jobstatus",
                native_enum=False,
                length=32,
            ),
            nullable=False,
        ),
        sa.Column("dedup_key", sa.String(length=120), nullable=True),
        sa.Column("serial_key", sa.String(length=120), nullable=True),
        sa.Column("hold_key", sa.String(length=120), nullable=True),
        sa.Column("entry_id", sa.Uuid(), nullable=True),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("max_attempts", sa.Integer(), nullable=False),
        sa.Column("rerun_delay_s", sa.Integer(), nullable=False),
        sa.Column("run_after", lead2cash.sqltypes.UTCDateTime(timezone=True), nullable=False),
        sa.Column("lease_owner", sa.String(length=120), nullable=True),
        sa.Column("lease_until", lead2cash.sqltypes.UTCDateTime(timezone=True), nullable=True),
        sa.Column("external_id", sa.BigInteger(), nullable=True),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("created_at", lead2cash.sqltypes.UTCDateTime(timezone=True), nullable=False),
        sa.Column("started_at", lead2cash.sqltypes.UTCDateTime(timezone=True), nullable=True),
        sa.Column("finished_at", lead2cash.sqltypes.UTCDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["entry_id"], ["job_queue_entry.id"], name=op.f("fk_job_entry_id_job_queue_entry"), ondelete="SET NULL"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_job")),
    )
    with op.batch_alter_table("job", schema=None) as batch_op:
        batch_op.create_index("ix_job_claim", ["status", "run_after"], unique=False)
        batch_op.create_index(batch_op.f("ix_job_serial_key"), ["serial_key"], unique=False)
        batch_op.create_index(
            "uq_job_open_dedup",
            ["dedup_key"],
            unique=True,
            sqlite_where=sa.text("status IN ('waiting', 'ready') AND dedup_key IS NOT NULL"),
            postgresql_where=sa.text("status IN ('waiting', 'ready') AND dedup_key IS NOT NULL"),
        )

    op.create_table(
        "job_dependency",
        sa.Column("job_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("depends_on_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.ForeignKeyConstraint(
            ["depends_on_id"], ["job.id"], name=op.f("fk_job_dependency_depends_on_id_job"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(["job_id"], ["job.id"], name=op.f("fk_job_dependency_job_id_job"), ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("job_id", "depends_on_id", name=op.f("pk_job_dependency")),
    )
    with op.batch_alter_table("job_dependency", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_job_dependency_depends_on_id"), ["depends_on_id"], unique=False)

    op.create_table(
        "job_queue_log",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("job_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True),
        sa.Column("entry_key", sa.String(length=120), nullable=True),
        sa.Column("name", sa.String(length=120), nullable=False),
        sa.Column("attempt", sa.Integer(), nullable=False),
        sa.Column("worker", sa.String(length=120), nullable=True),
        sa.Column(
            "result",
            sa.Enum("running", "success", "idle", "error", name="runresult", native_enum=False, length=32),
            nullable=False,
        ),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("link", sa.Text(), nullable=True),
        sa.Column("started_at", lead2cash.sqltypes.UTCDateTime(timezone=True), nullable=False),
        sa.Column("finished_at", lead2cash.sqltypes.UTCDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(["job_id"], ["job.id"], name=op.f("fk_job_queue_log_job_id_job"), ondelete="SET NULL"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_job_queue_log")),
    )
    with op.batch_alter_table("job_queue_log", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_job_queue_log_entry_key"), ["entry_key"], unique=False)
        batch_op.create_index(batch_op.f("ix_job_queue_log_job_id"), ["job_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("job_queue_log", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_job_queue_log_job_id"))
        batch_op.drop_index(batch_op.f("ix_job_queue_log_entry_key"))

    op.drop_table("job_queue_log")
    with op.batch_alter_table("job_dependency", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_job_dependency_depends_on_id"))

    op.drop_table("job_dependency")
    with op.batch_alter_table("job", schema=None) as batch_op:
        batch_op.drop_index(
            "uq_job_open_dedup",
            sqlite_where=sa.text("status IN ('waiting', 'ready') AND dedup_key IS NOT NULL"),
            postgresql_where=sa.text("status IN ('waiting', 'ready') AND dedup_key IS NOT NULL"),
        )
        batch_op.drop_index(batch_op.f("ix_job_serial_key"))
        batch_op.drop_index("ix_job_claim")

    op.drop_table("job")
    op.drop_table("job_watermark")
    op.drop_table("job_queue_entry")
