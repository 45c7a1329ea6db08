"""The singleton setup records and the bootstrap every fresh ERP database gets.

Bootstrap is idempotent: it creates the general setup (local currency), the sales & receivables setup,
the default number series, and the first administrator when there are no users yet.
"""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from lead2cash.erp.model import Currency, GeneralSetup, NoSeries, SalesSetup

DEFAULT_SERIES = {
    # SalesSetup field: (series code, description, starting no.)
    "customer_nos": ("CUST", "Customers", "C00010"),
    "contact_nos": ("CONT", "Contacts", "CT000001"),
    "item_nos": ("ITEM", "Items", "1000"),
    "resource_nos": ("RES", "Resources", "R0010"),
    "opportunity_nos": ("OPP", "Opportunities", "OP000001"),
    "quote_nos": ("S-QUO", "Sales quotes", "SQ1001"),
    "order_nos": ("S-ORD", "Sales orders", "SO1001"),
    "posted_shipment_nos": ("S-SHPT", "Posted sales shipments", "SSH100001"),
    "posted_invoice_nos": ("S-INV+", "Posted sales invoices", "SI100001"),
    "posted_prepmt_inv_nos": ("S-PREP", "Posted prepayment invoices", "SPI10001"),
    "payment_nos": ("CASHRCPT", "Cash receipts", "PMT00001"),
}


def general_setup(session: Session) -> GeneralSetup:
    setup = session.scalars(select(GeneralSetup)).first()
    if setup is None:
        setup = GeneralSetup(primary_key="", lcy_code="")
        session.add(setup)
        session.flush()
    return setup


def sales_setup(session: Session) -> SalesSetup:
    setup = session.scalars(select(SalesSetup)).first()
    if setup is None:
        setup = SalesSetup(primary_key="")
        session.add(setup)
        session.flush()
    return setup


def local_currency(session: Session) -> str:
    return general_setup(session).lcy_code


def bootstrap(session: Session, *, lcy_code: str = "EUR") -> None:
    """Create the rows a working ERP needs; leaves existing ones untouched."""
    gl = general_setup(session)
    if not gl.lcy_code:
        gl.lcy_code = lcy_code
        if session.scalars(select(Currency).where(Currency.code == lcy_code)).first() is None:
            gl.lcy_description = lcy_code
    sales = sales_setup(session)
    existing = set(session.scalars(select(NoSeries.code)))
    for setup_field, (code, description, start) in DEFAULT_SERIES.items():
        if code not in existing:
            session.add(NoSeries(code=code, description=description, starting_no=start))
        if not getattr(sales, setup_field):
            setattr(sales, setup_field, code)
    session.flush()
