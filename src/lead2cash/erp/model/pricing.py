"""Sales prices: per customer, per customer price group, or for all customers (Business Central 'Sales Price')."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from sqlalchemy import Date, ForeignKey, Index, String, func
from sqlalchemy.orm import Mapped, mapped_column

from lead2cash.erp.model.base import Base, Versioned
from lead2cash.erp.model.columns import AMOUNT, amount, code_ref, option
from lead2cash.erp.model.enums import SalesType


class SalesPrice(Versioned, Base):
    __tablename__ = "sales_price"
    __label__ = "Sales price"
    item_no: Mapped[str] = mapped_column(String(20), ForeignKey("item.no"), nullable=False, index=True)
    sales_type: Mapped[SalesType] = option(SalesType, SalesType.CUSTOMER_PRICE_GROUP)
    #: customer no., customer price group code, or blank for all customers
    sales_code: Mapped[str] = mapped_column(String(20), nullable=False, default="")
    currency_code: Mapped[str | None] = code_ref("currency.code", 10)
    unit_of_measure_code: Mapped[str | None] = code_ref("unit_of_measure.code", 10)
    minimum_quantity: Mapped[Decimal] = amount()
    unit_price: Mapped[Decimal] = mapped_column(AMOUNT, nullable=False)
    starting_date: Mapped[date | None] = mapped_column(Date)
    ending_date: Mapped[date | None] = mapped_column(Date)

    __table_args__ = (
        Index(
            "uq_sales_price_key",
            "item_no",
            "sales_type",
            "sales_code",
            func.coalesce(currency_code, ""),
            func.coalesce(unit_of_measure_code, ""),
            "minimum_quantity",
            func.coalesce(starting_date, "1900-01-01"),
            unique=True,
        ),
    )

    @property
    def key_value(self) -> str:
        parts = [
            self.item_no,
            str(self.sales_type),
            self.sales_code,
            self.currency_code or "",
            self.unit_of_measure_code or "",
            str(self.minimum_quantity),
            str(self.starting_date or ""),
        ]
        return " ".join(p for p in parts if p)
