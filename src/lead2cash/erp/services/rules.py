"""Business rules per table, checked on create and update after the shared reference checks.

Each rule gets the session, the record (already carrying the new values) and the names of the fields that
changed, and raises ``ValidationFailed`` naming record, field and fix. ``RULES`` maps a model to its rules.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from decimal import Decimal

import pycountry
from sqlalchemy import select
from sqlalchemy.orm import Session

from lead2cash.erp import dateformula
from lead2cash.erp.errors import invalid
from lead2cash.erp.model import (
    Contact,
    Currency,
    CurrencyExchangeRate,
    Customer,
    CustomerPriceGroup,
    ErpUser,
    GeneralSetup,
    Item,
    NoSeries,
    Opportunity,
    PaymentTerms,
    Resource,
    Salesperson,
    SalesPrice,
    SalesSetup,
)
from lead2cash.erp.model.enums import (
    ContactType,
    CustomerBlocked,
    OpportunityStatus,
    SalesType,
    WriteInProductType,
)
from lead2cash.erp.services.records import describe
from lead2cash.sqltypes import utcnow

Rule = Callable[[Session, object, set[str]], None]
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


def _not_negative(*fields: str) -> Rule:
    def rule(_session: Session, obj, changed: set[str]) -> None:
        for name in fields:
            if name in changed and getattr(obj, name) is not None and Decimal(getattr(obj, name)) < 0:
                raise invalid(
                    describe(obj),
                    name,
                    f"must not be negative (got {getattr(obj, name)})",
                    f"Enter zero or a positive {name.replace('_', ' ')}.",
                )

    return rule


def _email(_session: Session, obj, changed: set[str]) -> None:
    if "email" in changed and obj.email and not _EMAIL.match(obj.email):
        raise invalid(
            describe(obj),
            "email",
            f"'{obj.email}' is not an e-mail address",
            "Enter an address like name@example.com, or leave it blank.",
        )


def is_iso_currency(code: str) -> bool:
    return len(code) == 3 and pycountry.currencies.get(alpha_3=code.upper()) is not None


def _currency_iso(_session: Session, obj: Currency, changed: set[str]) -> None:
    if not obj.iso_code and is_iso_currency(obj.code):
        obj.iso_code = obj.code
    if obj.iso_code and not is_iso_currency(obj.iso_code):
        raise invalid(
            describe(obj),
            "iso_code",
            f"'{obj.iso_code}' is not an ISO 4217 currency code",
            "Use a three-letter ISO 4217 code such as EUR, USD or DKK.",
        )
    if obj.iso_code and not obj.iso_numeric_code:
        obj.iso_numeric_code = pycountry.currencies.get(alpha_3=obj.iso_code).numeric
    for name in ("amount_rounding_precision", "unit_amount_rounding_precision"):
        value = getattr(obj, name)
        if value is not None and Decimal(value) <= 0:
            raise invalid(describe(obj), name, "must be positive", "Enter a precision such as 0.01.")


def _exchange_rate(session: Session, obj: CurrencyExchangeRate, changed: set[str]) -> None:
    for name in ("exchange_rate_amount", "relational_exch_rate_amount"):
        if getattr(obj, name) is None or Decimal(getattr(obj, name)) <= 0:
            raise invalid(describe(obj), name, "must be greater than zero", "Enter a positive amount.")
    from lead2cash.erp.services.setup import local_currency

    if obj.currency_code == local_currency(session):
        raise invalid(
            describe(obj),
            "currency_code",
            "is the local currency, which has no exchange rate",
            "Enter rates only for foreign currencies.",
        )


def _general_setup(_session: Session, obj: GeneralSetup, changed: set[str]) -> None:
    if "lcy_code" in changed and obj.lcy_code and not is_iso_currency(obj.lcy_code):
        raise invalid(
            describe(obj),
            "lcy_code",
            f"'{obj.lcy_code}' is not an ISO 4217 currency code",
            "Use a three-letter ISO 4217 code such as EUR.",
        )


def _country(_session: Session, obj, changed: set[str]) -> None:
    code = obj.country_region_code
    if "country_region_code" in changed and code and pycountry.countries.get(alpha_2=code) is None:
        raise invalid(
            describe(obj),
            "country_region_code",
            f"'{code}' is not an ISO 3166 country code",
            "Use a two-letter code such as NL, DK or US, or leave it blank.",
        )


def _customer(session: Session, obj: Customer, changed: set[str]) -> None:
    if "primary_contact_no" in changed and obj.primary_contact_no:
        contact = session.scalars(select(Contact).where(Contact.no == obj.primary_contact_no)).one()
        company = contact.company_no if contact.type == ContactType.PERSON else contact.no
        linked = session.scalars(select(Contact.customer_no).where(Contact.no == company)).first() if company else None
        if linked != obj.no:
            raise invalid(
                describe(obj),
                "primary_contact_no",
                f"'{obj.primary_contact_no}' does not belong to this customer's company contact",
                "Pick a person of the company contact linked to this customer.",
            )


def _contact(session: Session, obj: Contact, changed: set[str]) -> None:
    if obj.type == ContactType.PERSON:
        if obj.customer_no:
            raise invalid(
                describe(obj),
                "customer_no",
                "can only be set on a company contact",
                "Link the person's company contact to the customer instead.",
            )
        if obj.company_no:
            company = session.scalars(select(Contact).where(Contact.no == obj.company_no)).first()
            if company is None or company.type != ContactType.COMPANY or company.no == obj.no:
                raise invalid(
                    describe(obj),
                    "company_no",
                    f"'{obj.company_no}' is not a company contact",
                    "Pick a contact of type Company.",
                )
            obj.company_name = company.name
        else:
            obj.company_name = ""
        if not obj.name and (obj.first_name or obj.surname):
            obj.name = " ".join(p for p in (obj.first_name, obj.middle_name, obj.surname) if p)
    else:
        if obj.company_no and obj.company_no != obj.no:
            raise invalid(
                describe(obj),
                "company_no",
                "of a company contact must be the contact itself",
                "Leave company_no blank on company contacts.",
            )
        obj.company_no = obj.no
        obj.company_name = obj.name
    if obj.customer_no and "customer_no" in changed:
        blocked = session.scalars(select(Customer.blocked).where(Customer.no == obj.customer_no)).first()
        if blocked == CustomerBlocked.ALL:
            raise invalid(
                describe(obj),
                "customer_no",
                f"customer {obj.customer_no} is blocked (All)",
                "Unblock the customer before relating a contact to it.",
            )


def _sales_price(session: Session, obj: SalesPrice, changed: set[str]) -> None:
    code = obj.sales_code or ""
    if obj.sales_type == SalesType.ALL_CUSTOMERS:
        if code:
            raise invalid(
                describe(obj),
                "sales_code",
                "must be blank for All Customers",
                "Clear sales_code or choose another sales type.",
            )
    elif obj.sales_type == SalesType.CUSTOMER:
        blocked = session.scalars(select(Customer.blocked).where(Customer.no == code)).first()
        if blocked is None:
            raise invalid(
                describe(obj),
                "sales_code",
                f"'{code}' does not exist as a customer",
                "Enter an existing customer no.",
            )
        if blocked == CustomerBlocked.ALL:
            raise invalid(
                describe(obj),
                "sales_code",
                f"customer {code} is blocked (All)",
                "Unblock the customer or remove the price.",
            )
    elif session.execute(select(CustomerPriceGroup.id).where(CustomerPriceGroup.code == code)).first() is None:
        raise invalid(
            describe(obj),
            "sales_code",
            f"'{code}' does not exist as a customer price group",
            "Enter an existing customer price group code.",
        )
    if obj.starting_date and obj.ending_date and obj.ending_date < obj.starting_date:
        raise invalid(
            describe(obj),
            "ending_date",
            "is before the starting date",
            "Enter an ending date on or after the starting date.",
        )


def _opportunity(session: Session, obj: Opportunity, changed: set[str]) -> None:
    if not 0 <= (obj.probability_pct or 0) <= 100:
        raise invalid(describe(obj), "probability_pct", "must be between 0 and 100", "Enter a percentage.")
    if "contact_no" in changed and obj.contact_no:
        obj.contact_company_no = session.scalars(select(Contact.company_no).where(Contact.no == obj.contact_no)).first()
    if obj.creation_date is None:
        obj.creation_date = utcnow().date()
    closed = obj.status in (OpportunityStatus.WON, OpportunityStatus.LOST)
    if closed and obj.date_closed is None:
        obj.date_closed = utcnow().date()
    if not closed:
        obj.date_closed = None


def _payment_terms(_session: Session, obj: PaymentTerms, changed: set[str]) -> None:
    for name in ("due_date_calculation", "discount_date_calculation"):
        if getattr(obj, name):
            try:
                dateformula.parse(getattr(obj, name))
            except ValueError as exc:
                raise invalid(describe(obj), name, str(exc), "Use a formula like 14D, 1M or CM+1M.") from None
    if obj.discount_pct is not None and not 0 <= Decimal(obj.discount_pct) <= 100:
        raise invalid(describe(obj), "discount_pct", "must be between 0 and 100", "Enter a percentage.")


def _sales_setup(session: Session, obj: SalesSetup, changed: set[str]) -> None:
    if obj.write_in_product_no and {"write_in_product_no", "write_in_product_type"} & changed:
        model = Item if obj.write_in_product_type == WriteInProductType.ITEM else Resource
        if session.execute(select(model.id).where(model.no == obj.write_in_product_no)).first() is None:
            raise invalid(
                describe(obj),
                "write_in_product_no",
                f"'{obj.write_in_product_no}' does not exist as a {model.label().lower()}",
                f"Enter an existing {model.label().lower()} no. or change the write-in product type.",
            )


def _no_series(_session: Session, obj: NoSeries, changed: set[str]) -> None:
    for name in ("starting_no", "last_no_used"):
        value = getattr(obj, name) or ""
        if (value or name == "starting_no") and not any(ch.isdigit() for ch in value):
            raise invalid(
                describe(obj),
                name,
                f"'{value}' has no digits to count up",
                "Enter a number with digits, such as C00010 or SO-0001.",
            )


RULES: dict[type, list[Rule]] = {
    Salesperson: [_email, _not_negative("commission_pct")],
    Currency: [_currency_iso],
    CurrencyExchangeRate: [_exchange_rate],
    GeneralSetup: [_general_setup],
    Customer: [_email, _country, _not_negative("credit_limit_lcy"), _customer],
    Contact: [_email, _country, _contact],
    Item: [_not_negative("unit_price", "unit_cost", "gross_weight", "unit_volume")],
    Resource: [_not_negative("unit_price", "unit_cost", "capacity")],
    SalesPrice: [_not_negative("unit_price", "minimum_quantity"), _sales_price],
    Opportunity: [_not_negative("estimated_value_lcy"), _opportunity],
    PaymentTerms: [_payment_terms],
    SalesSetup: [_sales_setup],
    ErpUser: [_email],
    NoSeries: [_no_series],
}
