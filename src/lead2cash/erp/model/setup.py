"""Singleton setup records, number series and ERP users with their web service access keys."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from lead2cash.erp.model.base import Base, Versioned
from lead2cash.erp.model.columns import flag, option, text
from lead2cash.erp.model.enums import ArchivePolicy, Role, WriteInProductType
from lead2cash.sqltypes import UTCDateTime


class GeneralSetup(Versioned, Base):
    """General Ledger Setup: the local currency (LCY)."""

    __tablename__ = "general_setup"
    __label__ = "General setup"
    __key__ = "primary_key"
    primary_key: Mapped[str] = mapped_column(String(10), unique=True, nullable=False, default="")
    lcy_code: Mapped[str] = text(10)
    lcy_description: Mapped[str] = text(60)


class SalesSetup(Versioned, Base):
    """Sales & Receivables Setup."""

    __tablename__ = "sales_setup"
    __label__ = "Sales & receivables setup"
    __key__ = "primary_key"
    primary_key: Mapped[str] = mapped_column(String(10), unique=True, nullable=False, default="")
    write_in_product_type: Mapped[WriteInProductType] = option(WriteInProductType, WriteInProductType.ITEM)
    write_in_product_no: Mapped[str] = text(20)
    freight_gl_account_no: Mapped[str] = text(20)
    archive_quotes: Mapped[ArchivePolicy] = option(ArchivePolicy, ArchivePolicy.ALWAYS)
    archive_orders: Mapped[bool] = flag(True)
    customer_nos: Mapped[str] = text(20)
    item_nos: Mapped[str] = text(20)
    resource_nos: Mapped[str] = text(20)
    contact_nos: Mapped[str] = text(20)
    opportunity_nos: Mapped[str] = text(20)
    quote_nos: Mapped[str] = text(20)
    order_nos: Mapped[str] = text(20)
    posted_shipment_nos: Mapped[str] = text(20)
    posted_invoice_nos: Mapped[str] = text(20)
    posted_prepmt_inv_nos: Mapped[str] = text(20)
    payment_nos: Mapped[str] = text(20)


class NoSeries(Versioned, Base):
    """A number series: the next number is the last one used, incremented in its digits."""

    __tablename__ = "no_series"
    __label__ = "No. series"
    code: Mapped[str] = mapped_column(String(20), unique=True, nullable=False)
    description: Mapped[str] = text(100)
    starting_no: Mapped[str] = text(20)
    last_no_used: Mapped[str] = text(20)
    increment_by: Mapped[int] = mapped_column(Integer, nullable=False, default=1)


class ErpUser(Versioned, Base):
    """A person or service that signs in; the web service access key is stored only as a hash."""

    __tablename__ = "erp_user"
    __label__ = "User"
    __key__ = "user_name"
    user_name: Mapped[str] = mapped_column(String(50), unique=True, nullable=False)
    full_name: Mapped[str] = text(80)
    email: Mapped[str] = text(80)
    role: Mapped[Role] = option(Role, Role.ORDER_PROCESSOR)
    enabled: Mapped[bool] = flag(True)
    web_service_key_hash: Mapped[str | None] = mapped_column(String(64), unique=True, nullable=True)
    web_service_key_changed_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    password_hash: Mapped[str | None] = mapped_column(String(200), nullable=True)
