"""master data: salespeople, customers, contacts, currencies, items, resources, prices, opportunities,
setup, users, and the row-version counter, tombstones and outbox

Revision ID: 0001
Revises:
Create Date: 2026-11-21 17:53:52.857764
"""

import sqlalchemy as sa
from alembic import op

import lead2cash.sqltypes

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "currency",
        sa.Column("code", sa.String(length=10), nullable=False),
        sa.Column("description", sa.String(length=30), nullable=False),
        sa.Column("iso_code", sa.String(length=3), nullable=False),
        sa.Column("iso_numeric_code", sa.String(length=3), nullable=False),
        sa.Column("symbol", sa.String(length=10), nullable=False),
        sa.Column("amount_rounding_precision", lead2cash.sqltypes.DecimalType(), nullable=False),
        sa.Column("unit_amount_rounding_precision", lead2cash.sqltypes.DecimalType(), nullable=False),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("created_at", lead2cash.sqltypes.UTCDateTime(timezone=True), nullable=False),
        sa.Column("modified_at", lead2cash.sqltypes.UTCDateTime(timezone=True), nullable=False),
        sa.Column("row_version", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_currency")),
        sa.UniqueConstraint("code", name=op.f("uq_currency_code")),
    )
    with op.batch_alter_table("currency", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_currency_row_version"), ["row_version"], unique=False)

    op.create_table(
        "customer_price_group",
        sa.Column("code", sa.String(length=10), nullable=False),
        sa.Column("description", sa.String(length=100), nullable=False),
        sa.Column("price_includes_vat", sa.Boolean(), nullable=False),
        sa.Column("allow_invoice_disc", sa.Boolean(), nullable=False),
        sa.Column("allow_line_disc", sa.Boolean(), nullable=False),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("created_at", lead2cash.sqltypes.UTCDateTime(timezone=True), nullable=False),
        sa.Column("modified_at", lead2cash.sqltypes.UTCDateTime(timezone=True), nullable=False),
        sa.Column("row_version", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_customer_price_group")),
        sa.UniqueConstraint("code", name=op.f("uq_customer_price_group_code")),
    )
    with op.batch_alter_table("customer_price_group", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_customer_price_group_row_version"), ["row_version"], unique=False)

    op.create_table(
        "erp_user",
        sa.Column("user_name", sa.String(length=50), nullable=False),
        sa.Column("full_name", sa.String(length=80), nullable=False),
        sa.Column("email", sa.String(length=80), nullable=False),
        sa.Column(
            "role",
            sa.Enum("administrator", "order_processor", "integration", name="role", native_enum=False, length=32),
            nullable=False,
        ),
        sa.Column("enabled", sa.Boolean(), nullable=False),
        sa.Column("web_service_key_hash", sa.String(length=64), nullable=True),
        sa.Column("web_service_key_changed_at", lead2cash.sqltypes.UTCDateTime(timezone=True), nullable=True),
        sa.Column("password_hash", sa.String(length=200), nullable=True),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("created_at", lead2cash.sqltypes.UTCDateTime(timezone=True), nullable=False),
        sa.Column("modified_at", lead2cash.sqltypes.UTCDateTime(timezone=True), nullable=False),
        sa.Column("row_version", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_erp_user")),
        sa.UniqueConstraint("user_name", name=op.f("uq_erp_user_user_name")),
        sa.UniqueConstraint("web_service_key_hash", name=op.f("uq_erp_user_web_service_key_hash")),
    )
    with op.batch_alter_table("erp_user", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_erp_user_row_version"), ["row_version"], unique=False)

    op.create_table(
        "general_setup",
        sa.Column("primary_key", sa.String(length=10), nullable=False),
        sa.Column("lcy_code", sa.String(length=10), nullable=False),
        sa.Column("lcy_description", sa.String(length=60), nullable=False),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("created_at", lead2cash.sqltypes.UTCDateTime(timezone=True), nullable=False),
        sa.Column("modified_at", lead2cash.sqltypes.UTCDateTime(timezone=True), nullable=False),
        sa.Column("row_version", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_general_setup")),
        sa.UniqueConstraint("primary_key", name=op.f("uq_general_setup_primary_key")),
    )
    with op.batch_alter_table("general_setup", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_general_setup_row_version"), ["row_version"], unique=False)

    op.create_table(
        "no_series",
        sa.Column("code", sa.String(length=20), nullable=False),
        sa.Column("description", sa.String(length=100), nullable=False),
        sa.Column("starting_no", sa.String(length=20), nullable=False),
        sa.Column("last_no_used", sa.String(length=20), nullable=False),
        sa.Column("increment_by", sa.Integer(), nullable=False),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("created_at", lead2cash.sqltypes.UTCDateTime(timezone=True), nullable=False),
        sa.Column("modified_at", lead2cash.sqltypes.UTCDateTime(timezone=True), nullable=False),
        sa.Column("row_version", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_no_series")),
        sa.UniqueConstraint("code", name=op.f("uq_no_series_code")),
    )
    with op.batch_alter_table("no_series", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_no_series_row_version"), ["row_version"], unique=False)

    op.create_table(
        "outbox",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("row_version", sa.BigInteger(), nullable=False),
        sa.Column("event_type", sa.String(length=64), nullable=False),
        sa.Column("table_name", sa.String(length=64), nullable=True),
        sa.Column("record_id", sa.Uuid(), nullable=True),
        sa.Column("payload", sa.JSON(), nullable=False),
        sa.Column("occurred_at", lead2cash.sqltypes.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_outbox")),
    )
    with op.batch_alter_table("outbox", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_outbox_event_type"), ["event_type"], unique=False)
        batch_op.create_index(batch_op.f("ix_outbox_row_version"), ["row_version"], unique=False)

    op.create_table(
        "payment_terms",
        sa.Column("code", sa.String(length=10), nullable=False),
        sa.Column("description", sa.String(length=100), nullable=False),
        sa.Column("due_date_calculation", sa.String(length=32), nullable=False),
        sa.Column("discount_date_calculation", sa.String(length=32), nullable=False),
        sa.Column("discount_pct", lead2cash.sqltypes.DecimalType(), nullable=False),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("created_at", lead2cash.sqltypes.UTCDateTime(timezone=True), nullable=False),
        sa.Column("modified_at", lead2cash.sqltypes.UTCDateTime(timezone=True), nullable=False),
        sa.Column("row_version", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_payment_terms")),
        sa.UniqueConstraint("code", name=op.f("uq_payment_terms_code")),
    )
    with op.batch_alter_table("payment_terms", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_payment_terms_row_version"), ["row_version"], unique=False)

    op.create_table(
        "row_version_counter",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("value", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_row_version_counter")),
    )
    op.create_table(
        "sales_setup",
        sa.Column("primary_key", sa.String(length=10), nullable=False),
        sa.Column(
            "write_in_product_type",
            sa.Enum("Item", "Resource", name="writeinproducttype", native_enum=False, length=32),
            nullable=False,
        ),
        sa.Column("write_in_product_no", sa.String(length=20), nullable=False),
        sa.Column("freight_gl_account_no", sa.String(length=20), nullable=False),
        sa.Column(
            "archive_quotes",
            sa.Enum("Never", "Question", "Always", name="archivepolicy", native_enum=False, length=32),
            nullable=False,
        ),
        sa.Column("archive_orders", sa.Boolean(), nullable=False),
        sa.Column("customer_nos", sa.String(length=20), nullable=False),
        sa.Column("item_nos", sa.String(length=20), nullable=False),
        sa.Column("resource_nos", sa.String(length=20), nullable=False),
        sa.Column("contact_nos", sa.String(length=20), nullable=False),
        sa.Column("opportunity_nos", sa.String(length=20), nullable=False),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("created_at", lead2cash.sqltypes.UTCDateTime(timezone=True), nullable=False),
        sa.Column("modified_at", lead2cash.sqltypes.UTCDateTime(timezone=True), nullable=False),
        sa.Column("row_version", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_sales_setup")),
        sa.UniqueConstraint("primary_key", name=op.f("uq_sales_setup_primary_key")),
    )
    with op.batch_alter_table("sales_setup", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_sales_setup_row_version"), ["row_version"], unique=False)

    op.create_table(
        "salesperson",
        sa.Column("code", sa.String(length=20), nullable=False),
        sa.Column("name", sa.String(length=50), nullable=False),
        sa.Column("email", sa.String(length=80), nullable=False),
        sa.Column("phone_no", sa.String(length=30), nullable=False),
        sa.Column("job_title", sa.String(length=30), nullable=False),
        sa.Column("commission_pct", lead2cash.sqltypes.DecimalType(), nullable=False),
        sa.Column("blocked", sa.Boolean(), nullable=False),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("created_at", lead2cash.sqltypes.UTCDateTime(timezone=True), nullable=False),
        sa.Column("modified_at", lead2cash.sqltypes.UTCDateTime(timezone=True), nullable=False),
        sa.Column("row_version", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_salesperson")),
        sa.UniqueConstraint("code", name=op.f("uq_salesperson_code")),
    )
    with op.batch_alter_table("salesperson", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_salesperson_row_version"), ["row_version"], unique=False)

    op.create_table(
        "shipment_method",
        sa.Column("code", sa.String(length=10), nullable=False),
        sa.Column("description", sa.String(length=100), nullable=False),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("created_at", lead2cash.sqltypes.UTCDateTime(timezone=True), nullable=False),
        sa.Column("modified_at", lead2cash.sqltypes.UTCDateTime(timezone=True), nullable=False),
        sa.Column("row_version", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_shipment_method")),
        sa.UniqueConstraint("code", name=op.f("uq_shipment_method_code")),
    )
    with op.batch_alter_table("shipment_method", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_shipment_method_row_version"), ["row_version"], unique=False)

    op.create_table(
        "shipping_agent",
        sa.Column("code", sa.String(length=10), nullable=False),
        sa.Column("name", sa.String(length=50), nullable=False),
        sa.Column("internet_address", sa.String(length=250), nullable=False),
        sa.Column("account_no", sa.String(length=30), nullable=False),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("created_at", lead2cash.sqltypes.UTCDateTime(timezone=True), nullable=False),
        sa.Column("modified_at", lead2cash.sqltypes.UTCDateTime(timezone=True), nullable=False),
        sa.Column("row_version", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_shipping_agent")),
        sa.UniqueConstraint("code", name=op.f("uq_shipping_agent_code")),
    )
    with op.batch_alter_table("shipping_agent", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_shipping_agent_row_version"), ["row_version"], unique=False)

    op.create_table(
        "tombstone",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("table_name", sa.String(length=64), nullable=False),
        sa.Column("record_id", sa.Uuid(), nullable=False),
        sa.Column("record_key", sa.String(length=100), nullable=False),
        sa.Column("row_version", sa.BigInteger(), nullable=False),
        sa.Column("deleted_at", lead2cash.sqltypes.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_tombstone")),
    )
    with op.batch_alter_table("tombstone", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_tombstone_row_version"), ["row_version"], unique=False)

    op.create_table(
        "unit_of_measure",
        sa.Column("code", sa.String(length=10), nullable=False),
        sa.Column("description", sa.String(length=50), nullable=False),
        sa.Column("international_standard_code", sa.String(length=10), nullable=False),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("created_at", lead2cash.sqltypes.UTCDateTime(timezone=True), nullable=False),
        sa.Column("modified_at", lead2cash.sqltypes.UTCDateTime(timezone=True), nullable=False),
        sa.Column("row_version", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_unit_of_measure")),
        sa.UniqueConstraint("code", name=op.f("uq_unit_of_measure_code")),
    )
    with op.batch_alter_table("unit_of_measure", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_unit_of_measure_row_version"), ["row_version"], unique=False)

    op.create_table(
        "currency_exchange_rate",
        sa.Column("currency_code", sa.String(length=10), nullable=False),
        sa.Column("starting_date", sa.Date(), nullable=False),
        sa.Column("exchange_rate_amount", lead2cash.sqltypes.DecimalType(scale=8), nullable=False),
        sa.Column("relational_exch_rate_amount", lead2cash.sqltypes.DecimalType(scale=8), nullable=False),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("created_at", lead2cash.sqltypes.UTCDateTime(timezone=True), nullable=False),
        sa.Column("modified_at", lead2cash.sqltypes.UTCDateTime(timezone=True), nullable=False),
        sa.Column("row_version", sa.BigInteger(), nullable=False),
        sa.ForeignKeyConstraint(
            ["currency_code"],
            ["currency.code"],
            name=op.f("fk_currency_exchange_rate_currency_code_currency"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_currency_exchange_rate")),
        sa.UniqueConstraint("currency_code", "starting_date", name=op.f("uq_currency_exchange_rate_currency_code")),
    )
    with op.batch_alter_table("currency_exchange_rate", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_currency_exchange_rate_row_version"), ["row_version"], unique=False)

    op.create_table(
        "customer",
        sa.Column("no", sa.String(length=20), nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("name_2", sa.String(length=50), nullable=False),
        sa.Column("address", sa.String(length=100), nullable=False),
        sa.Column("address_2", sa.String(length=50), nullable=False),
        sa.Column("post_code", sa.String(length=20), nullable=False),
        sa.Column("city", sa.String(length=30), nullable=False),
        sa.Column("county", sa.String(length=30), nullable=False),
        sa.Column("country_region_code", sa.String(length=10), nullable=False),
        sa.Column("contact", sa.String(length=100), nullable=False),
        sa.Column("phone_no", sa.String(length=30), nullable=False),
        sa.Column("mobile_phone_no", sa.String(length=30), nullable=False),
        sa.Column("email", sa.String(length=80), nullable=False),
        sa.Column("home_page", sa.String(length=80), nullable=False),
        sa.Column("fax_no", sa.String(length=30), nullable=False),
        sa.Column("currency_code", sa.String(length=10), nullable=True),
        sa.Column("salesperson_code", sa.String(length=20), nullable=True),
        sa.Column("payment_terms_code", sa.String(length=10), nullable=True),
        sa.Column("shipment_method_code", sa.String(length=10), nullable=True),
        sa.Column("shipping_agent_code", sa.String(length=10), nullable=True),
        sa.Column("customer_price_group", sa.String(length=10), nullable=True),
        sa.Column("credit_limit_lcy", lead2cash.sqltypes.DecimalType(), nullable=False),
        sa.Column("primary_contact_no", sa.String(length=20), nullable=True),
        sa.Column(
            "blocked",
            sa.Enum(" ", "Ship", "Invoice", "All", name="customerblocked", native_enum=False, length=32),
            nullable=False,
        ),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("created_at", lead2cash.sqltypes.UTCDateTime(timezone=True), nullable=False),
        sa.Column("modified_at", lead2cash.sqltypes.UTCDateTime(timezone=True), nullable=False),
        sa.Column("row_version", sa.BigInteger(), nullable=False),
        sa.ForeignKeyConstraint(["currency_code"], ["currency.code"], name=op.f("fk_customer_currency_code_currency")),
        sa.ForeignKeyConstraint(
            ["customer_price_group"],
            ["customer_price_group.code"],
            name=op.f("fk_customer_customer_price_group_customer_price_group"),
        ),
        sa.ForeignKeyConstraint(
            ["payment_terms_code"],
            ["payment_terms.code"],
            name=op.f("fk_customer_payment_terms_code_payment_terms"),
        ),
        sa.ForeignKeyConstraint(
            ["salesperson_code"], ["salesperson.code"], name=op.f("fk_customer_salesperson_code_salesperson")
        ),
        sa.ForeignKeyConstraint(
            ["shipment_method_code"],
            ["shipment_method.code"],
            name=op.f("fk_customer_shipment_method_code_shipment_method"),
        ),
        sa.ForeignKeyConstraint(
            ["shipping_agent_code"],
            ["shipping_agent.code"],
            name=op.f("fk_customer_shipping_agent_code_shipping_agent"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_customer")),
        sa.UniqueConstraint("no", name=op.f("uq_customer_no")),
    )
    with op.batch_alter_table("customer", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_customer_row_version"), ["row_version"], unique=False)

    op.create_table(
        "item",
        sa.Column("no", sa.String(length=20), nullable=False),
        sa.Column(
            "type",
            sa.Enum("Inventory", "Service", "Non-Inventory", name="itemtype", native_enum=False, length=32),
            nullable=False,
        ),
        sa.Column("description", sa.String(length=100), nullable=False),
        sa.Column("description_2", sa.String(length=50), nullable=False),
        sa.Column("base_unit_of_measure", sa.String(length=10), nullable=True),
        sa.Column("unit_price", lead2cash.sqltypes.DecimalType(), nullable=False),
        sa.Column("unit_cost", lead2cash.sqltypes.DecimalType(), nullable=False),
        sa.Column("vendor_no", sa.String(length=20), nullable=False),
        sa.Column("vendor_item_no", sa.String(length=50), nullable=False),
        sa.Column("gross_weight", lead2cash.sqltypes.DecimalType(), nullable=False),
        sa.Column("unit_volume", lead2cash.sqltypes.DecimalType(), nullable=False),
        sa.Column("blocked", sa.Boolean(), nullable=False),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("created_at", lead2cash.sqltypes.UTCDateTime(timezone=True), nullable=False),
        sa.Column("modified_at", lead2cash.sqltypes.UTCDateTime(timezone=True), nullable=False),
        sa.Column("row_version", sa.BigInteger(), nullable=False),
        sa.ForeignKeyConstraint(
            ["base_unit_of_measure"],
            ["unit_of_measure.code"],
            name=op.f("fk_item_base_unit_of_measure_unit_of_measure"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_item")),
        sa.UniqueConstraint("no", name=op.f("uq_item_no")),
    )
    with op.batch_alter_table("item", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_item_row_version"), ["row_version"], unique=False)

    op.create_table(
        "resource",
        sa.Column("no", sa.String(length=20), nullable=False),
        sa.Column(
            "type",
            sa.Enum("Person", "Machine", name="resourcetype", native_enum=False, length=32),
            nullable=False,
        ),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("base_unit_of_measure", sa.String(length=10), nullable=True),
        sa.Column("unit_price", lead2cash.sqltypes.DecimalType(), nullable=False),
        sa.Column("unit_cost", lead2cash.sqltypes.DecimalType(), nullable=False),
        sa.Column("capacity", lead2cash.sqltypes.DecimalType(), nullable=False),
        sa.Column("blocked", sa.Boolean(), nullable=False),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("created_at", lead2cash.sqltypes.UTCDateTime(timezone=True), nullable=False),
        sa.Column("modified_at", lead2cash.sqltypes.UTCDateTime(timezone=True), nullable=False),
        sa.Column("row_version", sa.BigInteger(), nullable=False),
        sa.ForeignKeyConstraint(
            ["base_unit_of_measure"],
            ["unit_of_measure.code"],
            name=op.f("fk_resource_base_unit_of_measure_unit_of_measure"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_resource")),
        sa.UniqueConstraint("no", name=op.f("uq_resource_no")),
    )
    with op.batch_alter_table("resource", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_resource_row_version"), ["row_version"], unique=False)

    op.create_table(
        "contact",
        sa.Column("no", sa.String(length=20), nullable=False),
        sa.Column(
            "type",
            sa.Enum("Company", "Person", name="contacttype", native_enum=False, length=32),
            nullable=False,
        ),
        sa.Column("company_no", sa.String(length=20), nullable=True),
        sa.Column("company_name", sa.String(length=100), nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("first_name", sa.String(length=30), nullable=False),
        sa.Column("middle_name", sa.String(length=30), nullable=False),
        sa.Column("surname", sa.String(length=30), nullable=False),
        sa.Column("job_title", sa.String(length=30), nullable=False),
        sa.Column("address", sa.String(length=100), nullable=False),
        sa.Column("address_2", sa.String(length=50), nullable=False),
        sa.Column("post_code", sa.String(length=20), nullable=False),
        sa.Column("city", sa.String(length=30), nullable=False),
        sa.Column("county", sa.String(length=30), nullable=False),
        sa.Column("country_region_code", sa.String(length=10), nullable=False),
        sa.Column("phone_no", sa.String(length=30), nullable=False),
        sa.Column("mobile_phone_no", sa.String(length=30), nullable=False),
        sa.Column("email", sa.String(length=80), nullable=False),
        sa.Column("fax_no", sa.String(length=30), nullable=False),
        sa.Column("salesperson_code", sa.String(length=20), nullable=True),
        sa.Column("customer_no", sa.String(length=20), nullable=True),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("created_at", lead2cash.sqltypes.UTCDateTime(timezone=True), nullable=False),
        sa.Column("modified_at", lead2cash.sqltypes.UTCDateTime(timezone=True), nullable=False),
        sa.Column("row_version", sa.BigInteger(), nullable=False),
        sa.ForeignKeyConstraint(["company_no"], ["contact.no"], name=op.f("fk_contact_company_no_contact")),
        sa.ForeignKeyConstraint(["customer_no"], ["customer.no"], name=op.f("fk_contact_customer_no_customer")),
        sa.ForeignKeyConstraint(
            ["salesperson_code"], ["salesperson.code"], name=op.f("fk_contact_salesperson_code_salesperson")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_contact")),
        sa.UniqueConstraint("customer_no", name=op.f("uq_contact_customer_no")),
        sa.UniqueConstraint("no", name=op.f("uq_contact_no")),
    )
    with op.batch_alter_table("contact", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_contact_row_version"), ["row_version"], unique=False)

    # customer <-> contact reference each other; the second foreign key is added once both exist
    with op.batch_alter_table("customer", schema=None) as batch_op:
        batch_op.create_foreign_key(
            op.f("fk_customer_primary_contact_no_contact"), "contact", ["primary_contact_no"], ["no"]
        )

    op.create_table(
        "sales_price",
        sa.Column("item_no", sa.String(length=20), nullable=False),
        sa.Column(
            "sales_type",
            sa.Enum(
                "Customer",
                "Customer Price Group",
                "All Customers",
                name="salestype",
                native_enum=False,
                length=32,
            ),
            nullable=False,
        ),
        sa.Column("sales_code", sa.String(length=20), nullable=False),
        sa.Column("currency_code", sa.String(length=10), nullable=True),
        sa.Column("unit_of_measure_code", sa.String(length=10), nullable=True),
        sa.Column("minimum_quantity", lead2cash.sqltypes.DecimalType(), nullable=False),
        sa.Column("unit_price", lead2cash.sqltypes.DecimalType(), nullable=False),
        sa.Column("starting_date", sa.Date(), nullable=True),
        sa.Column("ending_date", sa.Date(), nullable=True),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("created_at", lead2cash.sqltypes.UTCDateTime(timezone=True), nullable=False),
        sa.Column("modified_at", lead2cash.sqltypes.UTCDateTime(timezone=True), nullable=False),
        sa.Column("row_version", sa.BigInteger(), nullable=False),
        sa.ForeignKeyConstraint(
            ["currency_code"], ["currency.code"], name=op.f("fk_sales_price_currency_code_currency")
        ),
        sa.ForeignKeyConstraint(["item_no"], ["item.no"], name=op.f("fk_sales_price_item_no_item")),
        sa.ForeignKeyConstraint(
            ["unit_of_measure_code"],
            ["unit_of_measure.code"],
            name=op.f("fk_sales_price_unit_of_measure_code_unit_of_measure"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_sales_price")),
    )
    with op.batch_alter_table("sales_price", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_sales_price_item_no"), ["item_no"], unique=False)
        batch_op.create_index(batch_op.f("ix_sales_price_row_version"), ["row_version"], unique=False)

    op.create_table(
        "opportunity",
        sa.Column("no", sa.String(length=20), nullable=False),
        sa.Column("description", sa.String(length=100), nullable=False),
        sa.Column("contact_no", sa.String(length=20), nullable=True),
        sa.Column("contact_company_no", sa.String(length=20), nullable=True),
        sa.Column("salesperson_code", sa.String(length=20), nullable=True),
        sa.Column(
            "status",
            sa.Enum(
                "Not Started",
                "In Progress",
                "Won",
                "Lost",
                name="opportunitystatus",
                native_enum=False,
                length=32,
            ),
            nullable=False,
        ),
        sa.Column("estimated_value_lcy", lead2cash.sqltypes.DecimalType(), nullable=False),
        sa.Column("estimated_closing_date", sa.Date(), nullable=True),
        sa.Column("probability_pct", sa.Integer(), nullable=False),
        sa.Column("creation_date", sa.Date(), nullable=True),
        sa.Column("date_closed", sa.Date(), nullable=True),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("created_at", lead2cash.sqltypes.UTCDateTime(timezone=True), nullable=False),
        sa.Column("modified_at", lead2cash.sqltypes.UTCDateTime(timezone=True), nullable=False),
        sa.Column("row_version", sa.BigInteger(), nullable=False),
        sa.ForeignKeyConstraint(
            ["contact_company_no"], ["contact.no"], name=op.f("fk_opportunity_contact_company_no_contact")
        ),
        sa.ForeignKeyConstraint(["contact_no"], ["contact.no"], name=op.f("fk_opportunity_contact_no_contact")),
        sa.ForeignKeyConstraint(
            ["salesperson_code"],
            ["salesperson.code"],
            name=op.f("fk_opportunity_salesperson_code_salesperson"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_opportunity")),
        sa.UniqueConstraint("no", name=op.f("uq_opportunity_no")),
    )
    with op.batch_alter_table("opportunity", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_opportunity_row_version"), ["row_version"], unique=False)
    op.create_index(
        "uq_sales_price_key",
        "sales_price",
        [
            "item_no",
            "sales_type",
            "sales_code",
            sa.text("coalesce(currency_code, '')"),
            sa.text("coalesce(unit_of_measure_code, '')"),
            "minimum_quantity",
            sa.text("coalesce(starting_date, '1900-01-01')"),
        ],
        unique=True,
    )
    op.bulk_insert(
        sa.table("row_version_counter", sa.column("id", sa.Integer), sa.column("value", sa.BigInteger)),
        [{"id": 1, "value": 0}],
    )


def downgrade() -> None:
    op.drop_index("uq_sales_price_key", table_name="sales_price")
    with op.batch_alter_table("customer", schema=None) as batch_op:
        batch_op.drop_constraint(op.f("fk_customer_primary_contact_no_contact"), type_="foreignkey")
    with op.batch_alter_table("opportunity", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_opportunity_row_version"))

    op.drop_table("opportunity")
    with op.batch_alter_table("sales_price", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_sales_price_row_version"))
        batch_op.drop_index(batch_op.f("ix_sales_price_item_no"))

    op.drop_table("sales_price")
    with op.batch_alter_table("contact", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_contact_row_version"))

    op.drop_table("contact")
    with op.batch_alter_table("resource", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_resource_row_version"))

    op.drop_table("resource")
    with op.batch_alter_table("item", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_item_row_version"))

    op.drop_table("item")
    with op.batch_alter_table("customer", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_customer_row_version"))

    op.drop_table("customer")
    with op.batch_alter_table("currency_exchange_rate", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_currency_exchange_rate_row_version"))

    op.drop_table("currency_exchange_rate")
    with op.batch_alter_table("unit_of_measure", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_unit_of_measure_row_version"))

    op.drop_table("unit_of_measure")
    with op.batch_alter_table("tombstone", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_tombstone_row_version"))

    op.drop_table("tombstone")
    with op.batch_alter_table("shipping_agent", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_shipping_agent_row_version"))

    op.drop_table("shipping_agent")
    with op.batch_alter_table("shipment_method", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_shipment_method_row_version"))

    op.drop_table("shipment_method")
    with op.batch_alter_table("salesperson", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_salesperson_row_version"))

    op.drop_table("salesperson")
    with op.batch_alter_table("sales_setup", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_sales_setup_row_version"))

    op.drop_table("sales_setup")
    op.drop_table("row_version_counter")
    with op.batch_alter_table("payment_terms", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_payment_terms_row_version"))

    op.drop_table("payment_terms")
    with op.batch_alter_table("outbox", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_outbox_row_version"))
        batch_op.drop_index(batch_op.f("ix_outbox_event_type"))

    op.drop_table("outbox")
    with op.batch_alter_table("no_series", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_no_series_row_version"))

    op.drop_table("no_series")
    with op.batch_alter_table("general_setup", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_general_setup_row_version"))

    op.drop_table("general_setup")
    with op.batch_alter_table("erp_user", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_erp_user_row_version"))

    op.drop_table("erp_user")
    with op.batch_alter_table("customer_price_group", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_customer_price_group_row_version"))

    op.drop_table("customer_price_group")
    with op.batch_alter_table("currency", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_currency_row_version"))

    op.drop_table("currency")
