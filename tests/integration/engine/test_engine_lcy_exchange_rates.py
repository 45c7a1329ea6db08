"""R5 when the ERP's local currency is not the CRM base currency: the ERP (LCY EUR) against a CRM org whose
base currency is USD, over HTTP. CRM exchange rates are per 1 USD, computed from the ERP's EUR rates; local
amounts go out in the CRM's EUR currency, so the CRM's base amounts are right; a missing USD rate fails the
currency with a message saying which rate to enter instead of sending a wrong rate."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest
from sqlalchemy import select

from lead2cash.erp.model import Currency, CurrencyExchangeRate, Customer, GeneralSetup
from lead2cash.erp.services import records
from lead2cash.integration.coupling_model import Coupling


def add_currency(engine, code: str, eur_per_unit: str | None, description: str = "") -> None:
    """A currency and, when given, its rate: 1 unit = ``eur_per_unit`` EUR (the ERP's LCY)."""
    with engine.sessions() as s, s.begin():
        records.create(s, records.RecordType(Currency), {"code": code, "description": description or code,
                                                          "iso_code": code})  # fmt: skip
        if eur_per_unit is not None:
            add_rate(s, code, eur_per_unit, date(2026, 1, 1))


def add_rate(session, code: str, eur_per_unit: str, starting: date) -> None:
    records.create(session, records.RecordType(CurrencyExchangeRate), {
        "currency_code": code, "starting_date": starting,
        "exchange_rate_amount": Decimal(1), "relational_exch_rate_amount": Decimal(eur_per_unit),
    })  # fmt: skip


def crm_currencies(crm) -> dict[str, dict]:
    rows = crm.get("transactioncurrencies", params={"$select": "isocurrencycode,exchangerate"}).json()["value"]
    return {r["isocurrencycode"]: r for r in rows}


def crm_id_of(engine, model, key: str):
    with engine.sessions() as s:
        erp_id = s.scalars(select(model.id).where(getattr(model, model.__key__) == key)).one()
        return s.scalars(select(Coupling.crm_id).where(Coupling.erp_id == erp_id)).one()


def test_rates_are_per_crm_base_currency_and_local_amounts_go_out_in_the_local_currency(engine, crm):
    with engine.sessions() as s:
        assert s.scalars(select(GeneralSetup.lcy_code)).one() == "EUR"
    assert "USD" in crm_currencies(crm)  # the org's base currency
    add_currency(engine, "EUR", None, "Euro")  # the ERP's own currency record for LCY (no rate: it is 1)
    add_currency(engine, "USD", "0.92", "US dollar")  # 1 USD = 0.92 EUR
    add_currency(engine, "GBP", None, "Pound")
    with engine.sessions() as s, s.begin():  # two GBP rates: the latest counts
        add_rate(s, "GBP", "1.10", date(2025, 6, 1))
        add_rate(s, "GBP", "1.17", date(2026, 1, 1))
    [job] = engine.run("CURRENCY", full=True)
    assert job.failed == 0, [e.message for e in job.errors]
    rates = {iso: Decimal(str(r["exchangerate"])) for iso, r in crm_currencies(crm).items()}
    assert rates["USD"] == 1  # the base currency (coupled by ISO code, not duplicated)
    assert abs(rates["EUR"] - Decimal("0.92")) < Decimal("1e-9")  # 0.92 EUR per USD
    assert abs(rates["GBP"] - Decimal("0.92") / Decimal("1.17")) < Decimal("1e-9")  # 0.786… GBP per USD
    assert len(rates) == 3

    engine.run("SALESPEOPLE", full=True)
    with engine.sessions() as s, s.begin():
        rt = records.RecordType(Customer)
        records.create(s, rt, {"no": "L1", "name": "Local", "salesperson_code": "AT",
                               "credit_limit_lcy": Decimal("920")})  # fmt: skip
        records.create(s, rt, {"no": "G1", "name": "Pounds", "salesperson_code": "AT", "currency_code": "GBP"})
    to_job, _ = engine.run("CUSTOMER", full=True)
    assert (to_job.inserted, to_job.failed) == (2, 0), [e.message for e in to_job.errors]
    local = crm.get(f"accounts({crm_id_of(engine, Customer, 'L1')})").json()
    pounds = crm.get(f"accounts({crm_id_of(engine, Customer, 'G1')})").json()
    assert local["_transactioncurrencyid_value"] == str(crm_id_of(engine, Currency, "EUR"))
    assert pounds["_transactioncurrencyid_value"] == str(crm_id_of(engine, Currency, "GBP"))
    # the amount stays in EUR; the CRM's base amount is 920 EUR in USD = 1000 USD
    assert local["creditlimit"] == 920 and abs(local["creditlimit_base"] - 1000) < 1e-6

    # accounts typed in the CRM: one in EUR comes back with the blank (local) currency, one in USD with USD
    body = {
        "name": "Typed in EUR",
        "customertypecode": 3,
        "transactioncurrencyid@odata.bind": f"/transactioncurrencies({crm_id_of(engine, Currency, 'EUR')})",
    }
    crm.post("accounts", json=body).raise_for_status()
    crm.post("accounts", json={"name": "Typed in USD", "customertypecode": 3}).raise_for_status()  # base default
    _, from_job = engine.run("CUSTOMER", full=True)
    assert (from_job.inserted, from_job.failed) == (2, 0), [e.message for e in from_job.errors]
    with engine.sessions() as s:
        got = dict(s.execute(select(Customer.name, Customer.currency_code).where(Customer.name.like("Typed%"))).all())
    assert got == {"Typed in EUR": None, "Typed in USD": "USD"}

    # idle afterwards: nothing is written on either side
    erp_before, crm_before = engine.erp_version(), engine.crm_version()
    for name in ("CURRENCY", "CUSTOMER"):
        for job in engine.run(name):
            assert job.inserted == job.modified == job.failed == 0, (name, job.counts)
    assert (engine.erp_version(), engine.crm_version()) == (erp_before, crm_before)


def test_no_erp_rate_for_the_crm_base_currency_fails_the_currency_until_one_is_entered(engine, crm):
    add_currency(engine, "USD", None, "US dollar")
    add_currency(engine, "GBP", "1.17", "Pound")
    [job] = engine.run("CURRENCY", full=True)
    assert (job.inserted, job.failed) == (1, 1)  # USD itself is the base currency: its rate is 1 anyway
    [error] = job.errors
    assert error.source == "Currency GBP"
    assert "no exchange rate for USD" in error.message and "Enter an exchange rate for USD in the ERP" in error.message
    assert "GBP" not in crm_currencies(crm)  # nothing sent rather than a wrong rate
    with engine.sessions() as s, s.begin():
        add_rate(s, "USD", "0.92", date(2026, 1, 1))
    [job] = engine.run("CURRENCY")  # the failed currency is retried by the next scheduled run
    assert (job.inserted, job.failed) == (1, 0), [e.message for e in job.errors]
    assert crm_currencies(crm)["GBP"]["exchangerate"] == pytest.approx(0.92 / 1.17, abs=1e-9)


def test_without_a_usd_currency_in_the_erp_the_message_says_to_create_it(engine, crm):
    add_currency(engine, "GBP", "1.17", "Pound")
    [job] = engine.run("CURRENCY", full=True)
    assert job.failed == 1
    assert "create the currency USD first" in job.errors[0].message


def test_when_the_local_currency_is_the_base_currency_erp_rates_are_used_as_they_are(engine, crm):
    with engine.sessions() as s, s.begin():
        s.scalars(select(GeneralSetup)).one().lcy_code = "USD"
    add_currency(engine, "GBP", None, "Pound")
    with engine.sessions() as s, s.begin():
        add_rate(s, "GBP", "1.25", date(2026, 1, 1))  # 1 GBP = 1.25 USD
    [job] = engine.run("CURRENCY", full=True)
    assert job.failed == 0, [e.message for e in job.errors]
    assert crm_currencies(crm)["GBP"]["exchangerate"] == pytest.approx(0.8, abs=1e-9)
