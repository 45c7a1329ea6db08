"""Prepayment invoices: bill the prepayment % of an order before it ships ('Sales-Post Prepayments').

The prepayment of each line is its prepayment % of the line amount; the invoice bills what is not yet
invoiced, with the line's VAT, and posts a customer ledger entry marked as prepayment for the order. The
order then waits in *Pending Prepayment*; when ``payments`` closes the entry, the order is released. The
final invoices deduct the prepaid share of each line (see ``posting``).
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from sqlalchemy.orm import Session

from lead2cash.erp.errors import Conflict, ValidationFailed
from lead2cash.erp.model import SalesHeader, SalesInvoiceHeader, SalesInvoiceLine
from lead2cash.erp.model.documents import SalesDocumentStatus, SalesDocumentType, SalesLineType
from lead2cash.erp.model.enums import CustomerBlocked
from lead2cash.erp.model.ledger import LedgerDocumentType
from lead2cash.erp.services import amounts, documents, posting, pricing
from lead2cash.erp.services.documents import describe
from lead2cash.erp.services.ledgers import batched, document_event
from lead2cash.erp.services.payments import post_customer_entry

ZERO = Decimal(0)


@batched
def post_prepayment_invoice(session: Session, header: SalesHeader, *, posting_date: date | None = None) -> str:
    """Invoice the prepayment not yet invoiced; the order waits (Pending Prepayment) until it is paid."""
    posting_date = posting_date or documents.today()
    if header.document_type is not SalesDocumentType.ORDER:
        raise Conflict(f"{describe(header)} is not an order.", record=describe(header))
    documents.check_customer(
        session, header.sell_to_customer_no, describe(header), blocked_for=(CustomerBlocked.INVOICE,)
    )
    amounts.recalculate(session, header)
    due = [x for x in header.lines if Decimal(x.prepmt_line_amount) > Decimal(x.prepmt_amt_inv)]
    if not due:
        raise ValidationFailed(
            f"{describe(header)} has no prepayment left to invoice.",
            record=describe(header),
            field="prepayment_pct",
            fix="Set a prepayment % on the order or its lines.",
        )
    header.currency_factor = pricing.currency_factor(
        session, header.currency_code, posting_date, record=describe(header)
    )
    prec = pricing.precision(session, header.currency_code)
    no = documents.series_no(session, "posted_prepmt_inv_nos", "Posted prepayment invoice")
    invoice = posting.posted_header(SalesInvoiceHeader, header, no, posting_date)
    invoice.prepayment_invoice, invoice.prepayment_order_no = True, header.no
    invoice.due_date = posting.due_date(session, header.payment_terms_code, header.document_date or posting_date)
    lines = []
    for line in due:
        amount = Decimal(line.prepmt_line_amount) - Decimal(line.prepmt_amt_inv)
        incl = amount + pricing.round_to(amount * Decimal(line.vat_pct) / 100, prec.amount)
        lines.append(
            SalesInvoiceLine(
                document_no=no,
                line_no=line.line_no,
                order_line_no=line.line_no,
                type=SalesLineType.GL_ACCOUNT,
                no=line.no,
                description=f"Prepayment {line.prepayment_pct}% {line.description}"[:100],
                quantity=Decimal(1),
                unit_price=amount,
                vat_pct=line.vat_pct,
                line_amount=amount,
                amount=amount,
                amount_including_vat=incl,
            )
        )
        line.prepmt_amt_inv = Decimal(line.prepmt_amt_inv) + amount
        line.prepmt_amount_inv_incl_vat = Decimal(line.prepmt_amount_inv_incl_vat) + incl
    invoice.amount = sum((x.amount for x in lines), ZERO)
    invoice.amount_including_vat = sum((x.amount_including_vat for x in lines), ZERO)
    entry = post_customer_entry(
        session,
        customer_no=header.bill_to_customer_no,
        posting_date=posting_date,
        document_type=LedgerDocumentType.INVOICE,
        document_no=no,
        description=f"Prepayment order {header.no}",
        external_document_no=header.external_document_no,
        currency_code=header.currency_code,
        factor=header.currency_factor,
        amount=invoice.amount_including_vat,
        sales=invoice.amount,
        due=invoice.due_date,
        order_no=header.no,
        prepayment=True,
    )
    invoice.cust_ledger_entry_no = entry.entry_no
    session.add(invoice)
    session.flush()
    session.add_all(lines)
    header.last_prepayment_no = no
    if header.status is not SalesDocumentStatus.PENDING_PREPAYMENT:
        header.status = SalesDocumentStatus.PENDING_PREPAYMENT
    document_event(
        session,
        header,
        "prepayment_invoice_posted",
        invoice_no=no,
        amount_including_vat=invoice.amount_including_vat,
        cust_ledger_entry_no=entry.entry_no,
    )
    session.flush()
    return no
