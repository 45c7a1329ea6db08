"""Request and response shapes of every master-data resource.

Each resource declares its writable fields once (``…In``); ``derive`` builds the partial-update shape
(every field optional) and the response shape (plus id, timestamps and row version) from it, so the three
never drift apart.
"""

from __future__ import annotations

import uuid
from datetime import date, datetime
from decimal import Decimal
from types import UnionType
from typing import Annotated, Any, Union, get_args, get_origin

from pydantic import BaseModel, ConfigDict, Field, create_model
from pydantic.fields import FieldInfo

from lead2cash.erp.api.types import Amount, Code, CodeRef, Rate, Text, VatPct
from lead2cash.erp.model.enums import (
    ArchivePolicy,
    ContactType,
    CustomerBlocked,
    ItemType,
    OpportunityStatus,
    ResourceType,
    Role,
    SalesType,
    WriteInProductType,
)


class In(BaseModel):
    model_config = ConfigDict(extra="forbid")


class SalespersonIn(In):
    code: Code(20)
    name: Text(50) = ""
    email: Text(80) = ""
    phone_no: Text(30) = ""
    job_title: Text(30) = ""
    commission_pct: Amount = Decimal(0)
    blocked: bool = False


class CurrencyIn(In):
    code: Code(10)
    description: Text(30) = ""
    iso_code: Text(3) = ""
    iso_numeric_code: Text(3) = ""
    symbol: Text(10) = ""
    amount_rounding_precision: Amount = Decimal("0.01")
    unit_amount_rounding_precision: Amount = Decimal("0.00001")


class CurrencyExchangeRateIn(In):
    currency_code: Code(10)
    starting_date: date
    exchange_rate_amount: Rate = Decimal(1)
    relational_exch_rate_amount: Rate


class PaymentTermsIn(In):
    code: Code(10)
    description: Text(100) = ""
    due_date_calculation: Text(32) = ""
    discount_date_calculation: Text(32) = ""
    discount_pct: Amount = Decimal(0)


class ShipmentMethodIn(In):
    code: Code(10)
    description: Text(100) = ""


class ShippingAgentIn(In):
    code: Code(10)
    name: Text(50) = ""
    internet_address: Text(250) = ""
    account_no: Text(30) = ""


class CustomerPriceGroupIn(In):
    code: Code(10)
    description: Text(100) = ""
    price_includes_vat: bool = False
    allow_invoice_disc: bool = True
    allow_line_disc: bool = True


class AddressFields(In):
    address: Text(100) = ""
    address_2: Text(50) = ""
    post_code: Text(20) = ""
    city: Text(30) = ""
    county: Text(30) = ""
    country_region_code: Text(10) = ""
    phone_no: Text(30) = ""
    mobile_phone_no: Text(30) = ""
    email: Text(80) = ""
    fax_no: Text(30) = ""


class CustomerIn(AddressFields):
    no: CodeRef(20) = Field(None, description="Blank: the next number of the customer number series.")
    name: Text(100) = ""
    name_2: Text(50) = ""
    contact: Text(100) = ""
    home_page: Text(80) = ""
    currency_code: CodeRef(10) = None
    salesperson_code: CodeRef(20) = None
    payment_terms_code: CodeRef(10) = None
    shipment_method_code: CodeRef(10) = None
    shipping_agent_code: CodeRef(10) = None
    customer_price_group: CodeRef(10) = None
    credit_limit_lcy: Amount = Decimal(0)
    primary_contact_no: CodeRef(20) = None
    blocked: CustomerBlocked = CustomerBlocked.NONE


class ContactIn(AddressFields):
    no: CodeRef(20) = Field(None, description="Blank: the next number of the contact number series.")
    type: ContactType = ContactType.COMPANY
    company_no: CodeRef(20) = None
    name: Text(100) = ""
    first_name: Text(30) = ""
    middle_name: Text(30) = ""
    surname: Text(30) = ""
    job_title: Text(30) = ""
    salesperson_code: CodeRef(20) = None
    currency_code: CodeRef(10) = None
    customer_no: CodeRef(20) = Field(None, description="Business relation of a company contact to a customer.")


class UnitOfMeasureIn(In):
    code: Code(10)
    description: Text(50) = ""
    international_standard_code: Text(10) = ""


class ItemIn(In):
    no: CodeRef(20) = Field(None, description="Blank: the next number of the item number series.")
    type: ItemType = ItemType.INVENTORY
    description: Text(100) = ""
    description_2: Text(50) = ""
    base_unit_of_measure: CodeRef(10) = None
    unit_price: Amount = Decimal(0)
    unit_cost: Amount = Decimal(0)
    vat_pct: VatPct = Decimal(0)
    vendor_no: Text(20) = ""
    vendor_item_no: Text(50) = ""
    gross_weight: Amount = Decimal(0)
    unit_volume: Amount = Decimal(0)
    blocked: bool = False


class ResourceIn(In):
    no: CodeRef(20) = Field(None, description="Blank: the next number of the resource number series.")
    type: ResourceType = ResourceType.PERSON
    name: Text(100) = ""
    base_unit_of_measure: CodeRef(10) = None
    unit_price: Amount = Decimal(0)
    unit_cost: Amount = Decimal(0)
    capacity: Amount = Decimal(0)
    vat_pct: VatPct = Decimal(0)
    blocked: bool = False


class SalesPriceIn(In):
    item_no: Code(20)
    sales_type: SalesType = SalesType.CUSTOMER_PRICE_GROUP
    sales_code: Text(20) = ""
    currency_code: CodeRef(10) = None
    unit_of_measure_code: CodeRef(10) = None
    minimum_quantity: Amount = Decimal(0)
    unit_price: Amount
    starting_date: date | None = None
    ending_date: date | None = None


class OpportunityIn(In):
    no: CodeRef(20) = Field(None, description="Blank: the next number of the opportunity number series.")
    description: Text(100) = ""
    contact_no: CodeRef(20) = None
    salesperson_code: CodeRef(20) = None
    status: OpportunityStatus = OpportunityStatus.NOT_STARTED
    estimated_value_lcy: Amount = Decimal(0)
    estimated_closing_date: date | None = None
    probability_pct: int = Field(0, ge=0, le=100)
    date_closed: date | None = None


class NoSeriesIn(In):
    code: Code(20)
    description: Text(100) = ""
    starting_no: Text(20)
    last_no_used: Text(20) = ""
    increment_by: int = Field(1, ge=1, le=1000)


class GeneralSetupIn(In):
    lcy_code: Text(10) = ""
    lcy_description: Text(60) = ""


class SalesSetupIn(In):
    write_in_product_type: WriteInProductType = WriteInProductType.ITEM
    write_in_product_no: Text(20) = ""
    freight_gl_account_no: Text(20) = ""
    archive_quotes: ArchivePolicy = ArchivePolicy.ALWAYS
    archive_orders: bool = True
    customer_nos: Text(20) = ""
    item_nos: Text(20) = ""
    resource_nos: Text(20) = ""
    contact_nos: Text(20) = ""
    opportunity_nos: Text(20) = ""
    quote_nos: Text(20) = ""
    order_nos: Text(20) = ""
    posted_shipment_nos: Text(20) = ""
    posted_invoice_nos: Text(20) = ""
    posted_prepmt_inv_nos: Text(20) = ""
    payment_nos: Text(20) = ""


class ErpUserIn(In):
    user_name: Code(50)
    full_name: Text(80) = ""
    email: Text(80) = ""
    role: Role = Role.ORDER_PROCESSOR
    enabled: bool = True


class RecordOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    id: uuid.UUID
    created_at: datetime
    modified_at: datetime
    row_version: int


def _plain(annotation: Any) -> Any:
    """The annotation without its input constraints (responses are not validated against them)."""
    if get_origin(annotation) is Annotated:
        return _plain(get_args(annotation)[0])
    if get_origin(annotation) in (Union, UnionType):
        return Union[tuple(_plain(a) for a in get_args(annotation))]  # noqa: UP007
    return annotation


def constrained(field: FieldInfo) -> Any:
    """The field's type with its constraints (max length, pattern, bounds …), which pydantic keeps apart."""
    return Annotated[(field.annotation, *field.metadata)] if field.metadata else field.annotation


def derive(
    schema: type[In], name: str, extra_out: dict[str, Any] | None = None
) -> tuple[type[BaseModel], type[BaseModel]]:
    """(partial-update model, response model) for a writable model."""
    patch_fields = {n: (constrained(f) | None, None) for n, f in schema.model_fields.items()}
    patch = create_model(f"{name}Patch", __base__=In, **patch_fields)
    out_fields = {n: (_plain(f.annotation) | None, None) for n, f in schema.model_fields.items()}
    out_fields.update(extra_out or {})
    out = create_model(f"{name}", __base__=RecordOut, **out_fields)
    return patch, out
