"""Customers, contacts, salespeople and the code tables they refer to (Business Central semantics).

References between records use the human keys (customer no., salesperson code …) with real foreign keys,
so the database itself refuses a dangling reference and a record in use cannot disappear.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from sqlalchemy import Date, ForeignKey, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from lead2cash.erp.model.base import Base, Versioned
from lead2cash.erp.model.columns import AMOUNT, RATE, amount, code_ref, flag, option, text
from lead2cash.erp.model.enums import ContactType, CustomerBlocked


class Salesperson(Versioned, Base):
    __tablename__ = "salesperson"
    __label__ = "Salesperson"
    code: Mapped[str] = mapped_column(String(20), unique=True, nullable=False)
    name: Mapped[str] = text(50)
    email: Mapped[str] = text(80)
    phone_no: Mapped[str] = text(30)
    job_title: Mapped[str] = text(30)
    commission_pct: Mapped[Decimal] = amount()
    blocked: Mapped[bool] = flag()


class Currency(Versioned, Base):
    __tablename__ = "currency"
    __label__ = "Currency"
    code: Mapped[str] = mapped_column(String(10), unique=True, nullable=False)
    description: Mapped[str] = text(30)
    iso_code: Mapped[str] = text(3)
    iso_numeric_code: Mapped[str] = text(3)
    symbol: Mapped[str] = text(10)
    amount_rounding_precision: Mapped[Decimal] = mapped_column(AMOUNT, nullable=False, default=Decimal("0.01"))
    unit_amount_rounding_precision: Mapped[Decimal] = mapped_column(AMOUNT, nullable=False, default=Decimal("0.00001"))


class CurrencyExchangeRate(Versioned, Base):
    """Units of local currency per ``exchange_rate_amount`` units of the currency, from a starting date."""

    __tablename__ = "currency_exchange_rate"
    __label__ = "Currency exchange rate"
    __table_args__ = (UniqueConstraint("currency_code", "starting_date"),)
    currency_code: Mapped[str] = mapped_column(String(10), ForeignKey("currency.code"), nullable=False)
    starting_date: Mapped[date] = mapped_column(Date, nullable=False)
    exchange_rate_amount: Mapped[Decimal] = mapped_column(RATE, nullable=False, default=Decimal(1))
    relational_exch_rate_amount: Mapped[Decimal] = mapped_column(RATE, nullable=False)

    @property
    def key_value(self) -> str:
        return f"{self.currency_code} {self.starting_date}"


class PaymentTerms(Versioned, Base):
    __tablename__ = "payment_terms"
    __label__ = "Payment terms"
    code: Mapped[str] = mapped_column(String(10), unique=True, nullable=False)
    description: Mapped[str] = text(100)
    due_date_calculation: Mapped[str] = text(32)
    discount_date_calculation: Mapped[str] = text(32)
    discount_pct: Mapped[Decimal] = amount()


class ShipmentMethod(Versioned, Base):
    __tablename__ = "shipment_method"
    __label__ = "Shipment method"
    code: Mapped[str] = mapped_column(String(10), unique=True, nullable=False)
    description: Mapped[str] = text(100)


class ShippingAgent(Versioned, Base):
    __tablename__ = "shipping_agent"
    __label__ = "Shipping agent"
    code: Mapped[str] = mapped_column(String(10), unique=True, nullable=False)
    name: Mapped[str] = text(50)
    internet_address: Mapped[str] = text(250)
    account_no: Mapped[str] = text(30)


class CustomerPriceGroup(Versioned, Base):
    __tablename__ = "customer_price_group"
    __label__ = "Customer price group"
    code: Mapped[str] = mapped_column(String(10), unique=True, nullable=False)
    description: Mapped[str] = text(100)
    price_includes_vat: Mapped[bool] = flag()
    allow_invoice_disc: Mapped[bool] = flag(True)
    allow_line_disc: Mapped[bool] = flag(True)


class Customer(Versioned, Base):
    __tablename__ = "customer"
    __label__ = "Customer"
    __key__ = "no"
    no: Mapped[str] = mapped_column(String(20), unique=True, nullable=False)
    name: Mapped[str] = text(100)
    name_2: Mapped[str] = text(50)
    address: Mapped[str] = text(100)
    address_2: Mapped[str] = text(50)
    post_code: Mapped[str] = text(20)
    city: Mapped[str] = text(30)
    county: Mapped[str] = text(30)
    country_region_code: Mapped[str] = text(10)
    contact: Mapped[str] = text(100)
    phone_no: Mapped[str] = text(30)
    mobile_phone_no: Mapped[str] = text(30)
    email: Mapped[str] = text(80)
    home_page: Mapped[str] = text(80)
    fax_no: Mapped[str] = text(30)
    currency_code: Mapped[str | None] = code_ref("currency.code", 10)
    salesperson_code: Mapped[str | None] = code_ref("salesperson.code")
    payment_terms_code: Mapped[str | None] = code_ref("payment_terms.code", 10)
    shipment_method_code: Mapped[str | None] = code_ref("shipment_method.code", 10)
    shipping_agent_code: Mapped[str | None] = code_ref("shipping_agent.code", 10)
    customer_price_group: Mapped[str | None] = code_ref("customer_price_group.code", 10)
    credit_limit_lcy: Mapped[Decimal] = amount()
    primary_contact_no: Mapped[str | None] = mapped_column(
        String(20), ForeignKey("contact.no", use_alter=True), nullable=True
    )
    blocked: Mapped[CustomerBlocked] = option(CustomerBlocked, CustomerBlocked.NONE)


class Contact(Versioned, Base):
    """A company or a person; a company contact may have a business relation to one customer."""

    __tablename__ = "contact"
    __label__ = "Contact"
    __key__ = "no"
    no: Mapped[str] = mapped_column(String(20), unique=True, nullable=False)
    type: Mapped[ContactType] = option(ContactType, ContactType.COMPANY)
    company_no: Mapped[str | None] = code_ref("contact.no")
    company_name: Mapped[str] = text(100)
    name: Mapped[str] = text(100)
    first_name: Mapped[str] = text(30)
    middle_name: Mapped[str] = text(30)
    surname: Mapped[str] = text(30)
    job_title: Mapped[str] = text(30)
    address: Mapped[str] = text(100)
    address_2: Mapped[str] = text(50)
    post_code: Mapped[str] = text(20)
    city: Mapped[str] = text(30)
    county: Mapped[str] = text(30)
    country_region_code: Mapped[str] = text(10)
    phone_no: Mapped[str] = text(30)
    mobile_phone_no: Mapped[str] = text(30)
    email: Mapped[str] = text(80)
    fax_no: Mapped[str] = text(30)
    salesperson_code: Mapped[str | None] = code_ref("salesperson.code")
    #: the currency this contact trades in (blank: local currency)
    currency_code: Mapped[str | None] = code_ref("currency.code", 10)
    #: business relation of a company contact to a customer (Contact Business Relation)
    customer_no: Mapped[str | None] = mapped_column(String(20), ForeignKey("customer.no"), nullable=True, unique=True)
