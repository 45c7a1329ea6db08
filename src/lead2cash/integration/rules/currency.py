"""CURRENCY (R5): currencies ↔ transaction currencies, coupled by ISO code, rates from the ERP.

Only currencies with a standard ISO 4217 code take part. An uncoupled currency whose ISO code the CRM
already has is coupled to that row instead of creating a second one (the CRM refuses duplicates, and the
base currency is always there). The CRM exchange rate is units of the currency per unit of the base
currency; it is computed from the ERP's latest rate when the ERP's local currency is the CRM base
currency (the usual setup), and left alone otherwise.
"""

from __future__ import annotations

import uuid
from decimal import Decimal
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from lead2cash.erp.model import Currency, CurrencyExchangeRate, GeneralSetup
from lead2cash.erp.services.rules import is_iso_currency
from lead2cash.integration.engine.context import SyncContext
from lead2cash.integration.rules import EntityRule, register


def _iso(record: Currency) -> str:
    return (record.iso_code or record.code or "").upper()


class CurrencyRule(EntityRule):
    mappings = ("CURRENCY",)

    def ignore_erp(self, ctx: SyncContext, session: Session, records: list[Any]) -> set[uuid.UUID]:
        return {r.id for r in records if not is_iso_currency(_iso(r))}

    def match_crm(self, ctx: SyncContext, session: Session, records: list[Any]) -> dict[uuid.UUID, uuid.UUID]:
        codes = {_iso(r) for r in records}
        if not codes:
            return {}
        found = {
            str(row["isocurrencycode"]).upper(): uuid.UUID(row["transactioncurrencyid"])
            for row in ctx.client.query("transactioncurrencies", select=["transactioncurrencyid", "isocurrencycode"])
        }
        return {r.id: found[_iso(r)] for r in records if _iso(r) in found}

    def complete_crm(self, ctx: SyncContext, session: Session, record: Any, payload: dict, insert: bool) -> None:
        payload["isocurrencycode"] = _iso(record)
        if not payload.get("currencyname"):
            payload["currencyname"] = record.description or record.code
        rate = self._rate(session, record)
        if rate is not None:
            payload["exchangerate"] = float(rate)

    def _rate(self, session: Session, record: Currency) -> Decimal | None:
        setup = session.scalars(select(GeneralSetup)).first()
        if setup is None:
            return None
        latest = session.scalars(
            select(CurrencyExchangeRate)
            .where(CurrencyExchangeRate.currency_code == record.code)
            .order_by(CurrencyExchangeRate.starting_date.desc())
            .limit(1)
        ).first()
        if latest is None or not latest.relational_exch_rate_amount:
            return None
        # ERP: exchange_rate_amount units of the currency = relational amount of local currency
        return (latest.exchange_rate_amount / latest.relational_exch_rate_amount).quantize(Decimal("0.0000000001"))


register(CurrencyRule())
