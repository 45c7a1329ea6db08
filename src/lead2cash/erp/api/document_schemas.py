"""Request shapes of the sales document API (documents, lines, posting, payments, adjustments)."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field

from lead2cash.erp.api.types import Amount, CodeRef, Text
from lead2cash.erp.model.documents import SalesLineType

Quantity = Annotated[Decimal, Field(max_digits=18, decimal_places=5, ge=0, le=Decimal("1e9"))]
Pct = Annotated[Decimal, Field(max_digits=8, decimal_places=5, ge=0, le=100)]


class _In(BaseModel):
    model_config = ConfigDict(extra="forbid")


class SalesLineIn(_In):
    line_no: int | None = Field(None, ge=1, le=2**31 - 1)
    type: SalesLineType = SalesLineType.ITEM
    no: Text(20) = ""
    description: Text(100) | None = None
    description_2: Text(50) | None = None
    attached_to_line_no: int | None = Field(None, ge=0, le=2**31 - 1)
    unit_of_measure_code: CodeRef(10) = None
    quantity: Annotated[Decimal, Field(max_digits=18, decimal_places=5, le=Decimal("1e9"))] = Decimal(0)
    unit_price: Amount | None = Field(None, description="Leave out to take the best sales price.")
    line_discount_pct: Pct | None = None
    line_discount_amount: Amount | None = None
    vat_pct: Pct | None = None
    shipment_date: date | None = None
    qty_to_ship: Amount | None = None
    qty_to_invoice: Amount | None = None
    prepayment_pct: Pct | None = None


class SalesLinePatch(SalesLineIn):
    type: SalesLineType | None = None
    no: Text(20) | None = None
    quantity: Amount | None = None


class SalesHeaderPatch(_In):
    sell_to_customer_no: Text(20) | None = None
    currency_code: CodeRef(10) = None
    salesperson_code: CodeRef(20) = None
    payment_terms_code: CodeRef(10) = None
    shipment_method_code: CodeRef(10) = None
    shipping_agent_code: CodeRef(10) = None
    customer_price_group: CodeRef(10) = None
    opportunity_no: CodeRef(20) = None
    external_document_no: Text(35) | None = None
    your_reference: Text(35) | None = None
    quote_no: Text(20) | None = None
    order_date: date | None = None
    document_date: date | None = None
    posting_date: date | None = None
    shipment_date: date | None = None
    due_date: date | None = None
    quote_valid_until_date: date | None = None
    requested_delivery_date: date | None = None
    prepayment_pct: Pct | None = None
    payment_discount_pct: Pct | None = None
    invoice_discount_amount: Amount | None = None
    work_description: Text(4000) | None = None
    bill_to_name: Text(100) | None = None
    bill_to_address: Text(100) | None = None
    bill_to_address_2: Text(50) | None = None
    bill_to_post_code: Text(20) | None = None
    bill_to_city: Text(30) | None = None
    bill_to_county: Text(30) | None = None
    bill_to_country_region_code: Text(10) | None = None
    ship_to_name: Text(100) | None = None
    ship_to_address: Text(100) | None = None
    ship_to_address_2: Text(50) | None = None
    ship_to_post_code: Text(20) | None = None
    ship_to_city: Text(30) | None = None
    ship_to_county: Text(30) | None = None
    ship_to_country_region_code: Text(10) | None = None


class SalesHeaderIn(SalesHeaderPatch):
    no: CodeRef(20) = Field(None, description="Blank: the next number of the quote or order number series.")
    sell_to_customer_no: Text(20)
    lines: list[SalesLineIn] = Field(default_factory=list, max_length=1000)


class PostLineIn(_In):
    line_no: int
    qty_to_ship: Quantity | None = None
    qty_to_invoice: Quantity | None = None


class PostIn(_In):
    ship: bool = True
    invoice: bool = True
    posting_date: date | None = None
    lines: list[PostLineIn] = Field(default_factory=list, description="Quantities to post; others as on the lines.")


class PrepaymentIn(_In):
    posting_date: date | None = None


class ApplyIn(_In):
    document_no: Text(20) | None = None
    entry_no: int | None = None
    amount: Amount | None = Field(None, description="Leave out to apply as much as is open.")


class PaymentIn(_In):
    customer_no: Text(20)
    amount: Annotated[Decimal, Field(max_digits=18, decimal_places=5, gt=0, le=Decimal("1e12"))]
    currency_code: CodeRef(10) = None
    posting_date: date | None = None
    document_no: CodeRef(20) = None
    external_document_no: Text(35) = ""
    description: Text(100) = ""
    applies_to: list[ApplyIn] = Field(default_factory=list, max_length=100)


class ApplyPaymentIn(_In):
    posting_date: date | None = None
    applies_to: list[ApplyIn] = Field(min_length=1, max_length=100)


class AdjustmentIn(_In):
    item_no: Text(20)
    quantity: Annotated[Decimal, Field(max_digits=18, decimal_places=5, ge=Decimal("-1e9"), le=Decimal("1e9"))]
    posting_date: date | None = None
    document_no: Text(20) = ""
