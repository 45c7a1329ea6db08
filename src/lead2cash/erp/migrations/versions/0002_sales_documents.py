"""sales documents: quotes and orders with lines, their archive, posted shipments and invoices, item and
customer ledger entries with entry-no. counters; VAT % on items and resources; sales document number series

Existing rows get VAT 0 % and blank series fields (the document service fills blank series on first use).

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-21 17:56:46.200454
"""

import sqlalchemy as sa
from alembic import op

import lead2cash.sqltypes

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "entry_no_counter",
        sa.Column("table_name", sa.String(length=64), nullable=False),
        sa.Column("last_entry_no", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("table_name", name=op.f("pk_entry_no_counter")),
    )
    op.create_table(
        "sales_header_archive",
        sa.Column(
            "document_type",
            sa.Enum("Quote", "Order", name="salesdocumenttype", native_enum=False, length=32),
            nullable=False,
        ),
        sa.Column("no", sa.String(length=20), nullable=False),
        sa.Column("doc_no_occurrence", sa.Integer(), nullable=False),
        sa.Column("version_no", sa.Integer(), nullable=False),
        sa.Column("reason", sa.String(length=30), nullable=False),
        sa.Column("archived_at", lead2cash.sqltypes.UTCDateTime(timezone=True), nullable=False),
        sa.Column("archived_by", sa.String(length=50), nullable=False),
        sa.Column("sell_to_customer_no", sa.String(length=20), nullable=False),
        sa.Column("your_reference", sa.String(length=35), nullable=False),
        sa.Column("status", sa.String(length=32), nullable=False),
        sa.Column("amount", lead2cash.sqltypes.DecimalType(), nullable=False),
        sa.Column("amount_including_vat", lead2cash.sqltypes.DecimalType(), nullable=False),
        sa.Column("shipment_date", sa.Date(), nullable=True),
        sa.Column("last_shipment_date", sa.Date(), nullable=True),
        sa.Column("header", sa.JSON(), nullable=False),
        sa.Column("lines", sa.JSON(), nullable=False),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("created_at", lead2cash.sqltypes.UTCDateTime(timezone=True), nullable=False),
        sa.Column("modified_at", lead2cash.sqltypes.UTCDateTime(timezone=True), nullable=False),
        sa.Column("row_version", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_sales_header_archive")),
        sa.UniqueConstraint(
            "document_type", "no", "doc_no_occurrence", "version_no", name=op.f("uq_sales_header_archive_document_type")
        ),
    )
    with op.batch_alter_table("sales_header_archive", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_sales_header_archive_no"), ["no"], unique=False)
        batch_op.create_index(batch_op.f("ix_sales_header_archive_row_version"), ["row_version"], unique=False)

    op.create_table(
        "cust_ledger_entry",
        sa.Column("entry_no", sa.BigInteger(), nullable=False),
        sa.Column("customer_no", sa.String(length=20), nullable=False),
        sa.Column("posting_date", sa.Date(), nullable=False),
        sa.Column(
            "document_type",
            sa.Enum(
                " ", "Sales Shipment", "Invoice", "Payment", name="ledgerdocumenttype", native_enum=False, length=32
            ),
            nullable=False,
        ),
        sa.Column("document_no", sa.String(length=20), nullable=False),
        sa.Column("external_document_no", sa.String(length=35), nullable=False),
        sa.Column("description", sa.String(length=100), nullable=False),
        sa.Column("currency_code", sa.String(length=10), nullable=True),
        sa.Column("amount", lead2cash.sqltypes.DecimalType(), nullable=False),
        sa.Column("amount_lcy", lead2cash.sqltypes.DecimalType(), nullable=False),
        sa.Column("remaining_amount", lead2cash.sqltypes.DecimalType(), nullable=False),
        sa.Column("remaining_amount_lcy", lead2cash.sqltypes.DecimalType(), nullable=False),
        sa.Column("sales_lcy", lead2cash.sqltypes.DecimalType(), nullable=False),
        sa.Column("due_date", sa.Date(), nullable=True),
        sa.Column("open", sa.Boolean(), nullable=False),
        sa.Column("closed_at_date", sa.Date(), nullable=True),
        sa.Column("prepayment", sa.Boolean(), nullable=False),
        sa.Column("order_no", sa.String(length=20), nullable=False),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("created_at", lead2cash.sqltypes.UTCDateTime(timezone=True), nullable=False),
        sa.Column("modified_at", lead2cash.sqltypes.UTCDateTime(timezone=True), nullable=False),
        sa.Column("row_version", sa.BigInteger(), nullable=False),
        sa.ForeignKeyConstraint(
            ["currency_code"], ["currency.code"], name=op.f("fk_cust_ledger_entry_currency_code_currency")
        ),
        sa.ForeignKeyConstraint(
            ["customer_no"], ["customer.no"], name=op.f("fk_cust_ledger_entry_customer_no_customer")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_cust_ledger_entry")),
        sa.UniqueConstraint("entry_no", name=op.f("uq_cust_ledger_entry_entry_no")),
    )
    with op.batch_alter_table("cust_ledger_entry", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_cust_ledger_entry_customer_no"), ["customer_no"], unique=False)
        batch_op.create_index(batch_op.f("ix_cust_ledger_entry_document_no"), ["document_no"], unique=False)
        batch_op.create_index(batch_op.f("ix_cust_ledger_entry_order_no"), ["order_no"], unique=False)
        batch_op.create_index(batch_op.f("ix_cust_ledger_entry_row_version"), ["row_version"], unique=False)

    op.create_table(
        "item_ledger_entry",
        sa.Column("entry_no", sa.BigInteger(), nullable=False),
        sa.Column("item_no", sa.String(length=20), nullable=False),
        sa.Column(
            "entry_type",
            sa.Enum(
                "Purchase",
                "Sale",
                "Positive Adjmt.",
                "Negative Adjmt.",
                name="itemledgerentrytype",
                native_enum=False,
                length=32,
            ),
            nullable=False,
        ),
        sa.Column("posting_date", sa.Date(), nullable=False),
        sa.Column(
            "document_type",
            sa.Enum(
                " ", "Sales Shipment", "Invoice", "Payment", name="ledgerdocumenttype", native_enum=False, length=32
            ),
            nullable=False,
        ),
        sa.Column("document_no", sa.String(length=20), nullable=False),
        sa.Column("document_line_no", sa.Integer(), nullable=False),
        sa.Column("order_no", sa.String(length=20), nullable=False),
        sa.Column("source_no", sa.String(length=20), nullable=False),
        sa.Column("description", sa.String(length=100), nullable=False),
        sa.Column("unit_of_measure_code", sa.String(length=10), nullable=True),
        sa.Column("quantity", lead2cash.sqltypes.DecimalType(), nullable=False),
        sa.Column("invoiced_quantity", lead2cash.sqltypes.DecimalType(), nullable=False),
        sa.Column("sales_amount_actual", lead2cash.sqltypes.DecimalType(), nullable=False),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("created_at", lead2cash.sqltypes.UTCDateTime(timezone=True), nullable=False),
        sa.Column("modified_at", lead2cash.sqltypes.UTCDateTime(timezone=True), nullable=False),
        sa.Column("row_version", sa.BigInteger(), nullable=False),
        sa.ForeignKeyConstraint(["item_no"], ["item.no"], name=op.f("fk_item_ledger_entry_item_no_item")),
        sa.ForeignKeyConstraint(
            ["unit_of_measure_code"],
            ["unit_of_measure.code"],
            name=op.f("fk_item_ledger_entry_unit_of_measure_code_unit_of_measure"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_item_ledger_entry")),
        sa.UniqueConstraint("entry_no", name=op.f("uq_item_ledger_entry_entry_no")),
    )
    with op.batch_alter_table("item_ledger_entry", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_item_ledger_entry_item_no"), ["item_no"], unique=False)
        batch_op.create_index(batch_op.f("ix_item_ledger_entry_row_version"), ["row_version"], unique=False)

    op.create_table(
        "sales_invoice_header",
        sa.Column("due_date", sa.Date(), nullable=True),
        sa.Column("prepayment_invoice", sa.Boolean(), nullable=False),
        sa.Column("prepayment_order_no", sa.String(length=20), nullable=False),
        sa.Column("invoice_discount_amount", lead2cash.sqltypes.DecimalType(), nullable=False),
        sa.Column("amount", lead2cash.sqltypes.DecimalType(), nullable=False),
        sa.Column("amount_including_vat", lead2cash.sqltypes.DecimalType(), nullable=False),
        sa.Column("prepayment_deducted_incl_vat", lead2cash.sqltypes.DecimalType(), nullable=False),
        sa.Column("cust_ledger_entry_no", sa.BigInteger(), nullable=True),
        sa.Column("no", sa.String(length=20), nullable=False),
        sa.Column("order_no", sa.String(length=20), nullable=False),
        sa.Column("sell_to_customer_no", sa.String(length=20), nullable=False),
        sa.Column("sell_to_customer_name", sa.String(length=100), nullable=False),
        sa.Column("bill_to_customer_no", sa.String(length=20), nullable=False),
        sa.Column("currency_code", sa.String(length=10), nullable=True),
        sa.Column("currency_factor", lead2cash.sqltypes.DecimalType(scale=8), nullable=False),
        sa.Column("salesperson_code", sa.String(length=20), nullable=True),
        sa.Column("payment_terms_code", sa.String(length=10), nullable=True),
        sa.Column("shipment_method_code", sa.String(length=10), nullable=True),
        sa.Column("shipping_agent_code", sa.String(length=10), nullable=True),
        sa.Column("external_document_no", sa.String(length=35), nullable=False),
        sa.Column("your_reference", sa.String(length=35), nullable=False),
        sa.Column("quote_no", sa.String(length=20), nullable=False),
        sa.Column("posting_date", sa.Date(), nullable=False),
        sa.Column("document_date", sa.Date(), nullable=True),
        sa.Column("shipment_date", sa.Date(), nullable=True),
        sa.Column("work_description", sa.String(length=2000), nullable=False),
        sa.Column("bill_to_name", sa.String(length=100), nullable=False),
        sa.Column("bill_to_address", sa.String(length=100), nullable=False),
        sa.Column("bill_to_address_2", sa.String(length=50), nullable=False),
        sa.Column("bill_to_post_code", sa.String(length=20), nullable=False),
        sa.Column("bill_to_city", sa.String(length=30), nullable=False),
        sa.Column("bill_to_county", sa.String(length=30), nullable=False),
        sa.Column("bill_to_country_region_code", sa.String(length=10), nullable=False),
        sa.Column("ship_to_name", sa.String(length=100), nullable=False),
        sa.Column("ship_to_address", sa.String(length=100), nullable=False),
        sa.Column("ship_to_address_2", sa.String(length=50), nullable=False),
        sa.Column("ship_to_post_code", sa.String(length=20), nullable=False),
        sa.Column("ship_to_city", sa.String(length=30), nullable=False),
        sa.Column("ship_to_county", sa.String(length=30), nullable=False),
        sa.Column("ship_to_country_region_code", sa.String(length=10), nullable=False),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("created_at", lead2cash.sqltypes.UTCDateTime(timezone=True), nullable=False),
        sa.Column("modified_at", lead2cash.sqltypes.UTCDateTime(timezone=True), nullable=False),
        sa.Column("row_version", sa.BigInteger(), nullable=False),
        sa.ForeignKeyConstraint(
            ["bill_to_customer_no"], ["customer.no"], name=op.f("fk_sales_invoice_header_bill_to_customer_no_customer")
        ),
        sa.ForeignKeyConstraint(
            ["currency_code"], ["currency.code"], name=op.f("fk_sales_invoice_header_currency_code_currency")
        ),
        sa.ForeignKeyConstraint(
            ["payment_terms_code"],
            ["payment_terms.code"],
            name=op.f("fk_sales_invoice_header_payment_terms_code_payment_terms"),
        ),
        sa.ForeignKeyConstraint(
            ["salesperson_code"],
            ["salesperson.code"],
            name=op.f("fk_sales_invoice_header_salesperson_code_salesperson"),
        ),
        sa.ForeignKeyConstraint(
            ["sell_to_customer_no"], ["customer.no"], name=op.f("fk_sales_invoice_header_sell_to_customer_no_customer")
        ),
        sa.ForeignKeyConstraint(
            ["shipment_method_code"],
            ["shipment_method.code"],
            name=op.f("fk_sales_invoice_header_shipment_method_code_shipment_method"),
        ),
        sa.ForeignKeyConstraint(
            ["shipping_agent_code"],
            ["shipping_agent.code"],
            name=op.f("fk_sales_invoice_header_shipping_agent_code_shipping_agent"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_sales_invoice_header")),
        sa.UniqueConstraint("no", name=op.f("uq_sales_invoice_header_no")),
    )
    with op.batch_alter_table("sales_invoice_header", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_sales_invoice_header_order_no"), ["order_no"], unique=False)
        batch_op.create_index(batch_op.f("ix_sales_invoice_header_row_version"), ["row_version"], unique=False)
        batch_op.create_index(batch_op.f("ix_sales_invoice_header_your_reference"), ["your_reference"], unique=False)

    op.create_table(
        "sales_shipment_header",
        sa.Column("no", sa.String(length=20), nullable=False),
        sa.Column("order_no", sa.String(length=20), nullable=False),
        sa.Column("sell_to_customer_no", sa.String(length=20), nullable=False),
        sa.Column("sell_to_customer_name", sa.String(length=100), nullable=False),
        sa.Column("bill_to_customer_no", sa.String(length=20), nullable=False),
        sa.Column("currency_code", sa.String(length=10), nullable=True),
        sa.Column("currency_factor", lead2cash.sqltypes.DecimalType(scale=8), nullable=False),
        sa.Column("salesperson_code", sa.String(length=20), nullable=True),
        sa.Column("payment_terms_code", sa.String(length=10), nullable=True),
        sa.Column("shipment_method_code", sa.String(length=10), nullable=True),
        sa.Column("shipping_agent_code", sa.String(length=10), nullable=True),
        sa.Column("external_document_no", sa.String(length=35), nullable=False),
        sa.Column("your_reference", sa.String(length=35), nullable=False),
        sa.Column("quote_no", sa.String(length=20), nullable=False),
        sa.Column("posting_date", sa.Date(), nullable=False),
        sa.Column("document_date", sa.Date(), nullable=True),
        sa.Column("shipment_date", sa.Date(), nullable=True),
        sa.Column("work_description", sa.String(length=2000), nullable=False),
        sa.Column("bill_to_name", sa.String(length=100), nullable=False),
        sa.Column("bill_to_address", sa.String(length=100), nullable=False),
        sa.Column("bill_to_address_2", sa.String(length=50), nullable=False),
        sa.Column("bill_to_post_code", sa.String(length=20), nullable=False),
        sa.Column("bill_to_city", sa.String(length=30), nullable=False),
        sa.Column("bill_to_county", sa.String(length=30), nullable=False),
        sa.Column("bill_to_country_region_code", sa.String(length=10), nullable=False),
        sa.Column("ship_to_name", sa.String(length=100), nullable=False),
        sa.Column("ship_to_address", sa.String(length=100), nullable=False),
        sa.Column("ship_to_address_2", sa.String(length=50), nullable=False),
        sa.Column("ship_to_post_code", sa.String(length=20), nullable=False),
        sa.Column("ship_to_city", sa.String(length=30), nullable=False),
        sa.Column("ship_to_county", sa.String(length=30), nullable=False),
        sa.Column("ship_to_country_region_code", sa.String(length=10), nullable=False),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("created_at", lead2cash.sqltypes.UTCDateTime(timezone=True), nullable=False),
        sa.Column("modified_at", lead2cash.sqltypes.UTCDateTime(timezone=True), nullable=False),
        sa.Column("row_version", sa.BigInteger(), nullable=False),
        sa.ForeignKeyConstraint(
            ["bill_to_customer_no"], ["customer.no"], name=op.f("fk_sales_shipment_header_bill_to_customer_no_customer")
        ),
        sa.ForeignKeyConstraint(
            ["currency_code"], ["currency.code"], name=op.f("fk_sales_shipment_header_currency_code_currency")
        ),
        sa.ForeignKeyConstraint(
            ["payment_terms_code"],
            ["payment_terms.code"],
            name=op.f("fk_sales_shipment_header_payment_terms_code_payment_terms"),
        ),
        sa.ForeignKeyConstraint(
            ["salesperson_code"],
            ["salesperson.code"],
            name=op.f("fk_sales_shipment_header_salesperson_code_salesperson"),
        ),
        sa.ForeignKeyConstraint(
            ["sell_to_customer_no"], ["customer.no"], name=op.f("fk_sales_shipment_header_sell_to_customer_no_customer")
        ),
        sa.ForeignKeyConstraint(
            ["shipment_method_code"],
            ["shipment_method.code"],
            name=op.f("fk_sales_shipment_header_shipment_method_code_shipment_method"),
        ),
        sa.ForeignKeyConstraint(
            ["shipping_agent_code"],
            ["shipping_agent.code"],
            name=op.f("fk_sales_shipment_header_shipping_agent_code_shipping_agent"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_sales_shipment_header")),
        sa.UniqueConstraint("no", name=op.f("uq_sales_shipment_header_no")),
    )
    with op.batch_alter_table("sales_shipment_header", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_sales_shipment_header_order_no"), ["order_no"], unique=False)
        batch_op.create_index(batch_op.f("ix_sales_shipment_header_row_version"), ["row_version"], unique=False)
        batch_op.create_index(batch_op.f("ix_sales_shipment_header_your_reference"), ["your_reference"], unique=False)

    op.create_table(
        "detailed_cust_ledg_entry",
        sa.Column("entry_no", sa.BigInteger(), nullable=False),
        sa.Column("cust_ledger_entry_id", sa.Uuid(), nullable=False),
        sa.Column("cust_ledger_entry_no", sa.BigInteger(), nullable=False),
        sa.Column(
            "entry_type",
            sa.Enum("Initial Entry", "Application", name="detailedentrytype", native_enum=False, length=32),
            nullable=False,
        ),
        sa.Column("customer_no", sa.String(length=20), nullable=False),
        sa.Column("posting_date", sa.Date(), nullable=False),
        sa.Column(
            "document_type",
            sa.Enum(
                " ", "Sales Shipment", "Invoice", "Payment", name="ledgerdocumenttype", native_enum=False, length=32
            ),
            nullable=False,
        ),
        sa.Column("document_no", sa.String(length=20), nullable=False),
        sa.Column("currency_code", sa.String(length=10), nullable=True),
        sa.Column("amount", lead2cash.sqltypes.DecimalType(), nullable=False),
        sa.Column("amount_lcy", lead2cash.sqltypes.DecimalType(), nullable=False),
        sa.Column("applied_cust_ledger_entry_no", sa.BigInteger(), nullable=True),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("created_at", lead2cash.sqltypes.UTCDateTime(timezone=True), nullable=False),
        sa.Column("modified_at", lead2cash.sqltypes.UTCDateTime(timezone=True), nullable=False),
        sa.Column("row_version", sa.BigInteger(), nullable=False),
        sa.ForeignKeyConstraint(
            ["currency_code"], ["currency.code"], name=op.f("fk_detailed_cust_ledg_entry_currency_code_currency")
        ),
        sa.ForeignKeyConstraint(
            ["cust_ledger_entry_id"],
            ["cust_ledger_entry.id"],
            name=op.f("fk_detailed_cust_ledg_entry_cust_ledger_entry_id_cust_ledger_entry"),
        ),
        sa.ForeignKeyConstraint(
            ["customer_no"], ["customer.no"], name=op.f("fk_detailed_cust_ledg_entry_customer_no_customer")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_detailed_cust_ledg_entry")),
        sa.UniqueConstraint("entry_no", name=op.f("uq_detailed_cust_ledg_entry_entry_no")),
    )
    with op.batch_alter_table("detailed_cust_ledg_entry", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_detailed_cust_ledg_entry_cust_ledger_entry_id"), ["cust_ledger_entry_id"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_detailed_cust_ledg_entry_customer_no"), ["customer_no"], unique=False)
        batch_op.create_index(batch_op.f("ix_detailed_cust_ledg_entry_row_version"), ["row_version"], unique=False)

    op.create_table(
        "sales_invoice_line",
        sa.Column("document_no", sa.String(length=20), nullable=False),
        sa.Column("line_no", sa.Integer(), nullable=False),
        sa.Column("order_line_no", sa.Integer(), nullable=False),
        sa.Column(
            "type",
            sa.Enum(" ", "G/L Account", "Item", "Resource", name="saleslinetype", native_enum=False, length=32),
            nullable=False,
        ),
        sa.Column("no", sa.String(length=20), nullable=False),
        sa.Column("description", sa.String(length=100), nullable=False),
        sa.Column("unit_of_measure_code", sa.String(length=10), nullable=True),
        sa.Column("quantity", lead2cash.sqltypes.DecimalType(), nullable=False),
        sa.Column("unit_price", lead2cash.sqltypes.DecimalType(), nullable=False),
        sa.Column("line_discount_pct", lead2cash.sqltypes.DecimalType(), nullable=False),
        sa.Column("line_discount_amount", lead2cash.sqltypes.DecimalType(), nullable=False),
        sa.Column("inv_discount_amount", lead2cash.sqltypes.DecimalType(), nullable=False),
        sa.Column("vat_pct", lead2cash.sqltypes.DecimalType(), nullable=False),
        sa.Column("line_amount", lead2cash.sqltypes.DecimalType(), nullable=False),
        sa.Column("amount", lead2cash.sqltypes.DecimalType(), nullable=False),
        sa.Column("amount_including_vat", lead2cash.sqltypes.DecimalType(), nullable=False),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("created_at", lead2cash.sqltypes.UTCDateTime(timezone=True), nullable=False),
        sa.Column("modified_at", lead2cash.sqltypes.UTCDateTime(timezone=True), nullable=False),
        sa.Column("row_version", sa.BigInteger(), nullable=False),
        sa.ForeignKeyConstraint(
            ["document_no"],
            ["sales_invoice_header.no"],
            name=op.f("fk_sales_invoice_line_document_no_sales_invoice_header"),
        ),
        sa.ForeignKeyConstraint(
            ["unit_of_measure_code"],
            ["unit_of_measure.code"],
            name=op.f("fk_sales_invoice_line_unit_of_measure_code_unit_of_measure"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_sales_invoice_line")),
        sa.UniqueConstraint("document_no", "line_no", name=op.f("uq_sales_invoice_line_document_no")),
    )
    with op.batch_alter_table("sales_invoice_line", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_sales_invoice_line_row_version"), ["row_version"], unique=False)

    op.create_table(
        "sales_shipment_line",
        sa.Column("document_no", sa.String(length=20), nullable=False),
        sa.Column("line_no", sa.Integer(), nullable=False),
        sa.Column("order_line_no", sa.Integer(), nullable=False),
        sa.Column(
            "type",
            sa.Enum(" ", "G/L Account", "Item", "Resource", name="saleslinetype", native_enum=False, length=32),
            nullable=False,
        ),
        sa.Column("no", sa.String(length=20), nullable=False),
        sa.Column("description", sa.String(length=100), nullable=False),
        sa.Column("unit_of_measure_code", sa.String(length=10), nullable=True),
        sa.Column("quantity", lead2cash.sqltypes.DecimalType(), nullable=False),
        sa.Column("item_ledger_entry_no", sa.BigInteger(), nullable=True),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("created_at", lead2cash.sqltypes.UTCDateTime(timezone=True), nullable=False),
        sa.Column("modified_at", lead2cash.sqltypes.UTCDateTime(timezone=True), nullable=False),
        sa.Column("row_version", sa.BigInteger(), nullable=False),
        sa.ForeignKeyConstraint(
            ["document_no"],
            ["sales_shipment_header.no"],
            name=op.f("fk_sales_shipment_line_document_no_sales_shipment_header"),
        ),
        sa.ForeignKeyConstraint(
            ["unit_of_measure_code"],
            ["unit_of_measure.code"],
            name=op.f("fk_sales_shipment_line_unit_of_measure_code_unit_of_measure"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_sales_shipment_line")),
        sa.UniqueConstraint("document_no", "line_no", name=op.f("uq_sales_shipment_line_document_no")),
    )
    with op.batch_alter_table("sales_shipment_line", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_sales_shipment_line_row_version"), ["row_version"], unique=False)

    op.create_table(
        "sales_header",
        sa.Column(
            "document_type",
            sa.Enum("Quote", "Order", name="salesdocumenttype", native_enum=False, length=32),
            nullable=False,
        ),
        sa.Column("no", sa.String(length=20), nullable=False),
        sa.Column(
            "status",
            sa.Enum("Open", "Released", "Pending Prepayment", name="salesdocumentstatus", native_enum=False, length=32),
            nullable=False,
        ),
        sa.Column("sell_to_customer_no", sa.String(length=20), nullable=False),
        sa.Column("sell_to_customer_name", sa.String(length=100), nullable=False),
        sa.Column("bill_to_customer_no", sa.String(length=20), nullable=False),
        sa.Column("currency_code", sa.String(length=10), nullable=True),
        sa.Column("currency_factor", lead2cash.sqltypes.DecimalType(scale=8), nullable=False),
        sa.Column("salesperson_code", sa.String(length=20), nullable=True),
        sa.Column("payment_terms_code", sa.String(length=10), nullable=True),
        sa.Column("shipment_method_code", sa.String(length=10), nullable=True),
        sa.Column("shipping_agent_code", sa.String(length=10), nullable=True),
        sa.Column("customer_price_group", sa.String(length=10), nullable=True),
        sa.Column("opportunity_no", sa.String(length=20), nullable=True),
        sa.Column("external_document_no", sa.String(length=35), nullable=False),
        sa.Column("your_reference", sa.String(length=35), nullable=False),
        sa.Column("quote_no", sa.String(length=20), nullable=False),
        sa.Column("order_date", sa.Date(), nullable=True),
        sa.Column("document_date", sa.Date(), nullable=True),
        sa.Column("posting_date", sa.Date(), nullable=True),
        sa.Column("shipment_date", sa.Date(), nullable=True),
        sa.Column("due_date", sa.Date(), nullable=True),
        sa.Column("quote_valid_until_date", sa.Date(), nullable=True),
        sa.Column("requested_delivery_date", sa.Date(), nullable=True),
        sa.Column("last_shipment_date", sa.Date(), nullable=True),
        sa.Column("prepayment_pct", lead2cash.sqltypes.DecimalType(), nullable=False),
        sa.Column("payment_discount_pct", lead2cash.sqltypes.DecimalType(), nullable=False),
        sa.Column("invoice_discount_amount", lead2cash.sqltypes.DecimalType(), nullable=False),
        sa.Column("work_description", sa.Text(), nullable=False),
        sa.Column("amount", lead2cash.sqltypes.DecimalType(), nullable=False),
        sa.Column("amount_including_vat", lead2cash.sqltypes.DecimalType(), nullable=False),
        sa.Column("completely_shipped", sa.Boolean(), nullable=False),
        sa.Column("doc_no_occurrence", sa.Integer(), nullable=False),
        sa.Column("no_of_archived_versions", sa.Integer(), nullable=False),
        sa.Column("last_shipping_no", sa.String(length=20), nullable=False),
        sa.Column("last_posting_no", sa.String(length=20), nullable=False),
        sa.Column("last_prepayment_no", sa.String(length=20), nullable=False),
        sa.Column("bill_to_name", sa.String(length=100), nullable=False),
        sa.Column("bill_to_address", sa.String(length=100), nullable=False),
        sa.Column("bill_to_address_2", sa.String(length=50), nullable=False),
        sa.Column("bill_to_post_code", sa.String(length=20), nullable=False),
        sa.Column("bill_to_city", sa.String(length=30), nullable=False),
        sa.Column("bill_to_county", sa.String(length=30), nullable=False),
        sa.Column("bill_to_country_region_code", sa.String(length=10), nullable=False),
        sa.Column("ship_to_name", sa.String(length=100), nullable=False),
        sa.Column("ship_to_address", sa.String(length=100), nullable=False),
        sa.Column("ship_to_address_2", sa.String(length=50), nullable=False),
        sa.Column("ship_to_post_code", sa.String(length=20), nullable=False),
        sa.Column("ship_to_city", sa.String(length=30), nullable=False),
        sa.Column("ship_to_county", sa.String(length=30), nullable=False),
        sa.Column("ship_to_country_region_code", sa.String(length=10), nullable=False),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("created_at", lead2cash.sqltypes.UTCDateTime(timezone=True), nullable=False),
        sa.Column("modified_at", lead2cash.sqltypes.UTCDateTime(timezone=True), nullable=False),
        sa.Column("row_version", sa.BigInteger(), nullable=False),
        sa.ForeignKeyConstraint(
            ["bill_to_customer_no"], ["customer.no"], name=op.f("fk_sales_header_bill_to_customer_no_customer")
        ),
        sa.ForeignKeyConstraint(
            ["currency_code"], ["currency.code"], name=op.f("fk_sales_header_currency_code_currency")
        ),
        sa.ForeignKeyConstraint(
            ["customer_price_group"],
            ["customer_price_group.code"],
            name=op.f("fk_sales_header_customer_price_group_customer_price_group"),
        ),
        sa.ForeignKeyConstraint(
            ["opportunity_no"], ["opportunity.no"], name=op.f("fk_sales_header_opportunity_no_opportunity")
        ),
        sa.ForeignKeyConstraint(
            ["payment_terms_code"],
            ["payment_terms.code"],
            name=op.f("fk_sales_header_payment_terms_code_payment_terms"),
        ),
        sa.ForeignKeyConstraint(
            ["salesperson_code"], ["salesperson.code"], name=op.f("fk_sales_header_salesperson_code_salesperson")
        ),
        sa.ForeignKeyConstraint(
            ["sell_to_customer_no"], ["customer.no"], name=op.f("fk_sales_header_sell_to_customer_no_customer")
        ),
        sa.ForeignKeyConstraint(
            ["shipment_method_code"],
            ["shipment_method.code"],
            name=op.f("fk_sales_header_shipment_method_code_shipment_method"),
        ),
        sa.ForeignKeyConstraint(
            ["shipping_agent_code"],
            ["shipping_agent.code"],
            name=op.f("fk_sales_header_shipping_agent_code_shipping_agent"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_sales_header")),
        sa.UniqueConstraint("document_type", "no", name=op.f("uq_sales_header_document_type")),
    )
    with op.batch_alter_table("sales_header", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_sales_header_no"), ["no"], unique=False)
        batch_op.create_index(batch_op.f("ix_sales_header_row_version"), ["row_version"], unique=False)
        batch_op.create_index(batch_op.f("ix_sales_header_your_reference"), ["your_reference"], unique=False)

    op.create_table(
        "sales_line",
        sa.Column("header_id", sa.Uuid(), nullable=False),
        sa.Column(
            "document_type",
            sa.Enum("Quote", "Order", name="salesdocumenttype", native_enum=False, length=32),
            nullable=False,
        ),
        sa.Column("document_no", sa.String(length=20), nullable=False),
        sa.Column("line_no", sa.Integer(), nullable=False),
        sa.Column(
            "type",
            sa.Enum(" ", "G/L Account", "Item", "Resource", name="saleslinetype", native_enum=False, length=32),
            nullable=False,
        ),
        sa.Column("no", sa.String(length=20), nullable=False),
        sa.Column("description", sa.String(length=100), nullable=False),
        sa.Column("description_2", sa.String(length=50), nullable=False),
        sa.Column("attached_to_line_no", sa.Integer(), nullable=False),
        sa.Column("unit_of_measure_code", sa.String(length=10), nullable=True),
        sa.Column("quantity", lead2cash.sqltypes.DecimalType(), nullable=False),
        sa.Column("unit_price", lead2cash.sqltypes.DecimalType(), nullable=False),
        sa.Column("price_overridden", sa.Boolean(), nullable=False),
        sa.Column("line_discount_pct", lead2cash.sqltypes.DecimalType(), nullable=False),
        sa.Column("line_discount_amount", lead2cash.sqltypes.DecimalType(), nullable=False),
        sa.Column("inv_discount_amount", lead2cash.sqltypes.DecimalType(), nullable=False),
        sa.Column("vat_pct", lead2cash.sqltypes.DecimalType(), nullable=False),
        sa.Column("line_amount", lead2cash.sqltypes.DecimalType(), nullable=False),
        sa.Column("amount", lead2cash.sqltypes.DecimalType(), nullable=False),
        sa.Column("amount_including_vat", lead2cash.sqltypes.DecimalType(), nullable=False),
        sa.Column("unit_cost", lead2cash.sqltypes.DecimalType(), nullable=False),
        sa.Column("shipment_date", sa.Date(), nullable=True),
        sa.Column("quantity_shipped", lead2cash.sqltypes.DecimalType(), nullable=False),
        sa.Column("quantity_invoiced", lead2cash.sqltypes.DecimalType(), nullable=False),
        sa.Column("qty_to_ship", lead2cash.sqltypes.DecimalType(), nullable=False),
        sa.Column("qty_to_invoice", lead2cash.sqltypes.DecimalType(), nullable=False),
        sa.Column("outstanding_quantity", lead2cash.sqltypes.DecimalType(), nullable=False),
        sa.Column("qty_shipped_not_invoiced", lead2cash.sqltypes.DecimalType(), nullable=False),
        sa.Column("prepayment_pct", lead2cash.sqltypes.DecimalType(), nullable=False),
        sa.Column("prepmt_line_amount", lead2cash.sqltypes.DecimalType(), nullable=False),
        sa.Column("prepmt_amt_inv", lead2cash.sqltypes.DecimalType(), nullable=False),
        sa.Column("prepmt_amount_inv_incl_vat", lead2cash.sqltypes.DecimalType(), nullable=False),
        sa.Column("prepmt_amt_deducted", lead2cash.sqltypes.DecimalType(), nullable=False),
        sa.Column("prepmt_amount_deducted_incl_vat", lead2cash.sqltypes.DecimalType(), nullable=False),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("created_at", lead2cash.sqltypes.UTCDateTime(timezone=True), nullable=False),
        sa.Column("modified_at", lead2cash.sqltypes.UTCDateTime(timezone=True), nullable=False),
        sa.Column("row_version", sa.BigInteger(), nullable=False),
        sa.ForeignKeyConstraint(
            ["header_id"], ["sales_header.id"], name=op.f("fk_sales_line_header_id_sales_header"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["unit_of_measure_code"],
            ["unit_of_measure.code"],
            name=op.f("fk_sales_line_unit_of_measure_code_unit_of_measure"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_sales_line")),
        sa.UniqueConstraint("header_id", "line_no", name=op.f("uq_sales_line_header_id")),
    )
    with op.batch_alter_table("sales_line", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_sales_line_header_id"), ["header_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_sales_line_no"), ["no"], unique=False)
        batch_op.create_index(batch_op.f("ix_sales_line_row_version"), ["row_version"], unique=False)

    with op.batch_alter_table("item", schema=None) as batch_op:
        batch_op.add_column(sa.Column("vat_pct", lead2cash.sqltypes.DecimalType(), nullable=False, server_default="0"))

    with op.batch_alter_table("resource", schema=None) as batch_op:
        batch_op.add_column(sa.Column("vat_pct", lead2cash.sqltypes.DecimalType(), nullable=False, server_default="0"))

    with op.batch_alter_table("sales_setup", schema=None) as batch_op:
        batch_op.add_column(sa.Column("quote_nos", sa.String(length=20), nullable=False, server_default=""))
        batch_op.add_column(sa.Column("order_nos", sa.String(length=20), nullable=False, server_default=""))
        batch_op.add_column(sa.Column("posted_shipment_nos", sa.String(length=20), nullable=False, server_default=""))
        batch_op.add_column(sa.Column("posted_invoice_nos", sa.String(length=20), nullable=False, server_default=""))
        batch_op.add_column(sa.Column("posted_prepmt_inv_nos", sa.String(length=20), nullable=False, server_default=""))
        batch_op.add_column(sa.Column("payment_nos", sa.String(length=20), nullable=False, server_default=""))

    op.bulk_insert(
        sa.table("entry_no_counter", sa.column("table_name", sa.String), sa.column("last_entry_no", sa.BigInteger)),
        [
            {"table_name": name, "last_entry_no": 0}
            for name in ("item_ledger_entry", "cust_ledger_entry", "detailed_cust_ledg_entry")
        ],
    )


def downgrade() -> None:
    with op.batch_alter_table("sales_setup", schema=None) as batch_op:
        batch_op.drop_column("payment_nos")
        batch_op.drop_column("posted_prepmt_inv_nos")
        batch_op.drop_column("posted_invoice_nos")
        batch_op.drop_column("posted_shipment_nos")
        batch_op.drop_column("order_nos")
        batch_op.drop_column("quote_nos")

    with op.batch_alter_table("resource", schema=None) as batch_op:
        batch_op.drop_column("vat_pct")

    with op.batch_alter_table("item", schema=None) as batch_op:
        batch_op.drop_column("vat_pct")

    with op.batch_alter_table("sales_line", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_sales_line_row_version"))
        batch_op.drop_index(batch_op.f("ix_sales_line_no"))
        batch_op.drop_index(batch_op.f("ix_sales_line_header_id"))

    op.drop_table("sales_line")
    with op.batch_alter_table("sales_header", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_sales_header_your_reference"))
        batch_op.drop_index(batch_op.f("ix_sales_header_row_version"))
        batch_op.drop_index(batch_op.f("ix_sales_header_no"))

    op.drop_table("sales_header")
    with op.batch_alter_table("sales_shipment_line", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_sales_shipment_line_row_version"))

    op.drop_table("sales_shipment_line")
    with op.batch_alter_table("sales_invoice_line", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_sales_invoice_line_row_version"))

    op.drop_table("sales_invoice_line")
    with op.batch_alter_table("detailed_cust_ledg_entry", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_detailed_cust_ledg_entry_row_version"))
        batch_op.drop_index(batch_op.f("ix_detailed_cust_ledg_entry_customer_no"))
        batch_op.drop_index(batch_op.f("ix_detailed_cust_ledg_entry_cust_ledger_entry_id"))

    op.drop_table("detailed_cust_ledg_entry")
    with op.batch_alter_table("sales_shipment_header", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_sales_shipment_header_your_reference"))
        batch_op.drop_index(batch_op.f("ix_sales_shipment_header_row_version"))
        batch_op.drop_index(batch_op.f("ix_sales_shipment_header_order_no"))

    op.drop_table("sales_shipment_header")
    with op.batch_alter_table("sales_invoice_header", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_sales_invoice_header_your_reference"))
        batch_op.drop_index(batch_op.f("ix_sales_invoice_header_row_version"))
        batch_op.drop_index(batch_op.f("ix_sales_invoice_header_order_no"))

    op.drop_table("sales_invoice_header")
    with op.batch_alter_table("item_ledger_entry", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_item_ledger_entry_row_version"))
        batch_op.drop_index(batch_op.f("ix_item_ledger_entry_item_no"))

    op.drop_table("item_ledger_entry")
    with op.batch_alter_table("cust_ledger_entry", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_cust_ledger_entry_row_version"))
        batch_op.drop_index(batch_op.f("ix_cust_ledger_entry_order_no"))
        batch_op.drop_index(batch_op.f("ix_cust_ledger_entry_document_no"))
        batch_op.drop_index(batch_op.f("ix_cust_ledger_entry_customer_no"))

    op.drop_table("cust_ledger_entry")
    with op.batch_alter_table("sales_header_archive", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_sales_header_archive_row_version"))
        batch_op.drop_index(batch_op.f("ix_sales_header_archive_no"))

    op.drop_table("sales_header_archive")
    op.drop_table("entry_no_counter")
