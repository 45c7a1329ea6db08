"""Post sales orders: ship, invoice, or both, in full or in part (Business Central 'Sales-Post').

Everything happens in the caller's transaction, and every check runs before the first write, so an error
leaves nothing behind; a failure after the first write (``FAULT_AT`` names a step to fail at, for tests)
rolls the whole posting back with the transaction. Rows are written in bulk: the lines, shipment and
invoice lines and ledger entries of a posting go to the database as one batched statement per table.

Shipping posts a shipment, one item ledger entry per item line (quantity negative: inventory decreases),
and moves ``qty_to_ship`` into ``quantity_shipped``; the order records its last shipment date and whether
it is completely shipped. Invoicing posts an invoice whose lines carry the invoiced share of each order
line's amounts (shares are taken cumulatively, so partial invoices always add up to the line), deducts
prepayments already invoiced, and posts a customer ledger entry with the due date from the payment terms.
A fully invoiced order is archived and deleted, as in Business Central.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from sqlalchemy import select
from sqlalchemy.orm import Session

from lead2cash.erp import dateformula
from lead2cash.erp.errors import Conflict, ErpError, ValidationFailed, invalid
from lead2cash.erp.model import (
    Item,
    ItemLedgerEntry,
    PaymentTerms,
    SalesHeader,
    SalesInvoiceHeader,
    SalesInvoiceLine,
    SalesLine,
    SalesShipmentHeader,
    SalesShipmentLine,
)
from lead2cash.erp.model.documents import SalesDocumentStatus, SalesDocumentType, SalesLineType
from lead2cash.erp.model.enums import CustomerBlocked
from lead2cash.erp.model.ledger import ItemLedgerEntryType, LedgerDocumentType
from lead2cash.erp.services import amounts, archive, documents, pricing, release
from lead2cash.erp.services.documents import describe
from lead2cash.erp.services.ledgers import batched, document_event, reserve_entry_nos
from lead2cash.erp.services.payments import post_customer_entry
from lead2cash.erp.services.setup import sales_setup

FAULT_AT: str | None = os.environ.get("L2C_FAULT_AT")
ZERO = Decimal(0)
COPIED = (
    "sell_to_customer_no",
    "sell_to_customer_name",
    "bill_to_customer_no",
    "currency_code",
    "currency_factor",
    "salesperson_code",
    "payment_terms_code",
    "shipment_method_code",
    "shipping_agent_code",
    "external_document_no",
    "your_reference",
    "quote_no",
    "document_date",
    "shipment_date",
    "work_description",
    *(f"{p}_{a}" for p in ("bill_to", "ship_to") for a in ("name", *documents.ADDRESS)),
)


class InjectedFault(ErpError):
    status = 500
    code = "injected_fault"


def checkpoint(step: str) -> None:
    if step == FAULT_AT:
        raise InjectedFault(f"Failure injected at {step}.")


@dataclass
class PostingResult:
    shipment_no: str | None = None
    invoice_no: str | None = None
    order_deleted: bool = False


def posted_header(model, header: SalesHeader, no: str, posting_date: date):
    posted = documents.with_defaults(model(no=no, order_no=header.no, posting_date=posting_date))
    for name in COPIED:
        setattr(posted, name, getattr(header, name))
    posted.work_description = (header.work_description or "")[:2000]
    return posted


def due_date(session: Session, payment_terms_code: str | None, start: date) -> date:
    if not payment_terms_code:
        return start
    formula = session.execute(
        select(PaymentTerms.due_date_calculation).where(PaymentTerms.code == payment_terms_code)
    ).scalar()
    return dateformula.apply(formula, start) if formula else start


def _share(total: Decimal, part: Decimal, whole: Decimal, prec: Decimal) -> Decimal:
    """``total`` x part/whole, rounded; the whole always gets exactly ``total``."""
    if part >= whole:
        return total
    return pricing.round_to(total * part / whole, prec)


def _prepare(session: Session, header: SalesHeader, ship: bool, invoice: bool, posting_date: date):
    if header.document_type is not SalesDocumentType.ORDER:
        raise Conflict(f"{describe(header)} is not an order; only orders are posted.", record=describe(header))
    if not (ship or invoice):
        raise ValidationFailed("Choose ship, invoice, or both.", field="ship", fix="Set ship and/or invoice.")
    blocked_for = ()
    if ship:
        blocked_for += (CustomerBlocked.SHIP,)
    if invoice:
        blocked_for += (CustomerBlocked.INVOICE,)
    documents.check_customer(session, header.sell_to_customer_no, describe(header), blocked_for=blocked_for)
    if header.status is SalesDocumentStatus.OPEN:
        release.release(session, header)
    if header.status is SalesDocumentStatus.PENDING_PREPAYMENT:
        raise Conflict(
            f"{describe(header)} waits for its prepayment (status Pending Prepayment).",
            record=describe(header),
            field="status",
            fix="Post the prepayment invoice and register its payment first.",
        )
    header.posting_date = posting_date
    header.currency_factor = pricing.currency_factor(
        session, header.currency_code, posting_date, record=describe(header)
    )
    plan = []
    for line in header.lines:
        if line.type is SalesLineType.COMMENT:
            continue
        label = f"{describe(header)} line {line.line_no}"
        to_ship = Decimal(line.qty_to_ship) if ship else ZERO
        to_invoice = Decimal(line.qty_to_invoice) if invoice else ZERO
        if to_ship < 0 or to_invoice < 0:
            raise invalid(label, "qty_to_ship", "must not be negative", "Enter zero or more.")
        if to_ship > Decimal(line.outstanding_quantity):
            raise invalid(
                label,
                "qty_to_ship",
                f"{to_ship} is more than the outstanding quantity {line.outstanding_quantity}",
                f"Ship at most {line.outstanding_quantity}.",
            )
        invoiceable = Decimal(line.qty_shipped_not_invoiced) + to_ship
        if to_invoice > invoiceable:
            raise invalid(
                label,
                "qty_to_invoice",
                f"{to_invoice} is more than what is shipped and not invoiced ({invoiceable})",
                f"Invoice at most {invoiceable}, or ship first.",
            )
        if to_ship or to_invoice:
            plan.append((line, to_ship, to_invoice))
    if not plan:
        raise ValidationFailed(
            f"There is nothing to post for {describe(header).lower()}.",
            record=describe(header),
            fix="Set a quantity to ship or to invoice on a line.",
        )
    return plan


@batched
def post(
    session: Session,
    header: SalesHeader,
    *,
    ship: bool = True,
    invoice: bool = True,
    posting_date: date | None = None,
    user: str = "",
) -> PostingResult:
    posting_date = posting_date or documents.today()
    plan = _prepare(session, header, ship, invoice, posting_date)
    setup = sales_setup(session)
    if setup.archive_orders:
        archive.archive_document(session, header, reason="Posted", user=user)
    result = PostingResult()
    if any(to_ship for _, to_ship, _ in plan):
        result.shipment_no = _ship(session, header, plan, posting_date)
    checkpoint("posting.after_shipment")
    if any(to_invoice for _, _, to_invoice in plan):
        result.invoice_no = _invoice(session, header, plan, posting_date)
    checkpoint("posting.after_invoice")
    for line in header.lines:
        if line.type is not SalesLineType.COMMENT:
            line.qty_to_ship = Decimal(line.quantity) - Decimal(line.quantity_shipped)
            line.qty_to_invoice = Decimal(line.quantity) - Decimal(line.quantity_invoiced)
    amounts.recalculate(session, header)
    sellable = [x for x in header.lines if x.type is not SalesLineType.COMMENT and x.quantity]
    if sellable and all(x.quantity_invoiced == x.quantity for x in sellable):
        if setup.archive_orders:
            archive.archive_document(session, header, reason="Fully invoiced", user=user)
        document_event(session, header, "deleted_after_posting", invoice_no=result.invoice_no)
        session.delete(header)
        result.order_deleted = True
    session.flush()
    checkpoint("posting.before_commit")
    return result


def _ship(session: Session, header: SalesHeader, plan, posting_date: date) -> str:
    no = documents.series_no(session, "posted_shipment_nos", "Posted sales shipment")
    shipment = posted_header(SalesShipmentHeader, header, no, posting_date)
    session.add(shipment)
    item_nos = {line.no for line, to_ship, _ in plan if to_ship and line.type is SalesLineType.ITEM}
    item_types = (
        dict(session.execute(select(Item.no, Item.type).where(Item.no.in_(item_nos))).all()) if item_nos else {}
    )
    shipped = [(line, q) for line, q, _ in plan if q]
    entry_no = reserve_entry_nos(session, "item_ledger_entry", sum(1 for line, _ in shipped if line.no in item_types))
    entries, shipment_lines = [], []
    for line, quantity in shipped:
        ledger_no = None
        if line.type is SalesLineType.ITEM and line.no in item_types:
            ledger_no, entry_no = entry_no, entry_no + 1
            entries.append(
                ItemLedgerEntry(
                    entry_no=ledger_no,
                    item_no=line.no,
                    entry_type=ItemLedgerEntryType.SALE,
                    posting_date=posting_date,
                    document_type=LedgerDocumentType.SHIPMENT,
                    document_no=no,
                    document_line_no=line.line_no,
                    order_no=header.no,
                    source_no=header.sell_to_customer_no,
                    description=line.description,
                    unit_of_measure_code=line.unit_of_measure_code,
                    quantity=-quantity,
                    invoiced_quantity=ZERO,
                    sales_amount_actual=ZERO,
                )
            )
        shipment_lines.append(
            SalesShipmentLine(
                document_no=no,
                line_no=line.line_no,
                order_line_no=line.line_no,
                type=line.type,
                no=line.no,
                description=line.description,
                unit_of_measure_code=line.unit_of_measure_code,
                quantity=quantity,
                item_ledger_entry_no=ledger_no,
            )
        )
        line.quantity_shipped = Decimal(line.quantity_shipped) + quantity
    session.add_all(shipment_lines)
    session.add_all(entries)
    header.last_shipping_no = no
    header.last_shipment_date = posting_date
    header.shipment_date = header.shipment_date or posting_date
    amounts.recalculate(session, header)
    document_event(
        session,
        header,
        "shipment_posted",
        shipment_no=no,
        posting_date=posting_date,
        completely_shipped=header.completely_shipped,
        last_shipment_date=posting_date,
        lines=[{"line_no": line.line_no, "quantity": q} for line, q in shipped],
    )
    return no


def _invoice_line(header: SalesHeader, line: SalesLine, no: str, quantity: Decimal, prec) -> SalesInvoiceLine:
    before, after, whole = Decimal(line.quantity_invoiced), Decimal(line.quantity_invoiced) + quantity, line.quantity
    values = {}
    for name in ("line_discount_amount", "inv_discount_amount", "line_amount", "amount", "amount_including_vat"):
        total = Decimal(getattr(line, name))
        values[name] = _share(total, after, whole, prec.amount) - _share(total, before, whole, prec.amount)
    return SalesInvoiceLine(
        document_no=no,
        line_no=line.line_no,
        order_line_no=line.line_no,
        type=line.type,
        no=line.no,
        description=line.description,
        unit_of_measure_code=line.unit_of_measure_code,
        quantity=quantity,
        unit_price=line.unit_price,
        line_discount_pct=line.line_discount_pct,
        vat_pct=line.vat_pct,
        **values,
    )


def _deduction(line: SalesLine, quantity: Decimal, prec) -> tuple[Decimal, Decimal]:
    """The share of the invoiced prepayment this invoice deducts: (excl. VAT, incl. VAT)."""
    after = Decimal(line.quantity_invoiced) + quantity
    result = []
    for invoiced, deducted in (
        (line.prepmt_amt_inv, line.prepmt_amt_deducted),
        (line.prepmt_amount_inv_incl_vat, line.prepmt_amount_deducted_incl_vat),
    ):
        result.append(_share(Decimal(invoiced), after, Decimal(line.quantity), prec.amount) - Decimal(deducted))
    return result[0], result[1]


def _invoice(session: Session, header: SalesHeader, plan, posting_date: date) -> str:
    prec = pricing.precision(session, header.currency_code)
    no = documents.series_no(session, "posted_invoice_nos", "Posted sales invoice")
    invoice = posted_header(SalesInvoiceHeader, header, no, posting_date)
    invoice.due_date = due_date(session, header.payment_terms_code, header.document_date or posting_date)
    lines, deducted, deducted_incl = [], ZERO, ZERO
    for line, _, to_invoice in plan:
        if not to_invoice:
            continue
        lines.append(_invoice_line(header, line, no, to_invoice, prec))
        excl, incl = _deduction(line, to_invoice, prec)
        line.prepmt_amt_deducted = Decimal(line.prepmt_amt_deducted) + excl
        line.prepmt_amount_deducted_incl_vat = Decimal(line.prepmt_amount_deducted_incl_vat) + incl
        deducted, deducted_incl = deducted + excl, deducted_incl + incl
        line.quantity_invoiced = Decimal(line.quantity_invoiced) + to_invoice
    if deducted_incl:
        lines.append(
            SalesInvoiceLine(
                document_no=no,
                line_no=max(x.line_no for x in header.lines) + 10000,
                type=SalesLineType.GL_ACCOUNT,
                description="Prepayment deduction",
                quantity=Decimal(1),
                unit_price=-deducted,
                line_amount=-deducted,
                amount=-deducted,
                amount_including_vat=-deducted_incl,
            )
        )
    invoice.amount = sum((x.amount for x in lines), ZERO)
    invoice.amount_including_vat = sum((x.amount_including_vat for x in lines), ZERO)
    invoice.invoice_discount_amount = sum((x.inv_discount_amount or ZERO for x in lines), ZERO)
    invoice.prepayment_deducted_incl_vat = deducted_incl
    entry = post_customer_entry(
        session,
        customer_no=header.bill_to_customer_no,
        posting_date=posting_date,
        document_type=LedgerDocumentType.INVOICE,
        document_no=no,
        description=f"Order {header.no}",
        external_document_no=header.external_document_no,
        currency_code=header.currency_code,
        factor=header.currency_factor,
        amount=invoice.amount_including_vat,
        sales=invoice.amount,
        due=invoice.due_date,
        order_no=header.no,
    )
    invoice.cust_ledger_entry_no = entry.entry_no
    session.add(invoice)
    session.add_all(lines)
    checkpoint("posting.after_invoice_lines")
    header.last_posting_no = no
    document_event(
        session,
        header,
        "invoice_posted",
        invoice_no=no,
        posting_date=posting_date,
        amount=invoice.amount,
        amount_including_vat=invoice.amount_including_vat,
        due_date=invoice.due_date,
        cust_ledger_entry_no=entry.entry_no,
    )
    return no
