"""Release and reopen sales documents, and quote-to-order conversion (Business Central 'Release Sales Document').

Releasing checks that there is something to sell (a line with a quantity), that the customer is not
blocked, and that the currency has an exchange rate. An order that requires a prepayment which is not yet
invoiced and paid goes to *Pending Prepayment* instead of *Released*; ``payments`` releases it when the
prepayment invoice is paid. Each transition writes its outbox event in the same transaction.
"""

from __future__ import annotations

from decimal import Decimal

from sqlalchemy import select
from sqlalchemy.orm import Session

from lead2cash.erp.errors import Conflict, ValidationFailed
from lead2cash.erp.model import CustLedgerEntry, SalesHeader
from lead2cash.erp.model.documents import SalesDocumentStatus, SalesDocumentType, SalesLineType
from lead2cash.erp.model.enums import ArchivePolicy
from lead2cash.erp.services import amounts, archive, documents
from lead2cash.erp.services.documents import describe
from lead2cash.erp.services.ledgers import batched, document_event
from lead2cash.erp.services.setup import sales_setup


def _sellable(header: SalesHeader) -> list:
    return [x for x in header.lines if x.type is not SalesLineType.COMMENT and Decimal(x.quantity) > 0]


def prepayment_outstanding(session: Session, header: SalesHeader) -> bool:
    """True while the order has prepayment not yet invoiced, or prepayment invoices not yet paid."""
    if header.document_type is not SalesDocumentType.ORDER:
        return False
    if any(Decimal(x.prepmt_line_amount) > Decimal(x.prepmt_amt_inv) for x in header.lines):
        return True
    unpaid = session.execute(
        select(CustLedgerEntry.id)
        .where(CustLedgerEntry.prepayment.is_(True), CustLedgerEntry.order_no == header.no)
        .where(CustLedgerEntry.open.is_(True))
        .limit(1)
    ).first()
    return unpaid is not None


def release(session: Session, header: SalesHeader) -> SalesHeader:
    """Open → Released (or Pending Prepayment). Releasing a released document changes nothing."""
    if header.status is SalesDocumentStatus.RELEASED:
        return header
    if not _sellable(header):
        raise ValidationFailed(
            f"There is nothing to release for {describe(header).lower()}: it has no line with a quantity.",
            record=describe(header),
            field="lines",
            fix="Add a line with a quantity before releasing.",
        )
    documents.check_customer(session, header.sell_to_customer_no, describe(header))
    documents._refresh_factor(session, header)
    amounts.recalculate(session, header)
    if prepayment_outstanding(session, header):
        if header.status is not SalesDocumentStatus.PENDING_PREPAYMENT:
            header.status = SalesDocumentStatus.PENDING_PREPAYMENT
            document_event(session, header, "pending_prepayment", amount_including_vat=header.amount_including_vat)
        return header
    header.status = SalesDocumentStatus.RELEASED
    document_event(session, header, "released", amount_including_vat=header.amount_including_vat)
    return header


def reopen(session: Session, header: SalesHeader) -> SalesHeader:
    if header.status is SalesDocumentStatus.OPEN:
        return header
    header.status = SalesDocumentStatus.OPEN
    document_event(session, header, "reopened")
    session.flush()
    return header


def release_after_prepayment(session: Session, order_no: str) -> None:
    """Called when a prepayment invoice closes: release the order if nothing is left to prepay."""
    header = session.scalars(
        select(SalesHeader).where(SalesHeader.document_type == SalesDocumentType.ORDER, SalesHeader.no == order_no)
    ).first()
    if header is None or header.status is not SalesDocumentStatus.PENDING_PREPAYMENT:
        return
    if not prepayment_outstanding(session, header):
        header.status = SalesDocumentStatus.RELEASED
        document_event(session, header, "released", reason="prepayment paid")


@batched
def make_order(session: Session, quote: SalesHeader, *, user: str = "") -> SalesHeader:
    """Turn a quote into an order (Business Central 'Make Order'): copy, archive the quote, delete it."""
    if quote.document_type is not SalesDocumentType.QUOTE:
        raise Conflict(f"{describe(quote)} is not a quote.", record=describe(quote), fix="Use a sales quote.")
    if not _sellable(quote):
        raise ValidationFailed(
            f"{describe(quote)} has no line with a quantity; there is nothing to order.",
            record=describe(quote),
            field="lines",
            fix="Add a line with a quantity first.",
        )
    documents.check_customer(session, quote.sell_to_customer_no, describe(quote))
    header_data = {
        k: getattr(quote, k)
        for k in documents.HEADER_FIELDS - {"no", "order_date", "document_date", "posting_date", "quote_no"}
    }
    header_data["quote_no"] = quote.no
    line_fields = documents.LINE_FIELDS - {"qty_to_ship", "qty_to_invoice"}
    lines = []
    for line in quote.lines:
        data = {k: getattr(line, k) for k in line_fields}
        if not line.price_overridden:
            data.pop("unit_price")
        lines.append(data)
    order = documents.create_document(session, SalesDocumentType.ORDER, header_data, lines)
    for source, target in zip(quote.lines, order.lines, strict=True):
        target.unit_price, target.price_overridden = source.unit_price, source.price_overridden
    amounts.recalculate(session, order)
    if sales_setup(session).archive_quotes is not ArchivePolicy.NEVER:
        archive.archive_document(session, quote, reason="Converted to order", user=user)
    document_event(session, quote, "converted_to_order", order_no=order.no)
    session.delete(quote)
    session.flush()
    return order
