"""Master data and helpers for the sales document tests: currencies, customers, items, resources, prices."""

from __future__ import annotations

from contextlib import contextmanager
from datetime import date
from decimal import Decimal

from lead2cash.erp.model import (
    Currency,
    CurrencyExchangeRate,
    Customer,
    CustomerPriceGroup,
    Item,
    PaymentTerms,
    Resource,
    SalesPrice,
    UnitOfMeasure,
)
from lead2cash.erp.model.enums import CustomerBlocked, ItemType, SalesType
from lead2cash.erp.services import availability
from lead2cash.erp.services.documents import with_defaults

D = Decimal


@contextmanager
def unit_of_work(db):
    with db.sessions() as session, session.begin():
        yield session


def add_master_data(session) -> None:
    add = session.add
    add(with_defaults(UnitOfMeasure(code="PCS", description="Pieces")))
    add(with_defaults(UnitOfMeasure(code="HOUR", description="Hour")))
    add(with_defaults(Currency(code="EUR", description="Euro")))
    add(with_defaults(Currency(code="USD", description="US dollar")))
    add(
        with_defaults(
            Currency(code="JPY", description="Yen", amount_rounding_precision=D(1), unit_amount_rounding_precision=D(1))
        )
    )
    session.flush()
    # 1 EUR = 1.25 USD from 2026-01-01; 1 EUR = 160 JPY
    add(
        with_defaults(
            CurrencyExchangeRate(
                currency_code="USD",
                starting_date=date(2026, 1, 1),
                exchange_rate_amount=D(100),
                relational_exch_rate_amount=D(80),
            )
        )
    )
    add(
        with_defaults(
            CurrencyExchangeRate(
                currency_code="JPY",
                starting_date=date(2026, 1, 1),
                exchange_rate_amount=D(160),
                relational_exch_rate_amount=D(1),
            )
        )
    )
    add(with_defaults(Currency(code="GBP", description="Pound without rate")))
    add(with_defaults(PaymentTerms(code="14D", description="14 days", due_date_calculation="14D")))
    add(with_defaults(PaymentTerms(code="CM", description="Current month", due_date_calculation="CM")))
    add(with_defaults(CustomerPriceGroup(code="RETAIL", description="Retail")))
    session.flush()
    add(
        with_defaults(
            Customer(no="C1", name="Adatum", city="Delft", payment_terms_code="14D", customer_price_group="RETAIL")
        )
    )
    add(with_defaults(Customer(no="C2", name="Trey", currency_code="USD")))
    add(with_defaults(Customer(no="CY", name="Yen buyer", currency_code="JPY")))
    add(with_defaults(Customer(no="CB", name="Blocked all", blocked=CustomerBlocked.ALL)))
    add(with_defaults(Customer(no="CS", name="Blocked ship", blocked=CustomerBlocked.SHIP)))
    add(with_defaults(Customer(no="CI", name="Blocked invoice", blocked=CustomerBlocked.INVOICE)))
    add(with_defaults(Customer(no="CG", name="Pays in pounds", currency_code="GBP")))
    add(
        with_defaults(
            Item(no="I1", description="Bicycle", base_unit_of_measure="PCS", unit_price=D(100), vat_pct=D(25))
        )
    )
    add(
        with_defaults(
            Item(no="I2", description="Helmet", base_unit_of_measure="PCS", unit_price=D("19.99"), vat_pct=D(10))
        )
    )
    add(with_defaults(Item(no="SVC", description="Assembly", type=ItemType.SERVICE, unit_price=D(30))))
    add(with_defaults(Item(no="IX", description="Blocked item", blocked=True, unit_price=D(1))))
    add(with_defaults(Resource(no="R1", name="Mechanic", base_unit_of_measure="HOUR", unit_price=D(60), vat_pct=D(25))))
    session.flush()
    prices = [
        ("I1", SalesType.ALL_CUSTOMERS, "", None, D(0), D(95), None, None),
        ("I1", SalesType.CUSTOMER_PRICE_GROUP, "RETAIL", None, D(0), D(90), None, None),
        ("I1", SalesType.CUSTOMER, "C1", None, D(10), D(80), None, None),
        ("I1", SalesType.CUSTOMER, "C1", None, D(0), D(70), date(2020, 1, 1), date(2020, 12, 31)),
        ("I1", SalesType.ALL_CUSTOMERS, "", "USD", D(0), D(120), None, None),
    ]
    for item, kind, code, currency, minimum, price, start, end in prices:
        add(
            with_defaults(
                SalesPrice(item_no=item, sales_type=kind, sales_code=code, currency_code=currency,
                           minimum_quantity=minimum, unit_price=price, starting_date=start, ending_date=end)
            )
        )  # fmt: skip
    session.flush()
    availability.post_adjustment(session, "I1", D(100), posting_date=date(2026, 1, 1))
    availability.post_adjustment(session, "I2", D(50), posting_date=date(2026, 1, 1))
