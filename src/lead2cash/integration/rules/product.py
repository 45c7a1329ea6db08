"""ITEM-PRODUCT and RESOURCE-PRODUCT (R7, R9): items and resources ↔ CRM products, default price list.

New products get their type (items: Sales Inventory, resources: Services, R9), the CRM unit of their base
unit of measure (``defaultuomid``, required by the CRM) and the default price list. An item's quantity on
hand is the sum of its item ledger entries (one grouped query per page). After each page the default price
list (created once, under a fixed id) gets one price per product — the item's or resource's unit price (R7)
— written as upserts under ids derived from the product, so repeating a page changes nothing.
"""

from __future__ import annotations

import uuid
from decimal import Decimal
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from lead2cash.erp.model import ItemLedgerEntry
from lead2cash.integration.engine.context import SyncContext
from lead2cash.integration.engine.record import ID_NAMESPACE
from lead2cash.integration.engine.transfer import TransferError, crm_json
from lead2cash.integration.rules import EntityRule, register
from lead2cash.integration.rules.uom import base_units

KEY = "product"
DEFAULT_PRICE_LIST = uuid.uuid5(ID_NAMESPACE, "default-price-list")
DEFAULT_PRICE_LIST_NAME = "ERP default price list"


def ensure_default_price_list(ctx: SyncContext) -> uuid.UUID:
    if not ctx.scratch.get("default_price_list"):
        key, ref = ctx.bind("pricelevel", "transactioncurrencyid", "transactioncurrency", ctx.base_currency_id)
        ctx.client.upsert("pricelevels", str(DEFAULT_PRICE_LIST), {"name": DEFAULT_PRICE_LIST_NAME, key: ref})
        ctx.scratch["default_price_list"] = True
    return DEFAULT_PRICE_LIST


def price_id(product_id: uuid.UUID) -> uuid.UUID:
    return uuid.uuid5(ID_NAMESPACE, f"default-price/{product_id}")


class ProductRule(EntityRule):
    mappings = ("ITEM-PRODUCT", "RESOURCE-PRODUCT")

    def prepare_erp(self, ctx: SyncContext, session: Session, records: list[Any]) -> None:
        units = base_units(ctx, session, {r.base_unit_of_measure for r in records if r.base_unit_of_measure})
        is_item = bool(records) and records[0].__tablename__ == "item"
        stock: dict[str, Decimal] = {}
        if is_item:
            nos = [r.no for r in records]
            stock = dict(
                session.execute(
                    select(ItemLedgerEntry.item_no, func.sum(ItemLedgerEntry.quantity))
                    .where(ItemLedgerEntry.item_no.in_(nos))
                    .group_by(ItemLedgerEntry.item_no)
                ).all()
            )
        ctx.scratch[KEY] = {"units": units, "stock": stock, "is_item": is_item}
        if records:
            ensure_default_price_list(ctx)

    def complete_crm(self, ctx: SyncContext, session: Session, record: Any, payload: dict, insert: bool) -> None:
        found = ctx.scratch.get(KEY, {})
        if found.get("is_item"):
            payload["quantityonhand"] = crm_json(Decimal(found["stock"].get(record.no) or 0))
        if not insert:
            return
        unit = found.get("units", {}).get(record.base_unit_of_measure)
        if unit is None:
            raise TransferError(
                f"{record.label()} {record.no}: base unit of measure {record.base_unit_of_measure or '(blank)'} is "
                f"not coupled to a CRM unit group with one unit. Synchronize UNIT OF MEASURE first."
            )
        payload["producttypecode"] = 1 if found.get("is_item") else 3
        payload.setdefault("quantitydecimal", 2)
        for attribute, target, crm_id in (
            ("defaultuomid", "uom", unit),
            ("pricelevelid", "pricelevel", DEFAULT_PRICE_LIST),
        ):
            key, ref = ctx.bind("product", attribute, target, crm_id)
            payload[key] = ref

    def after_crm_write(self, ctx: SyncContext, session: Session, written: list[tuple[Any, uuid.UUID, bool]]) -> None:
        units = ctx.scratch.get(KEY, {}).get("units", {})
        targets = []
        for record, product_id, _inserted in written:
            unit = units.get(record.base_unit_of_measure)
            if unit is None:
                continue
            row = {"pricingmethodcode": 1, "amount": crm_json(Decimal(record.unit_price))}
            for attribute, target, crm_id in (
                ("pricelevelid", "pricelevel", DEFAULT_PRICE_LIST),
                ("productid", "product", product_id),
                ("uomid", "uom", unit),
            ):
                key, ref = ctx.bind("productpricelevel", attribute, target, crm_id)
                row[key] = ref
            targets.append({**row, "productpricelevelid": str(price_id(product_id))})
        if targets:
            ctx.client.upsert_multiple("productpricelevels", targets)


register(ProductRule())
