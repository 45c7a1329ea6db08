"""Property-based invariants of posting: balances, inventory and rounding hold for any mix of documents."""

from __future__ import annotations

import itertools
from datetime import date
from decimal import Decimal as D

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sales_docs_support import unit_of_work
from sqlalchemy import func, select

from lead2cash.erp.model import CustLedgerEntry, Customer, DetailedCustLedgEntry, Item, ItemLedgerEntry
from lead2cash.erp.model.documents import SalesDocumentType
from lead2cash.erp.model.ledger import LedgerDocumentType
from lead2cash.erp.services import availability, documents, payments, posting, statistics
from lead2cash.erp.services.documents import with_defaults

SETTINGS = settings(
    max_examples=10, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow]
)
_serial = itertools.count(1)

quantities = st.decimals(min_value=D(1), max_value=D(50), places=0)
prices = st.decimals(min_value=D("0.01"), max_value=D(999), places=3)
fractions = st.sampled_from([D(0), D("0.25"), D("0.5"), D(1)])
line_st = st.tuples(quantities, prices, st.sampled_from([D(0), D(10), D("12.5"), D(25)]), st.sampled_from([D(0), D(5)]))
order_st = st.tuples(st.lists(line_st, min_size=1, max_size=4), fractions, fractions)


def fresh(session, currency=None):
    n = next(_serial)
    customer, item = f"PC{n}", f"PI{n}"
    session.add(with_defaults(Customer(no=customer, name=customer, currency_code=currency)))
    session.add(with_defaults(Item(no=item, description=item, unit_price=D(1))))
    session.flush()
    availability.post_adjustment(session, item, D(10000), posting_date=date(2026, 1, 1))
    return customer, item


def run_orders(session, customer, item, orders):
    for lines, ship_share, invoice_share in orders:
        header = documents.create_document(
            session,
            SalesDocumentType.ORDER,
            {"sell_to_customer_no": customer, "order_date": date(2026, 3, 1)},
            [
                {"no": item, "quantity": q, "unit_price": p, "vat_pct": v, "line_discount_pct": d}
                for q, p, v, d in lines
            ],
        )
        for line in header.lines:
            line.qty_to_ship = (line.quantity * ship_share).to_integral_value()
            line.qty_to_invoice = min(line.qty_to_ship, (line.quantity * invoice_share).to_integral_value())
        if any(x.qty_to_ship for x in header.lines):
            posting.post(session, header, invoice=any(x.qty_to_invoice for x in header.lines))


@SETTINGS
@given(orders=st.lists(order_st, min_size=1, max_size=4), pay_shares=st.lists(fractions, min_size=1, max_size=6))
def test_balance_is_invoices_minus_applied_payments_and_inventory_is_the_ledger(db, orders, pay_shares):
    with unit_of_work(db) as s:
        customer, item = fresh(s)
        run_orders(s, customer, item, orders)
        applied = D(0)
        open_invoices = [e for e in payments.open_entries(s, customer) if e.document_type is LedgerDocumentType.INVOICE]
        for entry, share in zip(open_invoices, pay_shares, strict=False):
            amount = (entry.remaining_amount * share).quantize(D("0.01"))
            if amount > 0:
                payments.post_payment(s, customer_no=customer, amount=amount, applies_to=[{"entry_no": entry.entry_no}])
                applied += amount
        invoices = s.scalar(
            select(func.coalesce(func.sum(CustLedgerEntry.amount_lcy), 0)).where(
                CustLedgerEntry.customer_no == customer, CustLedgerEntry.document_type == LedgerDocumentType.INVOICE
            )
        )
        assert statistics.customer_statistics(s, customer).balance_lcy == D(invoices) - applied
        for entry in s.scalars(select(CustLedgerEntry).where(CustLedgerEntry.customer_no == customer)):
            details = s.scalar(
                select(func.sum(DetailedCustLedgEntry.amount)).where(
                    DetailedCustLedgEntry.cust_ledger_entry_id == entry.id
                )
            )
            assert details == entry.remaining_amount
            assert entry.open == (entry.remaining_amount != 0)
        ledger = s.scalar(select(func.sum(ItemLedgerEntry.quantity)).where(ItemLedgerEntry.item_no == item))
        assert availability.availability(s, [item])[0].inventory == ledger


@SETTINGS
@given(orders=st.lists(order_st, min_size=1, max_size=3), currency=st.sampled_from([None, "USD", "JPY"]))
def test_amounts_are_rounded_to_the_currency_precision(db, orders, currency):
    step = D(1) if currency == "JPY" else D("0.01")
    with unit_of_work(db) as s:
        customer, item = fresh(s, currency)
        run_orders(s, customer, item, orders)
        entries = s.scalars(select(CustLedgerEntry).where(CustLedgerEntry.customer_no == customer)).all()
        for entry in entries:
            assert entry.amount % step == 0
            assert entry.amount_lcy % D("0.01") == 0
        headers = s.scalars(select(documents.SalesHeader).where(documents.SalesHeader.sell_to_customer_no == customer))
        for header in headers:
            for line in header.lines:
                for value in (line.line_amount, line.amount, line.amount_including_vat, line.line_discount_amount):
                    assert value % step == 0
            assert header.amount_including_vat == sum(x.amount_including_vat for x in header.lines)


def table_fingerprint(session) -> dict:
    """Row counts of every ERP table and the row-version counter: equal fingerprints mean nothing was written."""
    from sqlalchemy import text

    from lead2cash.erp.model import Base

    counts = {
        name: session.scalar(select(func.count()).select_from(table)) for name, table in Base.metadata.tables.items()
    }
    counts["row_version"] = session.scalar(text("SELECT value FROM row_version_counter"))
    return counts


@SETTINGS
@given(
    lines=st.lists(line_st, min_size=1, max_size=3),
    step=st.sampled_from(["posting.after_shipment", "posting.after_invoice_lines", "posting.before_commit"]),
    ship_share=st.sampled_from([D("0.5"), D(1)]),
)
def test_a_failure_midway_leaves_no_trace(db, monkeypatch, lines, step, ship_share):
    with unit_of_work(db) as s:
        customer, item = fresh(s)
        header = documents.create_document(
            s,
            SalesDocumentType.ORDER,
            {"sell_to_customer_no": customer},
            [{"no": item, "quantity": q, "unit_price": p, "vat_pct": v} for q, p, v, _ in lines],
        )
        for line in header.lines:
            line.qty_to_ship = line.qty_to_invoice = max(D(1), (line.quantity * ship_share).to_integral_value())
        no = header.no
    with unit_of_work(db) as s:
        before = table_fingerprint(s)
    monkeypatch.setattr(posting, "FAULT_AT", step)
    try:
        with unit_of_work(db) as s:
            posting.post(s, documents.get_document(s, SalesDocumentType.ORDER, no))
    except posting.InjectedFault:
        pass
    finally:
        monkeypatch.setattr(posting, "FAULT_AT", None)
    with unit_of_work(db) as s:
        assert table_fingerprint(s) == before


@SETTINGS
@given(lines=st.lists(line_st, min_size=1, max_size=3), steps=st.lists(fractions, min_size=1, max_size=5))
def test_partial_postings_add_up_to_the_order(db, lines, steps):
    with unit_of_work(db) as s:
        customer, item = fresh(s)
        header = documents.create_document(
            s,
            SalesDocumentType.ORDER,
            {"sell_to_customer_no": customer},
            [
                {"no": item, "quantity": q, "unit_price": p, "vat_pct": v, "line_discount_pct": d}
                for q, p, v, d in lines
            ],
        )
        total, quantity = header.amount_including_vat, sum(x.quantity for x in header.lines)
        deleted = False
        for share in [*steps, D(1)]:
            for line in header.lines:
                open_qty = line.quantity - line.quantity_invoiced
                line.qty_to_ship = min(line.outstanding_quantity, (open_qty * share).to_integral_value())
                line.qty_to_invoice = min(line.qty_shipped_not_invoiced + line.qty_to_ship, line.qty_to_ship)
            if any(x.qty_to_ship or x.qty_to_invoice for x in header.lines):
                deleted = posting.post(s, header).order_deleted
            if deleted:
                break
        assert deleted
        invoiced = s.scalar(select(func.sum(CustLedgerEntry.amount)).where(CustLedgerEntry.customer_no == customer))
        assert invoiced == total
        sold = s.scalar(
            select(func.sum(ItemLedgerEntry.quantity)).where(
                ItemLedgerEntry.item_no == item, ItemLedgerEntry.quantity < 0
            )
        )
        assert -sold == quantity
