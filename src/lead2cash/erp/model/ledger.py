"""What posting leaves behind: posted shipments and invoices, item and customer ledger entries.

Posted documents and ledger entries are never edited by users; the only field that changes after posting
is the remaining amount of a customer ledger entry, which moves when payments are applied. Every change to
it is also written as a detailed customer ledger entry, so the remaining amount is always the sum of its
detailed entries and a reader can follow payments incrementally by ``entry_no``. Ledger entries carry a
Business Central style ``entry_no`` (1, 2, 3 … per ledger) from ``EntryNoCounter``, next to the SystemId.
"""

from __future__ import annotations

import uuid
from datetime import date
from decimal import Decimal
from enum import StrEnum

from sqlalchemy import BigInteger, Date, ForeignKey, Integer, String, UniqueConstraint, Uuid
from sqlalchemy.orm import Mapped, mapped_column

from lead2cash.erp.model.base import Base, Versioned
from lead2cash.erp.model.columns import RATE, code_ref, flag, option, text
from lead2cash.erp.model.columns import amount as money
from lead2cash.erp.model.documents import AddressBlock, SalesLineType


class ItemLedgerEntryType(StrEnum):
    PURCHASE = "Purchase"
    SALE = "Sale"
    POSITIVE_ADJMT = "Positive Adjmt."
    NEGATIVE_ADJMT = "Negative Adjmt."


class LedgerDocumentType(StrEnum):
    NONE = " "
    SHIPMENT = "Sales Shipment"
    INVOICE = "Invoice"
    PAYMENT = "Payment"


class DetailedEntryType(StrEnum):
    INITIAL_ENTRY = "Initial Entry"
    APPLICATION = "Application"


class EntryNoCounter(Base):
    """The last entry no. handed out per ledger table (reserved in blocks by ``services.ledgers``)."""

    __tablename__ = "entry_no_counter"
    table_name: Mapped[str] = mapped_column(String(64), primary_key=True)
    last_entry_no: Mapped[int] = mapped_column(BigInteger, nullable=False, default=0)


def _entry_no():
    return mapped_column(BigInteger, nullable=False, unique=True)


class _PostedHeader(AddressBlock, Versioned):
    __key__ = "no"
    no: Mapped[str] = mapped_column(String(20), nullable=False, unique=True)
    order_no: Mapped[str] = text(20, index=True)
    sell_to_customer_no: Mapped[str] = mapped_column(String(20), ForeignKey("customer.no"), nullable=False)
    sell_to_customer_name: Mapped[str] = text(100)
    bill_to_customer_no: Mapped[str] = mapped_column(String(20), ForeignKey("customer.no"), nullable=False)
    currency_code: Mapped[str | None] = code_ref("currency.code", 10)
    currency_factor: Mapped[Decimal] = mapped_column(RATE, nullable=False, default=Decimal(1))
    salesperson_code: Mapped[str | None] = code_ref("salesperson.code")
    payment_terms_code: Mapped[str | None] = code_ref("payment_terms.code", 10)
    shipment_method_code: Mapped[str | None] = code_ref("shipment_method.code", 10)
    shipping_agent_code: Mapped[str | None] = code_ref("shipping_agent.code", 10)
    external_document_no: Mapped[str] = text(35)
    your_reference: Mapped[str] = text(35, index=True)
    quote_no: Mapped[str] = text(20)
    posting_date: Mapped[date] = mapped_column(Date, nullable=False)
    document_date: Mapped[date | None] = mapped_column(Date)
    shipment_date: Mapped[date | None] = mapped_column(Date)
    work_description: Mapped[str] = text(2000)


class SalesShipmentHeader(_PostedHeader, Base):
    __tablename__ = "sales_shipment_header"
    __label__ = "Posted sales shipment"


class SalesShipmentLine(Versioned, Base):
    __tablename__ = "sales_shipment_line"
    __label__ = "Posted sales shipment line"
    __key__ = "line_no"
    __table_args__ = (UniqueConstraint("document_no", "line_no"),)
    document_no: Mapped[str] = mapped_column(String(20), ForeignKey("sales_shipment_header.no"), nullable=False)
    line_no: Mapped[int] = mapped_column(Integer, nullable=False)
    order_line_no: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    type: Mapped[SalesLineType] = option(SalesLineType, SalesLineType.ITEM)
    no: Mapped[str] = text(20)
    description: Mapped[str] = text(100)
    unit_of_measure_code: Mapped[str | None] = code_ref("unit_of_measure.code", 10)
    quantity: Mapped[Decimal] = money()
    item_ledger_entry_no: Mapped[int | None] = mapped_column(BigInteger)

    @property
    def key_value(self) -> str:
        return f"{self.document_no} line {self.line_no}"


class SalesInvoiceHeader(_PostedHeader, Base):
    __tablename__ = "sales_invoice_header"
    __label__ = "Posted sales invoice"
    due_date: Mapped[date | None] = mapped_column(Date)
    prepayment_invoice: Mapped[bool] = flag()
    prepayment_order_no: Mapped[str] = text(20)
    invoice_discount_amount: Mapped[Decimal] = money()
    amount: Mapped[Decimal] = money()
    amount_including_vat: Mapped[Decimal] = money()
    #: prepayments already invoiced that this invoice deducts (included in the amounts above, as negative lines)
    prepayment_deducted_incl_vat: Mapped[Decimal] = money()
    cust_ledger_entry_no: Mapped[int | None] = mapped_column(BigInteger)


class SalesInvoiceLine(Versioned, Base):
    __tablename__ = "sales_invoice_line"
    __label__ = "Posted sales invoice line"
    __key__ = "line_no"
    __table_args__ = (UniqueConstraint("document_no", "line_no"),)
    document_no: Mapped[str] = mapped_column(String(20), ForeignKey("sales_invoice_header.no"), nullable=False)
    line_no: Mapped[int] = mapped_column(Integer, nullable=False)
    order_line_no: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    type: Mapped[SalesLineType] = option(SalesLineType, SalesLineType.ITEM)
    no: Mapped[str] = text(20)
    description: Mapped[str] = text(100)
    unit_of_measure_code: Mapped[str | None] = code_ref("unit_of_measure.code", 10)
    quantity: Mapped[Decimal] = money()
    unit_price: Mapped[Decimal] = money()
    line_discount_pct: Mapped[Decimal] = money()
    line_discount_amount: Mapped[Decimal] = money()
    inv_discount_amount: Mapped[Decimal] = money()
    vat_pct: Mapped[Decimal] = money()
    line_amount: Mapped[Decimal] = money()
    amount: Mapped[Decimal] = money()
    amount_including_vat: Mapped[Decimal] = money()

    @property
    def key_value(self) -> str:
        return f"{self.document_no} line {self.line_no}"


class ItemLedgerEntry(Versioned, Base):
    """One movement of an item; inventory is the sum of ``quantity`` (sales are negative)."""

    __tablename__ = "item_ledger_entry"
    __label__ = "Item ledger entry"
    __key__ = "entry_no"
    entry_no: Mapped[int] = _entry_no()
    item_no: Mapped[str] = mapped_column(String(20), ForeignKey("item.no"), nullable=False, index=True)
    entry_type: Mapped[ItemLedgerEntryType] = option(ItemLedgerEntryType, ItemLedgerEntryType.SALE)
    posting_date: Mapped[date] = mapped_column(Date, nullable=False)
    document_type: Mapped[LedgerDocumentType] = option(LedgerDocumentType, LedgerDocumentType.NONE)
    document_no: Mapped[str] = text(20)
    document_line_no: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    order_no: Mapped[str] = text(20)
    source_no: Mapped[str] = text(20)
    description: Mapped[str] = text(100)
    unit_of_measure_code: Mapped[str | None] = code_ref("unit_of_measure.code", 10)
    quantity: Mapped[Decimal] = money()
    invoiced_quantity: Mapped[Decimal] = money()
    sales_amount_actual: Mapped[Decimal] = money()


class CustLedgerEntry(Versioned, Base):
    """An invoice or payment on a customer's account; ``remaining_amount`` is what is still open."""

    __tablename__ = "cust_ledger_entry"
    __label__ = "Customer ledger entry"
    __key__ = "entry_no"
    entry_no: Mapped[int] = _entry_no()
    customer_no: Mapped[str] = mapped_column(String(20), ForeignKey("customer.no"), nullable=False, index=True)
    posting_date: Mapped[date] = mapped_column(Date, nullable=False)
    document_type: Mapped[LedgerDocumentType] = option(LedgerDocumentType, LedgerDocumentType.INVOICE)
    document_no: Mapped[str] = text(20, index=True)
    external_document_no: Mapped[str] = text(35)
    description: Mapped[str] = text(100)
    currency_code: Mapped[str | None] = code_ref("currency.code", 10)
    #: amounts in the entry's currency; invoices positive, payments negative
    amount: Mapped[Decimal] = money()
    amount_lcy: Mapped[Decimal] = money()
    remaining_amount: Mapped[Decimal] = money()
    remaining_amount_lcy: Mapped[Decimal] = money()
    sales_lcy: Mapped[Decimal] = money()
    due_date: Mapped[date | None] = mapped_column(Date)
    open: Mapped[bool] = flag(True)
    closed_at_date: Mapped[date | None] = mapped_column(Date)
    prepayment: Mapped[bool] = flag()
    order_no: Mapped[str] = text(20, index=True)


class DetailedCustLedgEntry(Versioned, Base):
    """A change to a customer ledger entry's remaining amount: its initial amount, or an application."""

    __tablename__ = "detailed_cust_ledg_entry"
    __label__ = "Detailed customer ledger entry"
    __key__ = "entry_no"
    entry_no: Mapped[int] = _entry_no()
    cust_ledger_entry_id: Mapped[uuid.UUID] = mapped_column(
        Uuid, ForeignKey("cust_ledger_entry.id"), nullable=False, index=True
    )
    cust_ledger_entry_no: Mapped[int] = mapped_column(BigInteger, nullable=False)
    entry_type: Mapped[DetailedEntryType] = option(DetailedEntryType, DetailedEntryType.INITIAL_ENTRY)
    customer_no: Mapped[str] = mapped_column(String(20), ForeignKey("customer.no"), nullable=False, index=True)
    posting_date: Mapped[date] = mapped_column(Date, nullable=False)
    document_type: Mapped[LedgerDocumentType] = option(LedgerDocumentType, LedgerDocumentType.INVOICE)
    document_no: Mapped[str] = text(20)
    currency_code: Mapped[str | None] = code_ref("currency.code", 10)
    amount: Mapped[Decimal] = money()
    amount_lcy: Mapped[Decimal] = money()
    #: for applications: the entry on the other side (the payment applied to an invoice, or vice versa)
    applied_cust_ledger_entry_no: Mapped[int | None] = mapped_column(BigInteger)
