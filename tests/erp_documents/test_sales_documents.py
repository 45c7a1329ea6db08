"""Creating and editing quotes and orders: customer defaults, best prices, currencies, amounts, errors."""

from __future__ import annotations

from datetime import date
from decimal import Decimal as D

import pytest
from sales_docs_support import unit_of_work
from sqlalchemy import select

from lead2cash.erp.errors import Conflict, NotFound, ValidationFailed
from lead2cash.erp.model import Outbox
from lead2cash.erp.model.documents import SalesDocumentStatus, SalesDocumentType
from lead2cash.erp.services import documents, lines, release

ORDER = SalesDocumentType.ORDER
MARCH = date(2026, 3, 1)


def order(session, customer="C1", lines=(), **header):
    data = {"sell_to_customer_no": customer, "order_date": MARCH, **header}
    return documents.create_document(session, ORDER, data, [dict(x) for x in lines])


def test_new_order_takes_customer_defaults_and_numbers(db):
    with unit_of_work(db) as s:
        first = order(s)
        second = order(s, ship_to_city="Gouda")
        assert (first.no, second.no) == ("SO1001", "SO1002")
        assert first.status is SalesDocumentStatus.OPEN
        assert first.payment_terms_code == "14D"
        assert first.customer_price_group == "RETAIL"
        assert (first.bill_to_customer_no, first.bill_to_name, first.ship_to_city) == ("C1", "Adatum", "Delft")
        assert second.ship_to_city == "Gouda"


@pytest.mark.parametrize(
    ("customer", "quantity", "on", "expected"),
    [
        ("C1", D(1), MARCH, D(90)),  # price group beats all-customers
        ("C1", D(10), MARCH, D(80)),  # customer price from minimum quantity 10
        ("C1", D(1), date(2020, 6, 1), D(70)),  # dated customer price
        ("CS", D(1), MARCH, D(95)),  # all customers
        ("C2", D(1), MARCH, D(120)),  # price in the document currency
        ("CY", D(1), MARCH, D(15200)),  # no JPY price: 95 EUR x 160, rounded to whole yen
    ],
)
def test_best_price(db, customer, quantity, on, expected):
    with unit_of_work(db) as s:
        header = order(s, customer, [{"no": "I1", "quantity": quantity}], order_date=on)
        line = header.lines[0]
        assert line.unit_price == expected
        assert not line.price_overridden


def test_item_without_sales_price_uses_unit_price_and_resource_price(db):
    with unit_of_work(db) as s:
        header = order(s, "CS", [{"no": "I2", "quantity": D(3)}, {"type": "Resource", "no": "R1", "quantity": D(2)}])
        helmet, mechanic = header.lines
        assert (helmet.unit_price, helmet.amount, helmet.amount_including_vat) == (D("19.99"), D("59.97"), D("65.97"))
        assert (mechanic.unit_price, mechanic.unit_of_measure_code, mechanic.amount) == (D(60), "HOUR", D(120))
        assert header.amount == D("179.97")
        assert header.amount_including_vat == D("65.97") + D(150)


def test_given_unit_price_and_discounts(db):
    with unit_of_work(db) as s:
        header = order(
            s,
            lines=[
                {"no": "I1", "quantity": D(3), "unit_price": D("33.333"), "line_discount_pct": D(10)},
                {"no": "I2", "quantity": D(1), "unit_price": D(50), "line_discount_amount": D(5)},
                {"type": " ", "description": "Deliver to the back door"},
            ],
            invoice_discount_amount=D(10),
        )
        bike, helmet, comment = header.lines
        assert bike.price_overridden
        assert (bike.line_amount, bike.line_discount_amount) == (D("90.00"), D("10.00"))
        assert helmet.line_amount == D(45)
        # invoice discount 10 spread 90:45 -> 6.67 and 3.33
        assert (bike.inv_discount_amount, helmet.inv_discount_amount) == (D("6.67"), D("3.33"))
        assert header.amount == D(125)
        assert bike.amount_including_vat == D("83.33") + D("20.83")
        assert comment.amount == 0
        assert header.amount_including_vat == sum(x.amount_including_vat for x in header.lines)


def test_yen_amounts_round_to_whole_units(db):
    with unit_of_work(db) as s:
        header = order(s, "CY", [{"no": "I2", "quantity": D(3)}])
        line = header.lines[0]
        assert line.unit_price == D(3198)  # 19.99 x 160 = 3198.4
        assert line.amount_including_vat == D(10553)  # 9594 + 959.4 VAT rounded


def test_currency_change_reprices_lines(db):
    with unit_of_work(db) as s:
        header = order(s, "CS", [{"no": "I1", "quantity": D(1)}])
        documents.update_header(s, header, {"currency_code": "USD"})
        assert header.lines[0].unit_price == D(120)
        assert header.currency_factor == D("1.25")


@pytest.mark.parametrize(
    ("customer", "lines", "error", "text"),
    [
        ("CB", [], ValidationFailed, "customer CB is blocked"),
        ("NOPE", [], ValidationFailed, "does not exist as a customer"),
        ("C1", [{"no": "I1", "quantity": D(-1)}], ValidationFailed, "quantity must not be negative"),
        ("C1", [{"no": "NOPE", "quantity": D(1)}], ValidationFailed, "'NOPE' does not exist as a item"),
        ("C1", [{"no": "IX", "quantity": D(1)}], ValidationFailed, "item IX is blocked"),
        ("C1", [{"no": "I1", "quantity": D(1), "vat_pct": D(120)}], ValidationFailed, "vat_pct must be between"),
        ("C1", [{"type": " ", "description": "x", "quantity": D(1)}], ValidationFailed, "must be 0 on a comment"),
        ("CG", [], ValidationFailed, "currency GBP has no exchange rate on or before 2026-03-01"),
        ("C1", [{"no": "I1", "quantity": D(1), "line_discount_amount": D(500)}], ValidationFailed, "exceeds the line"),
    ],
)
def test_invalid_documents_are_refused_and_nothing_is_written(db, customer, lines, error, text):
    with pytest.raises(error, match=text) as caught, unit_of_work(db) as s:
        order(s, customer, lines)
    assert caught.value.fix
    with unit_of_work(db) as s:
        assert s.scalars(select(documents.SalesHeader)).all() == []


def test_status_must_be_open_to_edit(db):
    with unit_of_work(db) as s:
        header = order(s, lines=[{"no": "I1", "quantity": D(2)}])
        release.release(s, header)
        with pytest.raises(Conflict, match="status must be Open"):
            lines.add_line(s, header, {"no": "I2", "quantity": D(1)})
        with pytest.raises(Conflict, match="status must be Open"):
            documents.update_header(s, header, {"external_document_no": "X"})
        lines.update_line(s, header, header.lines[0], {"qty_to_ship": D(1)})  # allowed when released
        assert header.lines[0].qty_to_ship == 1
        release.reopen(s, header)
        lines.add_line(s, header, {"no": "I2", "quantity": D(1)})
        assert [x.line_no for x in header.lines] == [10000, 20000]


def test_release_rules_and_events(db):
    with unit_of_work(db) as s:
        empty = order(s)
        with pytest.raises(ValidationFailed, match="nothing to release"):
            release.release(s, empty)
        header = order(s, lines=[{"no": "I1", "quantity": D(1)}])
        release.release(s, header)
        release.release(s, header)  # already released: no second event
        release.reopen(s, header)
        events = s.scalars(select(Outbox.event_type).where(~Outbox.event_type.like("%.changed")).order_by(Outbox.id))
        assert list(events) == ["sales_order.released", "sales_order.reopened"]


def test_update_and_delete_lines(db):
    with unit_of_work(db) as s:
        header = order(s, lines=[{"no": "I1", "quantity": D(1)}, {"no": "I2", "quantity": D(1)}])
        lines.update_line(s, header, header.lines[0], {"quantity": D(10)})
        assert header.lines[0].unit_price == D(80)  # minimum-quantity price now applies
        assert header.lines[0].qty_to_ship == D(10)
        lines.delete_line(s, header, header.lines[1])
        assert header.amount == D(800)
        with pytest.raises(NotFound):
            lines.get_line(header, 20000)
