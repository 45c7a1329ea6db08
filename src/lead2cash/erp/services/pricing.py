"""Prices, currencies and rounding for sales documents (Business Central 'Sales Price' best-price rules).

``best_unit_price`` looks at every sales price of the item that applies to the customer (its own prices,
its customer price group's, and those for all customers), in the document currency, for the unit of
measure, at or above the minimum quantity and valid on the date, and takes the lowest. Without a price in
the document currency it falls back to local-currency prices, and then to the item's unit price, converted
with the document's currency factor. Every amount is rounded to the currency's precision, unit prices to
its unit-amount precision, half away from zero as Business Central does.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import ROUND_HALF_UP, Decimal

from sqlalchemy import and_, func, or_, select
from sqlalchemy.orm import Session

from lead2cash.erp.errors import ValidationFailed
from lead2cash.erp.model import Currency, CurrencyExchangeRate, SalesPrice
from lead2cash.erp.model.enums import SalesType
from lead2cash.erp.services.setup import local_currency

DEFAULT_PRECISION = Decimal("0.01")
DEFAULT_UNIT_PRECISION = Decimal("0.00001")


@dataclass(frozen=True)
class Precision:
    amount: Decimal = DEFAULT_PRECISION
    unit_amount: Decimal = DEFAULT_UNIT_PRECISION


def round_to(value: Decimal, precision: Decimal) -> Decimal:
    """Round half away from zero to a multiple of ``precision`` (0.01, 0.05, 1 …)."""
    if not precision:
        return value
    return (value / precision).to_integral_value(rounding=ROUND_HALF_UP) * precision


def _cache(session: Session) -> dict:
    """Per-session memo of setup lookups (local currency, precisions) that one unit of work asks for often."""
    return session.info.setdefault("erp.pricing", {})


def lcy_code(session: Session) -> str:
    cache = _cache(session)
    if "lcy" not in cache:
        cache["lcy"] = local_currency(session)
    return cache["lcy"]


def is_local(session: Session, currency_code: str | None) -> bool:
    return not currency_code or currency_code == lcy_code(session)


def precision(session: Session, currency_code: str | None) -> Precision:
    """The rounding precisions of a currency; local currency uses its currency record when there is one."""
    code = currency_code or lcy_code(session)
    cache = _cache(session)
    if code in cache:
        return cache[code]
    row = None
    if code:
        row = session.execute(
            select(Currency.amount_rounding_precision, Currency.unit_amount_rounding_precision).where(
                Currency.code == code
            )
        ).first()
    found = Precision() if row is None else Precision(row[0] or DEFAULT_PRECISION, row[1] or DEFAULT_UNIT_PRECISION)
    cache[code] = found
    return found


def currency_factor(session: Session, currency_code: str | None, on: date, *, record: str) -> Decimal:
    """Units of ``currency_code`` per unit of local currency on ``on`` (1 for local currency)."""
    if is_local(session, currency_code):
        return Decimal(1)
    rate = session.execute(
        select(CurrencyExchangeRate.exchange_rate_amount, CurrencyExchangeRate.relational_exch_rate_amount)
        .where(CurrencyExchangeRate.currency_code == currency_code, CurrencyExchangeRate.starting_date <= on)
        .order_by(CurrencyExchangeRate.starting_date.desc())
        .limit(1)
    ).first()
    if rate is None or not rate[1]:
        raise ValidationFailed(
            f"{record}: currency {currency_code} has no exchange rate on or before {on.isoformat()}.",
            record=record,
            field="currency_code",
            fix=f"Add a currency exchange rate for {currency_code} starting on or before {on.isoformat()}.",
        )
    return Decimal(rate[0]) / Decimal(rate[1])


def to_lcy(value: Decimal, factor: Decimal, lcy: Precision) -> Decimal:
    return round_to(value / factor, lcy.amount) if factor != 1 else value


def from_lcy(value: Decimal, factor: Decimal, prec: Precision) -> Decimal:
    return round_to(value * factor, prec.unit_amount) if factor != 1 else value


def _best_price(
    session: Session,
    item_no: str,
    customer_no: str,
    price_group: str | None,
    currency_code: str | None,
    unit_of_measure: str | None,
    quantity: Decimal,
    on: date,
) -> Decimal | None:
    who = [
        and_(SalesPrice.sales_type == SalesType.CUSTOMER, SalesPrice.sales_code == customer_no),
        SalesPrice.sales_type == SalesType.ALL_CUSTOMERS,
    ]
    if price_group:
        who.append(and_(SalesPrice.sales_type == SalesType.CUSTOMER_PRICE_GROUP, SalesPrice.sales_code == price_group))
    currency = (
        SalesPrice.currency_code.is_(None) if currency_code is None else SalesPrice.currency_code == currency_code
    )
    unit = SalesPrice.unit_of_measure_code.is_(None)
    if unit_of_measure:
        unit = or_(unit, SalesPrice.unit_of_measure_code == unit_of_measure)
    stmt = select(func.min(SalesPrice.unit_price)).where(
        SalesPrice.item_no == item_no,
        or_(*who),
        currency,
        unit,
        SalesPrice.minimum_quantity <= quantity,
        or_(SalesPrice.starting_date.is_(None), SalesPrice.starting_date <= on),
        or_(SalesPrice.ending_date.is_(None), SalesPrice.ending_date >= on),
    )
    return session.execute(stmt).scalar()


def best_unit_price(
    session: Session,
    *,
    item_no: str,
    item_unit_price: Decimal,
    customer_no: str,
    price_group: str | None,
    currency_code: str | None,
    factor: Decimal,
    unit_of_measure: str | None,
    quantity: Decimal,
    on: date,
) -> Decimal:
    """The lowest applicable sales price in the document currency (see the module docstring)."""
    prec = precision(session, currency_code)
    local = is_local(session, currency_code)
    args = (session, item_no, customer_no, price_group)
    if not local:
        found = _best_price(*args, currency_code, unit_of_measure, quantity, on)
        if found is not None:
            return round_to(Decimal(found), prec.unit_amount)
    found = _best_price(*args, None, unit_of_measure, quantity, on)
    base = Decimal(found) if found is not None else Decimal(item_unit_price)
    return round_to(from_lcy(base, factor, prec), prec.unit_amount)
