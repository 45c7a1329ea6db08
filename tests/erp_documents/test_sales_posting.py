"""Posting orders: ship and invoice together or apart, partial quantities, ledgers, events, errors, atomicity."""

from __future__ import annotations

from datetime import date
from decimal import Decimal as D

import pytest
from sales_docs_support import unit_of_work
from sqlalchemy import func, select

from lead2cash.erp.errors import Conflict, ValidationFailed
from lead2cash.erp.model import (
    CustLedgerEntry,
    ItemLedgerEntry,
    Outbox,
    SalesHeader,
    SalesHeaderArchive,
    SalesInvoiceHeader,
    SalesInvoiceLine,
    SalesShipmentLine,
)
from lead2cash.erp.model.documents import SalesDocumentStatus, SalesDocumentType
from lead2cash.erp.services import availability, documents, lines, posting, prepayment

ORDER = SalesDocumentType.ORDER
MARCH = date(2026, 3, 1)


def new_order(session, customer="C1", lines=({"no": "I1", "quantity": D(10)},), **header):
    data = {"sell_to_customer_no": customer, "order_date": MARCH, **header}
    return documents.create_document(session, ORDER, data, [dict(x) for x in lines])


def inventory(session, item):
    return availability.availability(session, [item])[0].inventory


def events(session):
    stmt = select(Outbox.event_type, Outbox.payload).where(~Outbox.event_type.like("%.changed")).order_by(Outbox.id)
    return [(t, p) for t, p in session.execute(stmt)]


def test_ship_and_invoice_in_one_go(db):
    with unit_of_work(db) as s:
        header = new_order(
            s, lines=[{"no": "I1", "quantity": D(10)}, {"type": "Resource", "no": "R1", "quantity": D(2)}]
        )
        no = header.no
        result = posting.post(s, header, posting_date=date(2026, 3, 10))
        assert result.order_deleted
        assert inventory(s, "I1") == D(90)
        entry = s.scalars(select(CustLedgerEntry)).one()
        invoice = s.scalars(select(SalesInvoiceHeader)).one()
        assert (invoice.no, invoice.order_no, invoice.amount) == (result.invoice_no, no, D(920))
        assert invoice.amount_including_vat == D(1150)
        assert (entry.amount, entry.remaining_amount, entry.open) == (D(1150), D(1150), True)
        assert entry.due_date == date(2026, 3, 15)  # 14D from the document date
        assert s.scalars(select(SalesHeader)).all() == []
        kinds = [t for t, _ in events(s)]
        assert kinds == [
            "sales_order.released",
            "sales_order.archived",
            "sales_order.shipment_posted",
            "sales_order.invoice_posted",
            "sales_order.archived",
            "sales_order.deleted_after_posting",
        ]
        versions = s.scalars(select(SalesHeaderArchive.version_no).where(SalesHeaderArchive.no == no)).all()
        assert versions == [1, 2]


def test_partial_shipments_then_invoices(db):
    with unit_of_work(db) as s:
        header = new_order(s, lines=[{"no": "I1", "quantity": D(3), "unit_price": D("33.33")}])
        line = header.lines[0]
        lines.update_line(s, header, line, {"qty_to_ship": D(1)})
        first = posting.post(s, header, ship=True, invoice=False, posting_date=date(2026, 3, 2))
        assert (line.quantity_shipped, line.outstanding_quantity, line.qty_shipped_not_invoiced) == (1, 2, 1)
        assert header.last_shipment_date == date(2026, 3, 2) and not header.completely_shipped
        assert first.invoice_no is None
        posting.post(s, header, ship=True, invoice=False, posting_date=date(2026, 3, 3))
        assert header.completely_shipped and header.last_shipment_date == date(2026, 3, 3)
        assert inventory(s, "I1") == D(97)
        lines.update_line(s, header, line, {"qty_to_invoice": D(1)})
        posting.post(s, header, ship=False, invoice=True)
        lines.update_line(s, header, line, {"qty_to_invoice": D(1)})
        posting.post(s, header, ship=False, invoice=True)
        last = posting.post(s, header, ship=False, invoice=True)
        assert last.order_deleted
        amounts = s.scalars(select(SalesInvoiceLine.amount).order_by(SalesInvoiceLine.document_no)).all()
        assert amounts == [D("33.33"), D("33.33"), D("33.33")]
        assert s.scalar(select(func.sum(CustLedgerEntry.amount))) == D("124.99")  # 99.99 + 25% VAT


def test_shipment_lines_and_item_ledger_entries(db):
    with unit_of_work(db) as s:
        header = new_order(
            s,
            lines=[
                {"no": "I1", "quantity": D(2)},
                {"no": "SVC", "quantity": D(1)},
                {"type": " ", "description": "note"},
            ],
        )
        result = posting.post(s, header, invoice=False)
        shipped = s.execute(
            select(SalesShipmentLine.no, SalesShipmentLine.quantity).order_by(SalesShipmentLine.line_no)
        ).all()
        assert shipped == [("I1", D(2)), ("SVC", D(1))]
        entries = s.execute(
            select(ItemLedgerEntry.item_no, ItemLedgerEntry.quantity, ItemLedgerEntry.document_no)
            .where(ItemLedgerEntry.entry_type == "Sale")
            .order_by(ItemLedgerEntry.entry_no)
        ).all()
        assert entries == [("I1", D(-2), result.shipment_no), ("SVC", D(-1), result.shipment_no)]


@pytest.mark.parametrize(
    ("customer", "ship", "invoice", "text"),
    [
        ("CS", True, False, "customer CS is blocked"),
        ("CI", False, True, "customer CI is blocked"),
    ],
)
def test_blocked_customers_cannot_post(db, customer, ship, invoice, text):
    with unit_of_work(db) as s:
        header = new_order(s, customer)
        if not ship:
            posting.post(s, header, ship=True, invoice=False)
        with pytest.raises(ValidationFailed, match=text):
            posting.post(s, header, ship=ship, invoice=invoice)


def test_posting_errors(db):
    with unit_of_work(db) as s:
        header = new_order(s)
        line = header.lines[0]
        line.qty_to_ship = D(11)
        with pytest.raises(ValidationFailed, match="11 is more than the outstanding quantity 10"):
            posting.post(s, header)
        line.qty_to_ship = D(0)
        line.qty_to_invoice = D(1)
        with pytest.raises(ValidationFailed, match="more than what is shipped and not invoiced"):
            posting.post(s, header, ship=False, invoice=True)
        line.qty_to_invoice = D(0)
        with pytest.raises(ValidationFailed, match="nothing to post"):
            posting.post(s, header)
        quote = documents.create_document(
            s, SalesDocumentType.QUOTE, {"sell_to_customer_no": "C1"}, [{"no": "I1", "quantity": D(1)}]
        )
        with pytest.raises(Conflict, match="not an order"):
            posting.post(s, quote)


@pytest.mark.parametrize("step", ["posting.after_shipment", "posting.after_invoice_lines", "posting.before_commit"])
def test_failure_midway_leaves_nothing_posted(db, monkeypatch, step):
    with unit_of_work(db) as s:
        no = new_order(s).no
    monkeypatch.setattr(posting, "FAULT_AT", step)
    with pytest.raises(posting.InjectedFault), unit_of_work(db) as s:
        posting.post(s, documents.get_document(s, ORDER, no))
    with unit_of_work(db) as s:
        header = documents.get_document(s, ORDER, no)
        assert header.status is SalesDocumentStatus.OPEN
        assert header.lines[0].quantity_shipped == 0
        assert inventory(s, "I1") == D(100)
        assert s.scalars(select(CustLedgerEntry)).all() == []
        assert s.scalars(select(SalesInvoiceHeader)).all() == []
        assert events(s) == []
    monkeypatch.setattr(posting, "FAULT_AT", None)
    with unit_of_work(db) as s:
        assert posting.post(s, documents.get_document(s, ORDER, no)).order_deleted


def test_foreign_currency_invoice_in_local_currency(db):
    with unit_of_work(db) as s:
        header = new_order(s, "C2", [{"no": "I1", "quantity": D(1)}])
        posting.post(s, header, posting_date=date(2026, 3, 5))
        entry = s.scalars(select(CustLedgerEntry)).one()
        assert (entry.currency_code, entry.amount, entry.amount_lcy) == ("USD", D(150), D(120))


def test_prepayment_deducted_on_final_invoice(db):
    from lead2cash.erp.services import payments, release

    with unit_of_work(db) as s:
        header = new_order(s, lines=[{"no": "I1", "quantity": D(4), "unit_price": D(100)}], prepayment_pct=D(30))
        release.release(s, header)
        assert header.status is SalesDocumentStatus.PENDING_PREPAYMENT
        with pytest.raises(Conflict, match="waits for its prepayment"):
            posting.post(s, header)
        prepayment_no = prepayment.post_prepayment_invoice(s, header)
        assert header.lines[0].prepmt_amt_inv == D(120)
        payments.post_payment(s, customer_no="C1", amount=D(150), applies_to=[{"document_no": prepayment_no}])
        assert header.status is SalesDocumentStatus.RELEASED
        header.lines[0].qty_to_invoice = D(2)
        header.lines[0].qty_to_ship = D(2)
        first = posting.post(s, header)
        inv = s.scalars(select(SalesInvoiceHeader).where(SalesInvoiceHeader.no == first.invoice_no)).one()
        assert (inv.amount, inv.amount_including_vat, inv.prepayment_deducted_incl_vat) == (D(140), D(175), D(75))
        posting.post(s, header)
        total = s.scalar(select(func.sum(CustLedgerEntry.amount)).where(CustLedgerEntry.document_type == "Invoice"))
        assert total == D(500)  # 400 + 25% VAT, whatever the split into prepayment and final invoices
        kinds = [t for t, _ in events(s)]
        assert "sales_order.pending_prepayment" in kinds
        assert "sales_order.prepayment_invoice_posted" in kinds
        assert kinds.index("customer_payment.applied") < kinds.index("sales_order.released")
