"""Sales quotes and orders (Business Central 'Sales Header' / 'Sales Line') and their archived versions.

Quotes and orders share one header and one line table, told apart by ``document_type``, because they carry
the same fields and a quote turns into an order by copying. Amounts on the lines are stored (not computed on
read) so the integration can read ``amount`` / ``amount_including_vat`` and the header totals directly and
select changed documents by ``row_version``. Quantities posted so far (shipped, invoiced, prepayment
invoiced) live on the lines; the ledgers in ``ledger.py`` hold what was posted.
"""

from __future__ import annotations

import uuid
from datetime import date, datetime
from decimal import Decimal
from enum import StrEnum

from sqlalchemy import JSON, Date, ForeignKey, Integer, String, Text, UniqueConstraint, Uuid
from sqlalchemy.orm import Mapped, mapped_column, relationship

from lead2cash.erp.model.base import Base, Versioned
from lead2cash.erp.model.columns import RATE, code_ref, flag, option, text
from lead2cash.erp.model.columns import amount as money
from lead2cash.sqltypes import UTCDateTime


class SalesDocumentType(StrEnum):
    QUOTE = "Quote"
    ORDER = "Order"


class SalesDocumentStatus(StrEnum):
    OPEN = "Open"
    RELEASED = "Released"
    PENDING_PREPAYMENT = "Pending Prepayment"


class SalesLineType(StrEnum):
    COMMENT = " "
    GL_ACCOUNT = "G/L Account"
    ITEM = "Item"
    RESOURCE = "Resource"


class AddressBlock:
    """Bill-to and ship-to addresses as Business Central names them."""

    bill_to_name: Mapped[str] = text(100)
    bill_to_address: Mapped[str] = text(100)
    bill_to_address_2: Mapped[str] = text(50)
    bill_to_post_code: Mapped[str] = text(20)
    bill_to_city: Mapped[str] = text(30)
    bill_to_county: Mapped[str] = text(30)
    bill_to_country_region_code: Mapped[str] = text(10)
    ship_to_name: Mapped[str] = text(100)
    ship_to_address: Mapped[str] = text(100)
    ship_to_address_2: Mapped[str] = text(50)
    ship_to_post_code: Mapped[str] = text(20)
    ship_to_city: Mapped[str] = text(30)
    ship_to_county: Mapped[str] = text(30)
    ship_to_country_region_code: Mapped[str] = text(10)


class SalesHeader(AddressBlock, Versioned, Base):
    __tablename__ = "sales_header"
    __label__ = "Sales document"
    __key__ = "no"
    __table_args__ = (UniqueConstraint("document_type", "no"),)

    document_type: Mapped[SalesDocumentType] = option(SalesDocumentType, SalesDocumentType.ORDER)
    no: Mapped[str] = mapped_column(String(20), nullable=False, index=True)
    status: Mapped[SalesDocumentStatus] = option(SalesDocumentStatus, SalesDocumentStatus.OPEN)
    sell_to_customer_no: Mapped[str] = mapped_column(String(20), ForeignKey("customer.no"), nullable=False)
    sell_to_customer_name: Mapped[str] = text(100)
    bill_to_customer_no: Mapped[str] = mapped_column(String(20), ForeignKey("customer.no"), nullable=False)
    currency_code: Mapped[str | None] = code_ref("currency.code", 10)
    #: units of document currency per unit of local currency (1 for local currency)
    currency_factor: Mapped[Decimal] = mapped_column(RATE, nullable=False, default=Decimal(1))
    salesperson_code: Mapped[str | None] = code_ref("salesperson.code")
    payment_terms_code: Mapped[str | None] = code_ref("payment_terms.code", 10)
    shipment_method_code: Mapped[str | None] = code_ref("shipment_method.code", 10)
    shipping_agent_code: Mapped[str | None] = code_ref("shipping_agent.code", 10)
    customer_price_group: Mapped[str | None] = code_ref("customer_price_group.code", 10)
    opportunity_no: Mapped[str | None] = code_ref("opportunity.no")
    external_document_no: Mapped[str] = text(35)
    your_reference: Mapped[str] = text(35, index=True)
    quote_no: Mapped[str] = text(20)
    order_date: Mapped[date | None] = mapped_column(Date)
    document_date: Mapped[date | None] = mapped_column(Date)
    posting_date: Mapped[date | None] = mapped_column(Date)
    shipment_date: Mapped[date | None] = mapped_column(Date)
    due_date: Mapped[date | None] = mapped_column(Date)
    quote_valid_until_date: Mapped[date | None] = mapped_column(Date)
    requested_delivery_date: Mapped[date | None] = mapped_column(Date)
    last_shipment_date: Mapped[date | None] = mapped_column(Date)
    prepayment_pct: Mapped[Decimal] = money()
    payment_discount_pct: Mapped[Decimal] = money()
    invoice_discount_amount: Mapped[Decimal] = money()
    work_description: Mapped[str] = mapped_column(Text, nullable=False, default="")
    #: totals of the lines, kept current by the document service
    amount: Mapped[Decimal] = money()
    amount_including_vat: Mapped[Decimal] = money()
    completely_shipped: Mapped[bool] = flag()
    #: how many times a document with this no. existed (Business Central 'Doc. No. Occurrence')
    doc_no_occurrence: Mapped[int] = mapped_column(Integer, nullable=False, default=1)
    no_of_archived_versions: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    last_shipping_no: Mapped[str] = text(20)
    last_posting_no: Mapped[str] = text(20)
    last_prepayment_no: Mapped[str] = text(20)

    lines: Mapped[list[SalesLine]] = relationship(
        back_populates="header",
        order_by="SalesLine.line_no",
        cascade="all, delete-orphan",
        passive_deletes=True,
    )

    @property
    def key_value(self) -> str:
        return f"{self.document_type} {self.no}"

    @classmethod
    def label(cls) -> str:
        return "Sales document"


class SalesLine(Versioned, Base):
    __tablename__ = "sales_line"
    __label__ = "Sales line"
    __key__ = "line_no"
    __table_args__ = (UniqueConstraint("header_id", "line_no"),)

    header_id: Mapped[uuid.UUID] = mapped_column(
        Uuid, ForeignKey("sales_header.id", ondelete="CASCADE"), nullable=False, index=True
    )
    document_type: Mapped[SalesDocumentType] = option(SalesDocumentType, SalesDocumentType.ORDER)
    document_no: Mapped[str] = mapped_column(String(20), nullable=False)
    line_no: Mapped[int] = mapped_column(Integer, nullable=False)
    type: Mapped[SalesLineType] = option(SalesLineType, SalesLineType.ITEM)
    no: Mapped[str] = text(20, index=True)
    description: Mapped[str] = text(100)
    description_2: Mapped[str] = text(50)
    attached_to_line_no: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    unit_of_measure_code: Mapped[str | None] = code_ref("unit_of_measure.code", 10)
    quantity: Mapped[Decimal] = money()
    unit_price: Mapped[Decimal] = money()
    #: True when the unit price was typed in rather than found in the sales prices
    price_overridden: Mapped[bool] = flag()
    line_discount_pct: Mapped[Decimal] = money()
    line_discount_amount: Mapped[Decimal] = money()
    inv_discount_amount: Mapped[Decimal] = money()
    vat_pct: Mapped[Decimal] = money()
    #: quantity x unit price - line discount
    line_amount: Mapped[Decimal] = money()
    #: line amount - invoice discount, excluding VAT
    amount: Mapped[Decimal] = money()
    amount_including_vat: Mapped[Decimal] = money()
    unit_cost: Mapped[Decimal] = money()
    shipment_date: Mapped[date | None] = mapped_column(Date)
    quantity_shipped: Mapped[Decimal] = money()
    quantity_invoiced: Mapped[Decimal] = money()
    qty_to_ship: Mapped[Decimal] = money()
    qty_to_invoice: Mapped[Decimal] = money()
    outstanding_quantity: Mapped[Decimal] = money()
    qty_shipped_not_invoiced: Mapped[Decimal] = money()
    prepayment_pct: Mapped[Decimal] = money()
    prepmt_line_amount: Mapped[Decimal] = money()
    prepmt_amt_inv: Mapped[Decimal] = money()
    prepmt_amount_inv_incl_vat: Mapped[Decimal] = money()
    prepmt_amt_deducted: Mapped[Decimal] = money()
    prepmt_amount_deducted_incl_vat: Mapped[Decimal] = money()

    header: Mapped[SalesHeader] = relationship(back_populates="lines")

    @property
    def key_value(self) -> str:
        return f"{self.document_type} {self.document_no} line {self.line_no}"


class SalesHeaderArchive(Versioned, Base):
    """One archived version of a quote or order: the header and its lines as they were, as JSON snapshots.

    ``version_no`` counts per (document type, no., occurrence), as in Business Central; the snapshot keeps
    every field so a reader (the archived-orders sync) can compare lines by line no.
    """

    __tablename__ = "sales_header_archive"
    __label__ = "Archived sales document"
    __key__ = "no"
    __table_args__ = (UniqueConstraint("document_type", "no", "doc_no_occurrence", "version_no"),)

    document_type: Mapped[SalesDocumentType] = option(SalesDocumentType, SalesDocumentType.ORDER)
    no: Mapped[str] = mapped_column(String(20), nullable=False, index=True)
    doc_no_occurrence: Mapped[int] = mapped_column(Integer, nullable=False, default=1)
    version_no: Mapped[int] = mapped_column(Integer, nullable=False)
    reason: Mapped[str] = text(30)
    archived_at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False)
    archived_by: Mapped[str] = text(50)
    sell_to_customer_no: Mapped[str] = text(20)
    your_reference: Mapped[str] = text(35)
    status: Mapped[str] = text(32)
    amount: Mapped[Decimal] = money()
    amount_including_vat: Mapped[Decimal] = money()
    shipment_date: Mapped[date | None] = mapped_column(Date)
    last_shipment_date: Mapped[date | None] = mapped_column(Date)
    header: Mapped[dict] = mapped_column(JSON, nullable=False)
    lines: Mapped[list] = mapped_column(JSON, nullable=False)

    @property
    def key_value(self) -> str:
        return f"{self.document_type} {self.no} version {self.version_no}"
