"""Payments applied to invoices, quote to order, archive versions, customer statistics, item availability."""

from __future__ import annotations

from datetime import date
from decimal import Decimal as D

import pytest
from sales_docs_support import unit_of_work
from sqlalchemy import select

from lead2cash.erp.errors import NotFound, ValidationFailed
from lead2cash.erp.model import CustLedgerEntry, DetailedCustLedgEntry, Outbox, SalesHeader
from lead2cash.erp.model.documents import SalesDocumentType
from lead2cash.erp.services import archive, availability, documents, payments, posting, release, statistics

ORDER, QUOTE = SalesDocumentType.ORDER, SalesDocumentType.QUOTE
MARCH = date(2026, 3, 1)


def invoiced(session, customer="C1", quantity=D(1), price=D(100)):
    header = documents.create_document(
        session,
        ORDER,
        {"sell_to_customer_no": customer, "order_date": MARCH},
        [{"no": "I1", "quantity": quantity, "unit_price": price}],
    )
    return posting.post(session, header, posting_date=MARCH).invoice_no


def test_partial_then_full_payment(db):
    with unit_of_work(db) as s:
        invoice_no = invoiced(s)  # 125.00 incl. VAT
        first = payments.post_payment(s, customer_no="C1", amount=D(100), applies_to=[{"document_no": invoice_no}])
        assert first.applications[0].remaining_amount == D(25) and not first.applications[0].closed
        second = payments.post_payment(s, customer_no="C1", amount=D(25), applies_to=[{"document_no": invoice_no}])
        assert second.applications[0].closed
        entry = s.scalars(select(CustLedgerEntry).where(CustLedgerEntry.document_no == invoice_no)).one()
        assert (entry.remaining_amount, entry.open, entry.closed_at_date) == (0, False, date.today())
        details = s.scalars(
            select(DetailedCustLedgEntry.amount).where(DetailedCustLedgEntry.cust_ledger_entry_no == entry.entry_no)
        ).all()
        assert sum(details) == entry.remaining_amount
        applied = s.scalars(select(Outbox.payload).where(Outbox.event_type == "customer_payment.applied")).all()
        assert [(p["remaining_amount"], p["closed"]) for p in applied] == [("25", False), ("0", True)]


def test_one_payment_over_two_invoices_and_unapplied_rest(db):
    with unit_of_work(db) as s:
        a, b = invoiced(s), invoiced(s)
        result = payments.post_payment(
            s, customer_no="C1", amount=D(300), applies_to=[{"document_no": a}, {"document_no": b, "amount": D(50)}]
        )
        assert [x.amount for x in result.applications] == [D(125), D(50)]
        assert result.entry.remaining_amount == D(-125)  # the rest stays open on the payment
        assert statistics.customer_statistics(s, "C1").balance_lcy == D(250) - D(300)


@pytest.mark.parametrize(
    ("amount", "applies", "text"),
    [
        (D(0), [], "amount must be positive"),
        (D("10.001"), [], "more decimals than currency precision"),
        (D(500), [{"amount": D(200)}], "remaining amount is 125"),
        (D(50), [{"amount": D(100)}], "add up to more than the payment amount"),
    ],
)
def test_payment_errors(db, amount, applies, text):
    with unit_of_work(db) as s:
        invoice_no = invoiced(s)
    with pytest.raises(ValidationFailed, match=text), unit_of_work(db) as s:
        payments.post_payment(
            s, customer_no="C1", amount=amount, applies_to=[{"document_no": invoice_no, **x} for x in applies]
        )
    with unit_of_work(db) as s:
        assert s.scalars(select(CustLedgerEntry.document_type)).all() == ["Invoice"]


def test_payment_to_unknown_or_closed_invoice(db):
    with unit_of_work(db) as s:
        invoice_no = invoiced(s)
        with pytest.raises(NotFound):
            payments.post_payment(s, customer_no="C1", amount=D(1), applies_to=[{"document_no": "SI999"}])
        payments.post_payment(s, customer_no="C1", amount=D(125), applies_to=[{"document_no": invoice_no}])
        with pytest.raises(ValidationFailed, match="is not open"):
            payments.post_payment(s, customer_no="C1", amount=D(1), applies_to=[{"document_no": invoice_no}])
        with pytest.raises(ValidationFailed, match="is in local currency, the payment in USD"):
            other = invoiced(s)
            payments.post_payment(
                s, customer_no="C1", amount=D(1), currency_code="USD", applies_to=[{"document_no": other}]
            )


def test_quote_to_order_archives_and_deletes_quote(db):
    with unit_of_work(db) as s:
        quote = documents.create_document(
            s,
            QUOTE,
            {"sell_to_customer_no": "C1", "your_reference": "QUO-7", "quote_valid_until_date": date(2026, 4, 1)},
            [{"no": "I1", "quantity": D(2)}, {"no": "I2", "quantity": D(1), "unit_price": D(5)}],
        )
        assert quote.no == "SQ1001"
        archive.archive_document(s, quote, reason="Revised")
        order = release.make_order(s, quote)
        assert (order.quote_no, order.your_reference, order.document_type) == ("SQ1001", "QUO-7", ORDER)
        assert [(x.no, x.quantity, x.unit_price) for x in order.lines] == [("I1", 2, D(90)), ("I2", 1, D(5))]
        versions = archive.versions(s, QUOTE, "SQ1001")
        assert [(v.version_no, v.reason) for v in versions] == [(1, "Revised"), (2, "Converted to order")]
        assert versions[1].lines[0]["no"] == "I1" and versions[1].header["your_reference"] == "QUO-7"
        assert s.scalars(select(SalesHeader.no).where(SalesHeader.document_type == QUOTE)).all() == []
        kinds = s.scalars(select(Outbox.event_type).where(Outbox.event_type.like("sales_quote.%"))).all()
        assert kinds == ["sales_quote.archived", "sales_quote.archived", "sales_quote.converted_to_order"]


def test_customer_statistics(db):
    with unit_of_work(db) as s:
        invoice_no = invoiced(s)  # 125 due 2026-03-15
        payments.post_payment(s, customer_no="C1", amount=D(25), applies_to=[{"document_no": invoice_no}])
        header = documents.create_document(
            s,
            ORDER,
            {"sell_to_customer_no": "C1", "order_date": MARCH},
            [{"no": "I1", "quantity": D(4), "unit_price": D(10)}],
        )
        header.lines[0].qty_to_ship = D(1)
        posting.post(s, header, invoice=False)
        stats = statistics.customer_statistics(s, "C1", as_of=date(2026, 4, 1))
        assert stats.balance_lcy == D(100)
        assert stats.overdue_amounts_lcy == D(100)
        assert stats.total_sales_lcy == D(100)
        assert stats.payments_lcy == D(25)
        assert stats.outstanding_orders_lcy == D("37.50")  # 3 of 4 x 12.50
        assert stats.shipped_not_invoiced_lcy == D("12.50")
        assert stats.total_lcy == D(150)
        assert statistics.customer_statistics(s, "C1", as_of=date(2026, 3, 10)).overdue_amounts_lcy == 0


def test_item_availability(db):
    with unit_of_work(db) as s:
        documents.create_document(s, ORDER, {"sell_to_customer_no": "C1"}, [{"no": "I1", "quantity": D(30)}])
        shipped = documents.create_document(s, ORDER, {"sell_to_customer_no": "C1"}, [{"no": "I1", "quantity": D(5)}])
        shipped.lines[0].qty_to_ship = D(2)
        posting.post(s, shipped, invoice=False)
        documents.create_document(s, QUOTE, {"sell_to_customer_no": "C1"}, [{"no": "I1", "quantity": D(99)}])
        i1, i2 = availability.availability(s, ["I1", "I2"])
        assert (i1.inventory, i1.outstanding_order_quantity, i1.available_quantity) == (D(98), D(33), D(65))
        assert (i2.inventory, i2.available_quantity, i2.unit_of_measure_code) == (D(50), D(50), "PCS")
        with pytest.raises(ValidationFailed):
            availability.post_adjustment(s, "I1", D(0))


def test_open_payment_applied_later(db):
    with unit_of_work(db) as s:
        advance = payments.post_payment(s, customer_no="C1", amount=D(200))
        assert advance.entry.remaining_amount == D(-200) and advance.applications == []
        invoice_no = invoiced(s)
        result = payments.apply_payment(s, advance.entry.entry_no, [{"document_no": invoice_no}])
        assert [(a.amount, a.closed) for a in result.applications] == [(D(125), True)]
        assert advance.entry.remaining_amount == D(-75) and advance.entry.open
        assert statistics.customer_statistics(s, "C1").balance_lcy == D(-75)
        with pytest.raises(ValidationFailed, match="is not open"):
            payments.apply_payment(s, advance.entry.entry_no, [{"document_no": invoice_no}])
        second = invoiced(s)
        payments.apply_payment(s, advance.entry.entry_no, [{"document_no": second}])
        assert not advance.entry.open
        with pytest.raises(ValidationFailed, match="nothing left to apply"):
            payments.apply_payment(s, advance.entry.entry_no, [{"document_no": second}])
