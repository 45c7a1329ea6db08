"""CURRENCY (R5): currencies ↔ transaction currencies, coupled by ISO code, rates from the ERP.

Only currencies with a standard ISO 4217 code take part. An uncoupled currency whose ISO code the CRM
already has is coupled to that row instead of creating a second one (the CRM refuses duplicates, and the
base currency is always there). The CRM exchange rate is units of the currency per unit of the CRM base
currency, computed from the ERP's latest rates whatever the ERP's local currency is
(``engine.currencies``): when the local currency is not the base currency, the rates are divided by the
base currency's own ERP rate, and a currency fails with a message asking for that rate when the ERP has
none, instead of sending a wrong rate. The ERP's currency record for its local currency, if it has one,
is sent too: it becomes the CRM currency of the ERP's local amounts.
"""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy.orm import Session

from lead2cash.erp.model import Currency
from lead2cash.erp.services.rules import is_iso_currency
from lead2cash.integration.engine.context import SyncContext
from lead2cash.integration.engine.currencies import MissingRateError, RateTable, iso_of
from lead2cash.integration.engine.transfer import TransferError
from lead2cash.integration.rules import EntityRule, register

KEY = "CURRENCY"


class CurrencyRule(EntityRule):
    mappings = ("CURRENCY",)

    def ignore_erp(self, ctx: SyncContext, session: Session, records: list[Any]) -> set[uuid.UUID]:
        return {r.id for r in records if not is_iso_currency(iso_of(r))}

    def match_crm(self, ctx: SyncContext, session: Session, records: list[Any]) -> dict[uuid.UUID, uuid.UUID]:
        codes = {iso_of(r) for r in records}
        if not codes:
            return {}
        found = {
            str(row["isocurrencycode"]).upper(): uuid.UUID(row["transactioncurrencyid"])
            for row in ctx.client.query("transactioncurrencies", select=["transactioncurrencyid", "isocurrencycode"])
        }
        return {r.id: found[iso_of(r)] for r in records if iso_of(r) in found}

    def prepare_erp(self, ctx: SyncContext, session: Session, records: list[Any]) -> None:
        ctx.scratch[KEY] = RateTable.load(ctx, session, records)

    def complete_crm(self, ctx: SyncContext, session: Session, record: Currency, payload: dict, insert: bool) -> None:
        payload["isocurrencycode"] = iso_of(record)
        if not payload.get("currencyname"):
            payload["currencyname"] = record.description or record.code
        rates: RateTable | None = ctx.scratch.get(KEY)
        if rates is None:
            rates = RateTable.load(ctx, session, [record])
        try:
            rate = rates.crm_rate(record)
        except MissingRateError as exc:
            raise TransferError(str(exc)) from exc
        if rate is not None:
            payload["exchangerate"] = float(rate)


register(CurrencyRule())
