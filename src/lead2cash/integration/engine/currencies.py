"""The ERP's local currency and the CRM base currency of one run, and CRM exchange rates from ERP rates (R5).

The ERP keeps amounts in its local currency (LCY, a blank currency code on records) and rates as "units
of the currency per unit of LCY"; the CRM keeps amounts in a transaction currency whose exchange rate is
"units of the currency per unit of the organization's base currency". The two agree only when LCY is the
base currency, so both field transfer and the CURRENCY rule go through this module:

* ``run_currencies`` reads, once per run (cached on the context's scratch), the LCY code, the ISO code of
  the CRM base currency and the CRM currency that blank ERP currency codes stand for: the base currency
  when LCY is the base currency, otherwise the CRM currency whose ISO code is LCY (the CURRENCY mapping
  creates it from the ERP's currency record for LCY). Amounts are never converted: an amount stays in the
  currency its record names, and the CRM derives base amounts from that currency's exchange rate. Until
  the CRM has a currency for LCY, LCY amounts go out in the base currency as they are, and the job log of
  each pass that sends such a record says so and how to set the currency up.
* ``crm_exchange_rate`` turns the ERP's latest rates into the CRM rate: rate(X) = (units of X per 1 LCY) /
  (units of base per 1 LCY), LCY itself at 1. Without an ERP rate for the base currency no correct rate
  exists, and the currency fails with a message saying which rate to enter.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from decimal import Decimal

from sqlalchemy import select
from sqlalchemy.orm import Session

from lead2cash.erp.model import Currency, CurrencyExchangeRate, GeneralSetup
from lead2cash.integration.engine.context import SyncContext

KEY = "currencies (R5)"
RATE_PLACES = Decimal("0.0000000001")  # the CRM keeps exchange rates with 10 decimals


class MissingRateError(ValueError):
    """No correct CRM exchange rate can be computed; the message names the currency, the rate and the fix."""


@dataclass(frozen=True)
class RunCurrencies:
    lcy: str  # the ERP's local currency code ("" when the ERP has none set up)
    base_iso: str  # ISO code of the CRM organization's base currency ("" when unknown)
    base_id: uuid.UUID | None
    lcy_crm_id: uuid.UUID | None  # the CRM currency a blank ERP currency code maps to (and back)
    lcy_missing: bool = False  # LCY is not the base currency and the CRM has no currency for it yet

    def missing_note(self) -> str:
        return (
            f"The CRM has no currency {self.lcy}, the ERP's local currency: amounts in {self.lcy} were sent in the "
            f"CRM base currency {self.base_iso}. Add the currency {self.lcy} to the ERP's currencies, enter an "
            f"exchange rate for {self.base_iso} in the ERP and synchronize CURRENCY, then these records again."
        )

    @property
    def lcy_is_base(self) -> bool:
        return not self.lcy or not self.base_iso or self.lcy == self.base_iso


def run_currencies(ctx: SyncContext, session: Session) -> RunCurrencies:
    """LCY, base currency and the CRM row for LCY, read once per run (one ERP query, one CRM request)."""
    found = ctx.scratch.get(KEY)
    if found is None:
        lcy = (session.scalars(select(GeneralSetup.lcy_code)).first() or "").upper()
        by_iso: dict[str, uuid.UUID] = {}
        base_iso = ""
        if ctx.base_currency_id is not None:
            rows = ctx.client.query("transactioncurrencies", select=["transactioncurrencyid", "isocurrencycode"])
            for row in rows:
                iso, crm_id = str(row.get("isocurrencycode") or "").upper(), uuid.UUID(row["transactioncurrencyid"])
                by_iso.setdefault(iso, crm_id)
                if crm_id == ctx.base_currency_id:
                    base_iso = iso
        lcy_crm_id, missing = ctx.base_currency_id, False
        if lcy and base_iso and lcy != base_iso:
            # without a CRM currency for LCY (the CURRENCY mapping creates it from the ERP's currency record
            # for LCY), LCY amounts still go out in the base currency, and the job log says so
            lcy_crm_id, missing = by_iso.get(lcy, ctx.base_currency_id), lcy not in by_iso
        found = RunCurrencies(lcy, base_iso, ctx.base_currency_id, lcy_crm_id, missing)
        ctx.scratch[KEY] = found
    return found


def iso_of(record: Currency) -> str:
    return (record.iso_code or record.code or "").upper()


def units_per_lcy(session: Session, codes: Iterable[str]) -> dict[str, Decimal]:
    """Units of each ERP currency per 1 LCY from its latest exchange rate (one query; no rate: absent)."""
    wanted = {c for c in codes if c}
    if not wanted:
        return {}
    rows = session.execute(
        select(
            CurrencyExchangeRate.currency_code,
            CurrencyExchangeRate.exchange_rate_amount,
            CurrencyExchangeRate.relational_exch_rate_amount,
        )
        .where(CurrencyExchangeRate.currency_code.in_(wanted))
        .order_by(CurrencyExchangeRate.currency_code, CurrencyExchangeRate.starting_date)
    )
    found: dict[str, Decimal] = {}
    for code, amount, relational in rows:  # ordered by date: the latest rate wins
        if amount and relational:
            # ERP: ``amount`` units of the currency = ``relational`` units of LCY
            found[code] = Decimal(amount) / Decimal(relational)
    return found


@dataclass(frozen=True)
class RateTable:
    """What one page of currencies needs to get its CRM rates, looked up set-based."""

    currencies: RunCurrencies
    base_code: str | None  # the ERP currency code of the CRM base currency, if the ERP has it
    per_lcy: dict[str, Decimal]

    @classmethod
    def load(cls, ctx: SyncContext, session: Session, records: list[Currency]) -> RateTable:
        cur = run_currencies(ctx, session)
        base_code = None
        if not cur.lcy_is_base:
            base_code = next(
                iter(
                    session.scalars(
                        select(Currency.code)
                        .where((Currency.iso_code == cur.base_iso) | (Currency.code == cur.base_iso))
                        .order_by(Currency.code != cur.base_iso)
                    )
                ),
                None,
            )
        codes = {r.code for r in records} | ({base_code} if base_code else set())
        return cls(cur, base_code, units_per_lcy(session, codes))

    def _per_lcy(self, code: str, iso: str) -> Decimal | None:
        if iso == self.currencies.lcy:
            return Decimal(1)
        return self.per_lcy.get(code)

    def crm_rate(self, record: Currency) -> Decimal | None:
        """Units of the currency per 1 CRM base currency; ``None``: the ERP has no rate for the currency itself
        (its CRM rate is then left alone, as for a currency the ERP never rated)."""
        cur, iso = self.currencies, iso_of(record)
        if cur.base_iso and iso == cur.base_iso:
            return Decimal(1)
        own = self._per_lcy(record.code, iso)
        if own is None:
            return None  # no ERP rate for the currency itself: the CRM rate is left as it is
        if cur.lcy_is_base:
            return own.quantize(RATE_PLACES)
        base = self.per_lcy.get(self.base_code) if self.base_code else None
        if not base:
            raise MissingRateError(
                f"Currency {record.code}: the CRM exchange rate is per 1 {cur.base_iso} (the CRM base currency), "
                f"but the ERP has no exchange rate for {cur.base_iso} against its local currency {cur.lcy}. "
                f"Enter an exchange rate for {cur.base_iso} in the ERP"
                + ("" if self.base_code else f" (create the currency {cur.base_iso} first)")
                + "."
            )
        return (own / base).quantize(RATE_PLACES)
