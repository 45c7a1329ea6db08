"""CUSTPRCGRP-PRICE and SALESPRC-PRODPRICE (R10): price groups ↔ price lists, group prices ↔ list items.

A customer price group becomes a price list in the base currency (no field row names its currency). A
sales price of type *Customer price group* becomes a price list item of the group's list; the CRM requires
its unit (``uomid``), which is the CRM unit of the item's base unit of measure (looked up per page).
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from lead2cash.erp.model import Item
from lead2cash.integration.engine.context import SyncContext
from lead2cash.integration.engine.transfer import TransferError
from lead2cash.integration.rules import EntityRule, register
from lead2cash.integration.rules.uom import base_units

KEY = "price"


class PriceListRule(EntityRule):
    mappings = ("CUSTPRCGRP-PRICE",)

    def complete_crm(self, ctx: SyncContext, session: Session, record: Any, payload: dict, insert: bool) -> None:
        if insert:
            key, ref = ctx.bind("pricelevel", "transactioncurrencyid", "transactioncurrency", ctx.base_currency_id)
            payload.setdefault(key, ref)
            payload.setdefault("description", record.description)


class PriceRule(EntityRule):
    mappings = ("SALESPRC-PRODPRICE",)

    def prepare_erp(self, ctx: SyncContext, session: Session, records: list[Any]) -> None:
        nos = {r.item_no for r in records}
        item_units = dict(session.execute(select(Item.no, Item.base_unit_of_measure).where(Item.no.in_(nos))).all())
        codes = {r.unit_of_measure_code or item_units.get(r.item_no) for r in records} - {None}
        ctx.scratch[KEY] = {"item_units": item_units, "units": base_units(ctx, session, codes)}

    def complete_crm(self, ctx: SyncContext, session: Session, record: Any, payload: dict, insert: bool) -> None:
        found = ctx.scratch.get(KEY, {})
        code = record.unit_of_measure_code or found.get("item_units", {}).get(record.item_no)
        unit = found.get("units", {}).get(code)
        if unit is None:
            raise TransferError(
                f"Sales price {record.key_value}: unit of measure {code or '(blank)'} of item {record.item_no} is not "
                f"coupled to a CRM unit group with one unit. Synchronize UNIT OF MEASURE first."
            )
        key, ref = ctx.bind("productpricelevel", "uomid", "uom", unit)
        payload[key] = ref


register(PriceListRule())
register(PriceRule())
