"""integration: table, field and option mappings, transformation rules, couplings and option couplings,
synchronization jobs and errors, full-synchronization review lines; currency code on contacts

The integration's tables live in the ERP database (see ``lead2cash.integration.schema``). Couplings are
unique per ERP record and per CRM row (two unique constraints). Contacts get the currency code the standard
CONTACT mapping transfers (blank for existing contacts, i.e. local currency).

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-21 18:20:00
"""

import sqlalchemy as sa
from alembic import op

import lead2cash.sqltypes

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "coupling",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), autoincrement=True, nullable=False),
        sa.Column("erp_table", sa.String(length=64), nullable=False),
        sa.Column("erp_id", sa.Uuid(), nullable=False),
        sa.Column("crm_entity", sa.String(length=64), nullable=False),
        sa.Column("crm_id", sa.Uuid(), nullable=False),
        sa.Column("erp_row_version", sa.BigInteger(), nullable=True),
        sa.Column("crm_version", sa.BigInteger(), nullable=True),
        sa.Column("crm_modified_on", lead2cash.sqltypes.UTCDateTime(timezone=True), nullable=True),
        sa.Column("erp_modified_at", lead2cash.sqltypes.UTCDateTime(timezone=True), nullable=True),
        sa.Column("synced_values", sa.JSON(), nullable=True),
        sa.Column(
            "last_to_crm_result",
            sa.Enum("Success", "Failure", name="syncresult", native_enum=False, length=32),
            nullable=True,
        ),
        sa.Column("last_to_crm_job_id", sa.Uuid(), nullable=True),
        sa.Column(
            "last_from_crm_result",
            sa.Enum("Success", "Failure", name="syncresult", native_enum=False, length=32),
            nullable=True,
        ),
        sa.Column("last_from_crm_job_id", sa.Uuid(), nullable=True),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("skipped", sa.Boolean(), nullable=False),
        sa.Column("created_at", lead2cash.sqltypes.UTCDateTime(timezone=True), nullable=False),
        sa.Column("modified_at", lead2cash.sqltypes.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_coupling")),
        sa.UniqueConstraint("crm_entity", "crm_id", name="uq_coupling_crm_row"),
        sa.UniqueConstraint("erp_table", "erp_id", name="uq_coupling_erp_record"),
    )
    with op.batch_alter_table("coupling", schema=None) as batch_op:
        batch_op.create_index(
            "ix_coupling_attention",
            ["erp_table", "skipped", "last_to_crm_result", "last_from_crm_result"],
            unique=False,
        )

    op.create_table(
        "full_sync_line",
        sa.Column("name", sa.String(length=20), nullable=False),
        sa.Column("dependency_filter", sa.String(length=250), nullable=False),
        sa.Column(
            "direction",
            sa.Enum("To CRM", "From CRM", "Bidirectional", name="direction", native_enum=False, length=32),
            nullable=False,
        ),
        sa.Column(
            "recommendation",
            sa.Enum(
                "Full synchronization",
                "Couple records",
                "No records found",
                name="recommendation",
                native_enum=False,
                length=32,
            ),
            nullable=True,
        ),
        sa.Column(
            "status",
            sa.Enum(
                "",
                "Ready",
                "In process",
                "Error",
                "On hold",
                "Finished",
                name="linestatus",
                native_enum=False,
                length=32,
            ),
            nullable=False,
        ),
        sa.Column("job_id", sa.Uuid(), nullable=True),
        sa.Column("to_crm_job_id", sa.Uuid(), nullable=True),
        sa.Column(
            "to_crm_status",
            sa.Enum("", "In process", "Error", "Success", name="passstatus", native_enum=False, length=32),
            nullable=False,
        ),
        sa.Column("from_crm_job_id", sa.Uuid(), nullable=True),
        sa.Column(
            "from_crm_status",
            sa.Enum("", "In process", "Error", "Success", name="passstatus", native_enum=False, length=32),
            nullable=False,
        ),
        sa.Column("started_at", lead2cash.sqltypes.UTCDateTime(timezone=True), nullable=True),
        sa.Column("finished_at", lead2cash.sqltypes.UTCDateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("name", name=op.f("pk_full_sync_line")),
    )
    op.create_table(
        "option_coupling",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), autoincrement=True, nullable=False),
        sa.Column("erp_table", sa.String(length=64), nullable=False),
        sa.Column("erp_id", sa.Uuid(), nullable=False),
        sa.Column("erp_code", sa.String(length=20), nullable=False),
        sa.Column("crm_entity", sa.String(length=64), nullable=False),
        sa.Column("crm_attribute", sa.String(length=64), nullable=False),
        sa.Column("option_value", sa.Integer(), nullable=False),
        sa.Column("option_label", sa.String(length=250), nullable=False),
        sa.Column("erp_row_version", sa.BigInteger(), nullable=True),
        sa.Column(
            "last_to_crm_result",
            sa.Enum("Success", "Failure", name="syncresult", native_enum=False, length=32),
            nullable=True,
        ),
        sa.Column("last_to_crm_job_id", sa.Uuid(), nullable=True),
        sa.Column(
            "last_from_crm_result",
            sa.Enum("Success", "Failure", name="syncresult", native_enum=False, length=32),
            nullable=True,
        ),
        sa.Column("last_from_crm_job_id", sa.Uuid(), nullable=True),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("skipped", sa.Boolean(), nullable=False),
        sa.Column("created_at", lead2cash.sqltypes.UTCDateTime(timezone=True), nullable=False),
        sa.Column("modified_at", lead2cash.sqltypes.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_option_coupling")),
        sa.UniqueConstraint("crm_entity", "crm_attribute", "option_value", name="uq_option_coupling_option"),
        sa.UniqueConstraint("erp_table", "erp_id", name="uq_option_coupling_erp_record"),
    )
    op.create_table(
        "sync_job",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("mapping_name", sa.String(length=20), nullable=False),
        sa.Column(
            "direction",
            sa.Enum("To CRM", "From CRM", "Bidirectional", name="direction", native_enum=False, length=32),
            nullable=True,
        ),
        sa.Column(
            "type",
            sa.Enum("Synchronization", "Coupling", "Uncoupling", name="jobtype", native_enum=False, length=32),
            nullable=False,
        ),
        sa.Column("started_at", lead2cash.sqltypes.UTCDateTime(timezone=True), nullable=False),
        sa.Column("finished_at", lead2cash.sqltypes.UTCDateTime(timezone=True), nullable=True),
        sa.Column("message", sa.Text(), nullable=False),
        sa.Column("run_id", sa.Uuid(), nullable=True),
        sa.Column("inserted", sa.Integer(), nullable=False),
        sa.Column("modified", sa.Integer(), nullable=False),
        sa.Column("deleted", sa.Integer(), nullable=False),
        sa.Column("unchanged", sa.Integer(), nullable=False),
        sa.Column("skipped", sa.Integer(), nullable=False),
        sa.Column("failed", sa.Integer(), nullable=False),
        sa.Column("coupled", sa.Integer(), nullable=False),
        sa.Column("uncoupled", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_sync_job")),
    )
    with op.batch_alter_table("sync_job", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_sync_job_mapping_name"), ["mapping_name"], unique=False)
        batch_op.create_index(batch_op.f("ix_sync_job_run_id"), ["run_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_sync_job_started_at"), ["started_at"], unique=False)

    op.create_table(
        "table_mapping",
        sa.Column("name", sa.String(length=20), nullable=False),
        sa.Column(
            "kind", sa.Enum("Record", "Option", name="mappingkind", native_enum=False, length=32), nullable=False
        ),
        sa.Column("erp_table", sa.String(length=64), nullable=False),
        sa.Column("crm_entity", sa.String(length=64), nullable=False),
        sa.Column("crm_id_attribute", sa.String(length=64), nullable=False),
        sa.Column("crm_modified_attribute", sa.String(length=64), nullable=False),
        sa.Column(
            "direction",
            sa.Enum("To CRM", "From CRM", "Bidirectional", name="direction", native_enum=False, length=32),
            nullable=False,
        ),
        sa.Column("erp_filter", sa.JSON(), nullable=True),
        sa.Column("crm_filter", sa.JSON(), nullable=True),
        sa.Column("sync_only_coupled", sa.Boolean(), nullable=False),
        sa.Column(
            "update_conflict",
            sa.Enum(
                "None",
                "Send update to integration",
                "Get update from integration",
                name="updateconflict",
                native_enum=False,
                length=32,
            ),
            nullable=False,
        ),
        sa.Column(
            "deletion_conflict",
            sa.Enum(
                "None", "Remove coupling", "Restore records", name="deletionconflict", native_enum=False, length=32
            ),
            nullable=False,
        ),
        sa.Column("dependency_filter", sa.String(length=250), nullable=False),
        sa.Column("create_new_if_no_match", sa.Boolean(), nullable=False),
        sa.Column("sync_after_bulk_coupling", sa.Boolean(), nullable=False),
        sa.Column("disable_event_reschedule", sa.Boolean(), nullable=False),
        sa.Column("job_interval_minutes", sa.Integer(), nullable=True),
        sa.Column("job_inactivity_timeout_minutes", sa.Integer(), nullable=False),
        sa.Column("job_category", sa.String(length=20), nullable=False),
        sa.Column("erp_row_version_watermark", sa.BigInteger(), nullable=True),
        sa.Column("crm_delta_link", sa.Text(), nullable=True),
        sa.Column("crm_modified_watermark", lead2cash.sqltypes.UTCDateTime(timezone=True), nullable=True),
        sa.Column("parent_name", sa.String(length=20), nullable=True),
        sa.Column("is_temporary", sa.Boolean(), nullable=False),
        sa.Column("full_sync_running", sa.Boolean(), nullable=False),
        sa.Column("full_sync_started_at", lead2cash.sqltypes.UTCDateTime(timezone=True), nullable=True),
        sa.Column("user_defined", sa.Boolean(), nullable=False),
        sa.Column("created_at", lead2cash.sqltypes.UTCDateTime(timezone=True), nullable=False),
        sa.Column("modified_at", lead2cash.sqltypes.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("name", name=op.f("pk_table_mapping")),
    )
    with op.batch_alter_table("table_mapping", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_table_mapping_erp_table"), ["erp_table"], unique=False)

    op.create_table(
        "transformation_rule",
        sa.Column("code", sa.String(length=20), nullable=False),
        sa.Column("description", sa.String(length=100), nullable=False),
        sa.Column(
            "kind",
            sa.Enum(
                "Trim",
                "Uppercase",
                "Lowercase",
                "Title case",
                "Replace",
                "Regular expression replace",
                "Extract substring",
                "Remove non-alphanumerics",
                name="transformationkind",
                native_enum=False,
                length=32,
            ),
            nullable=False,
        ),
        sa.Column("find_value", sa.String(length=250), nullable=False),
        sa.Column("replace_value", sa.String(length=250), nullable=False),
        sa.Column("start_position", sa.Integer(), nullable=False),
        sa.Column("length", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("code", name=op.f("pk_transformation_rule")),
    )
    op.create_table(
        "field_mapping",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("table_mapping_name", sa.String(length=20), nullable=False),
        sa.Column("erp_field", sa.String(length=64), nullable=True),
        sa.Column("crm_attribute", sa.String(length=64), nullable=True),
        sa.Column("crm_lookup_target", sa.String(length=64), nullable=True),
        sa.Column(
            "direction",
            sa.Enum("To CRM", "From CRM", "Bidirectional", name="direction", native_enum=False, length=32),
            nullable=False,
        ),
        sa.Column("constant_value", sa.String(length=100), nullable=True),
        sa.Column("validate_erp", sa.Boolean(), nullable=False),
        sa.Column("validate_crm", sa.Boolean(), nullable=False),
        sa.Column("clear_value_on_failed_sync", sa.Boolean(), nullable=False),
        sa.Column("not_null", sa.Boolean(), nullable=False),
        sa.Column(
            "status", sa.Enum("Enabled", "Disabled", name="fieldstatus", native_enum=False, length=32), nullable=False
        ),
        sa.Column("transformation_rule", sa.String(length=20), nullable=True),
        sa.Column(
            "transformation_direction",
            sa.Enum("To CRM", "From CRM", "Bidirectional", name="direction", native_enum=False, length=32),
            nullable=True,
        ),
        sa.Column("use_for_matching", sa.Boolean(), nullable=False),
        sa.Column("case_sensitive_matching", sa.Boolean(), nullable=False),
        sa.Column("match_priority", sa.Integer(), nullable=False),
        sa.Column("user_defined", sa.Boolean(), nullable=False),
        sa.CheckConstraint(
            "NOT (clear_value_on_failed_sync AND not_null)", name=op.f("ck_field_mapping_clear_or_not_null")
        ),
        sa.CheckConstraint(
            "erp_field IS NOT NULL OR crm_attribute IS NOT NULL", name=op.f("ck_field_mapping_has_a_field")
        ),
        sa.ForeignKeyConstraint(
            ["table_mapping_name"],
            ["table_mapping.name"],
            name=op.f("fk_field_mapping_table_mapping_name_table_mapping"),
            onupdate="CASCADE",
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["transformation_rule"],
            ["transformation_rule.code"],
            name=op.f("fk_field_mapping_transformation_rule_transformation_rule"),
            onupdate="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_field_mapping")),
    )
    with op.batch_alter_table("field_mapping", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_field_mapping_table_mapping_name"), ["table_mapping_name"], unique=False)

    op.create_table(
        "option_mapping",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("table_mapping_name", sa.String(length=20), nullable=False),
        sa.Column("crm_entity", sa.String(length=64), nullable=False),
        sa.Column("crm_attribute", sa.String(length=64), nullable=False),
        sa.Column("is_primary", sa.Boolean(), nullable=False),
        sa.ForeignKeyConstraint(
            ["table_mapping_name"],
            ["table_mapping.name"],
            name=op.f("fk_option_mapping_table_mapping_name_table_mapping"),
            onupdate="CASCADE",
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_option_mapping")),
        sa.UniqueConstraint("crm_entity", "crm_attribute", name=op.f("uq_option_mapping_crm_entity")),
    )
    with op.batch_alter_table("option_mapping", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_option_mapping_table_mapping_name"), ["table_mapping_name"], unique=False)

    op.create_table(
        "sync_error",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("job_id", sa.Uuid(), nullable=False),
        sa.Column("source", sa.String(length=250), nullable=False),
        sa.Column("source_id", sa.Uuid(), nullable=True),
        sa.Column("destination", sa.String(length=250), nullable=False),
        sa.Column("destination_id", sa.Uuid(), nullable=True),
        sa.Column("message", sa.Text(), nullable=False),
        sa.Column("detail", sa.Text(), nullable=False),
        sa.Column("created_at", lead2cash.sqltypes.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["job_id"], ["sync_job.id"], name=op.f("fk_sync_error_job_id_sync_job"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_sync_error")),
    )
    with op.batch_alter_table("sync_error", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_sync_error_job_id"), ["job_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_sync_error_source_id"), ["source_id"], unique=False)

    # A plain ADD COLUMN (no table copy): on SQLite the reference is declared inline, elsewhere as a
    # named constraint; either way existing contacts keep a blank (NULL) currency.
    contact_columns = {c["name"] for c in sa.inspect(op.get_bind()).get_columns("contact")}
    if "currency_code" not in contact_columns:  # kept by an earlier downgrade on SQLite
        op.add_column(
            "contact",
            sa.Column(
                "currency_code",
                sa.String(length=10),
                sa.ForeignKey("currency.code", name=op.f("fk_contact_currency_code_currency")),
                nullable=True,
            ),
            inline_references=op.get_bind().dialect.name == "sqlite",
        )


def downgrade() -> None:
    if op.get_bind().dialect.name != "sqlite":
        op.drop_column("contact", "currency_code")
    # On SQLite the column stays: SQLite cannot drop a column with a foreign key, and rebuilding "contact"
    # inside the migration's transaction (foreign keys on) fails as soon as another table refers to a
    # contact. A nullable column the older schema does not know is harmless, and upgrading again keeps it.

    with op.batch_alter_table("sync_error", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_sync_error_source_id"))
        batch_op.drop_index(batch_op.f("ix_sync_error_job_id"))

    op.drop_table("sync_error")
    with op.batch_alter_table("option_mapping", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_option_mapping_table_mapping_name"))

    op.drop_table("option_mapping")
    with op.batch_alter_table("field_mapping", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_field_mapping_table_mapping_name"))

    op.drop_table("field_mapping")
    op.drop_table("transformation_rule")
    with op.batch_alter_table("table_mapping", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_table_mapping_erp_table"))

    op.drop_table("table_mapping")
    with op.batch_alter_table("sync_job", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_sync_job_started_at"))
        batch_op.drop_index(batch_op.f("ix_sync_job_run_id"))
        batch_op.drop_index(batch_op.f("ix_sync_job_mapping_name"))

    op.drop_table("sync_job")
    op.drop_table("option_coupling")
    op.drop_table("full_sync_line")
    with op.batch_alter_table("coupling", schema=None) as batch_op:
        batch_op.drop_index("ix_coupling_attention")

    op.drop_table("coupling")
