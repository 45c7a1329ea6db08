"""What is sold: units of measure, items and resources."""

from __future__ import annotations

from decimal import Decimal

from sqlalchemy import String
from sqlalchemy.orm import Mapped, mapped_column

from lead2cash.erp.model.base import Base, Versioned
from lead2cash.erp.model.columns import amount, code_ref, flag, option, text
from lead2cash.erp.model.enums import ItemType, ResourceType


class UnitOfMeasure(Versioned, Base):
    __tablename__ = "unit_of_measure"
    __label__ = "Unit of measure"
    code: Mapped[str] = mapped_column(String(10), unique=True, nullable=False)
    description: Mapped[str] = text(50)
    international_standard_code: Mapped[str] = text(10)


class Item(Versioned, Base):
    __tablename__ = "item"
    __label__ = "Item"
    __key__ = "no"
    no: Mapped[str] = mapped_column(String(20), unique=True, nullable=False)
    type: Mapped[ItemType] = option(ItemType, ItemType.INVENTORY)
    description: Mapped[str] = text(100)
    description_2: Mapped[str] = text(50)
    base_unit_of_measure: Mapped[str | None] = code_ref("unit_of_measure.code", 10)
    unit_price: Mapped[Decimal] = amount()
    unit_cost: Mapped[Decimal] = amount()
    #: VAT % charged on sales of this item (one VAT rate per product; see the sales line's vat_pct)
    vat_pct: Mapped[Decimal] = amount()
    vendor_no: Mapped[str] = text(20)
    vendor_item_no: Mapped[str] = text(50)
    gross_weight: Mapped[Decimal] = amount()
    unit_volume: Mapped[Decimal] = amount()
    blocked: Mapped[bool] = flag()


class Resource(Versioned, Base):
    __tablename__ = "resource"
    __label__ = "Resource"
    __key__ = "no"
    no: Mapped[str] = mapped_column(String(20), unique=True, nullable=False)
    type: Mapped[ResourceType] = option(ResourceType, ResourceType.PERSON)
    name: Mapped[str] = text(100)
    base_unit_of_measure: Mapped[str | None] = code_ref("unit_of_measure.code", 10)
    unit_price: Mapped[Decimal] = amount()
    unit_cost: Mapped[Decimal] = amount()
    capacity: Mapped[Decimal] = amount()
    vat_pct: Mapped[Decimal] = amount()
    blocked: Mapped[bool] = flag()
