"""The master-data resources of the REST API, one line each: path, record type, schema, filters."""

from __future__ import annotations

from datetime import date

from fastapi import APIRouter

from lead2cash.erp.api import schemas as s
from lead2cash.erp.api.auth import ADMINS
from lead2cash.erp.api.crud import add_resource
from lead2cash.erp.model import (
    Contact,
    Currency,
    CurrencyExchangeRate,
    Customer,
    CustomerPriceGroup,
    Item,
    NoSeries,
    Opportunity,
    PaymentTerms,
    Resource,
    Salesperson,
    SalesPrice,
    ShipmentMethod,
    ShippingAgent,
    UnitOfMeasure,
)
from lead2cash.erp.services.records import RecordType

RESOURCES: list[tuple[str, RecordType, type[s.In], dict]] = [
    ("salespeople", RecordType(Salesperson, filters=("blocked",)), s.SalespersonIn, {}),
    ("currencies", RecordType(Currency, filters=("iso_code",)), s.CurrencyIn, {}),
    (
        "currency-exchange-rates",
        RecordType(CurrencyExchangeRate, filters=("currency_code",)),
        s.CurrencyExchangeRateIn,
        {},
    ),
    ("payment-terms", RecordType(PaymentTerms), s.PaymentTermsIn, {}),
    ("shipment-methods", RecordType(ShipmentMethod), s.ShipmentMethodIn, {}),
    ("shipping-agents", RecordType(ShippingAgent), s.ShippingAgentIn, {}),
    ("customer-price-groups", RecordType(CustomerPriceGroup), s.CustomerPriceGroupIn, {}),
    ("units-of-measure", RecordType(UnitOfMeasure), s.UnitOfMeasureIn, {}),
    (
        "customers",
        RecordType(
            Customer,
            "customer_nos",
            filters=(
                "salesperson_code",
                "currency_code",
                "customer_price_group",
                "blocked",
                "city",
                "country_region_code",
            ),
        ),
        s.CustomerIn,
        {},
    ),
    (
        "contacts",
        RecordType(Contact, "contact_nos", filters=("type", "company_no", "customer_no", "salesperson_code")),
        s.ContactIn,
        {"company_name": (str | None, None)},
    ),
    (
        "items",
        RecordType(Item, "item_nos", filters=("type", "base_unit_of_measure", "blocked")),
        s.ItemIn,
        {},
    ),
    (
        "resources",
        RecordType(Resource, "resource_nos", filters=("base_unit_of_measure", "blocked")),
        s.ResourceIn,
        {},
    ),
    (
        "sales-prices",
        RecordType(SalesPrice, filters=("item_no", "sales_type", "sales_code", "currency_code")),
        s.SalesPriceIn,
        {},
    ),
    (
        "opportunities",
        RecordType(Opportunity, "opportunity_nos", filters=("contact_no", "salesperson_code", "status")),
        s.OpportunityIn,
        {"contact_company_no": (str | None, None), "creation_date": (date | None, None)},
    ),
]


def router() -> APIRouter:
    api = APIRouter()
    for path, rtype, schema, extra in RESOURCES:
        add_resource(api, path, rtype, schema, extra_out=extra)
    add_resource(api, "no-series", RecordType(NoSeries), s.NoSeriesIn, write_roles=ADMINS)
    return api
