"""Opportunities: the sales pipeline entries the CRM and the ERP share."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from sqlalchemy import Date, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from lead2cash.erp.model.base import Base, Versioned
from lead2cash.erp.model.columns import amount, code_ref, option, text
from lead2cash.erp.model.enums import OpportunityStatus


class Opportunity(Versioned, Base):
    __tablename__ = "opportunity"
    __label__ = "Opportunity"
    __key__ = "no"
    no: Mapped[str] = mapped_column(String(20), unique=True, nullable=False)
    description: Mapped[str] = text(100)
    contact_no: Mapped[str | None] = code_ref("contact.no")
    contact_company_no: Mapped[str | None] = code_ref("contact.no")
    salesperson_code: Mapped[str | None] = code_ref("salesperson.code")
    status: Mapped[OpportunityStatus] = option(OpportunityStatus, OpportunityStatus.NOT_STARTED)
    estimated_value_lcy: Mapped[Decimal] = amount()
    estimated_closing_date: Mapped[date | None] = mapped_column(Date)
    probability_pct: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    creation_date: Mapped[date | None] = mapped_column(Date)
    date_closed: Mapped[date | None] = mapped_column(Date)
