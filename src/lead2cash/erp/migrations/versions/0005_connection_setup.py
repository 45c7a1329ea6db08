"""connection setup: the integration's CRM connection, integration user, options and solution state

One row (``id`` = 1, enforced by a check constraint). The client secret column holds Fernet ciphertext only
(see ``lead2cash.integration.setup.crypto``).

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-21 19:00:00
"""

import sqlalchemy as sa
from alembic import op

import lead2cash.sqltypes

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def _text(name: str, length: int) -> sa.Column:
    return sa.Column(name, sa.String(length=length), nullable=False)


def _flag(name: str) -> sa.Column:
    return sa.Column(name, sa.Boolean(), nullable=False)


def _when(name: str, nullable: bool = True) -> sa.Column:
    return sa.Column(name, lead2cash.sqltypes.UTCDateTime(timezone=True), nullable=nullable)


def upgrade() -> None:
    op.create_table(
        "connection_setup",
        sa.Column("id", sa.Integer(), nullable=False),
        _text("server_address", 250),
        _text("authority", 250),
        _text("tenant_id", 100),
        _text("client_id", 100),
        sa.Column("client_secret_encrypted", sa.Text(), nullable=True),
        _text("ca_bundle", 500),
        sa.Column("integration_user_id", sa.Uuid(), nullable=True),
        _text("integration_user_name", 200),
        _flag("enabled"),
        _text("disable_reason", 250),
        _flag("auto_create_sales_orders"),
        _flag("auto_process_quotes"),
        _flag("bidirectional_sales_orders"),
        _text("sales_order_user", 50),
        _flag("item_availability_enabled"),
        _text("odata_web_service_user", 50),
        sa.Column("company_id", sa.Uuid(), nullable=False),
        _flag("solution_deployed"),
        _text("solution_version", 20),
        _when("solution_deployed_at"),
        _when("last_test_at"),
        sa.Column("last_test_ok", sa.Boolean(), nullable=True),
        sa.Column("last_test_result", sa.JSON(), nullable=True),
        _when("created_at", nullable=False),
        _when("modified_at", nullable=False),
        sa.CheckConstraint("id = 1", name=op.f("ck_connection_setup_single_row")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_connection_setup")),
    )


def downgrade() -> None:
    op.drop_table("connection_setup")
