"""End-to-end synchronization of salespeople, currencies and customers against a real CRM org over HTTP."""

from __future__ import annotations

import uuid
from decimal import Decimal

from sqlalchemy import select

from lead2cash.erp.model import Currency, Customer, Salesperson
from lead2cash.erp.services import records
from lead2cash.integration.coupling_model import Coupling
from lead2cash.integration.mapping.enums import SyncResult


def add_customers(engine, n: int, salesperson: str | None = None, prefix: str = "C") -> list[str]:
    with engine.sessions() as s, s.begin():
        rt = records.RecordType(Customer)
        for i in range(n):
            records.create(
                s,
                rt,
                {
                    "no": f"{prefix}{i:04d}",
                    "name": f"Customer {prefix}{i}",
                    "city": "Ghent",
                    "salesperson_code": salesperson,
                    "credit_limit_lcy": Decimal("1000.50"),
                },
            )
    return [f"{prefix}{i:04d}" for i in range(n)]


def counts(job) -> dict:
    return {k: v for k, v in job.counts.items() if v}


def test_full_sync_salespeople_currency_customers_then_idle(engine, crm):
    [sp_job] = engine.run("SALESPEOPLE", full=True)
    # the three salespeople and the administrator; never the integration (application) user
    assert counts(sp_job) == {"inserted": 4}, [e.message for e in sp_job.errors]
    with engine.sessions() as s:
        codes = set(s.scalars(select(Salesperson.code)))
    assert {"AT", "BD", "CP"} <= codes and len(codes) == 4
    with engine.sessions() as s, s.begin():
        records.create(s, records.RecordType(Currency), {"code": "GBP", "description": "Pound", "iso_code": "GBP"})
    [cur_job] = engine.run("CURRENCY", full=True)
    assert cur_job.failed == 0, [e.message for e in cur_job.errors]
    add_customers(engine, 30, salesperson="AT")
    to_job, from_job = engine.run("CUSTOMER", full=True)
    assert counts(to_job) == {"inserted": 30}, [e.message for e in to_job.errors]
    accounts = crm.get("accounts", params={"$select": "name,address1_city,creditlimit,_ownerid_value",
                                           "$filter": "startswith(name,'Customer C')"}).json()["value"]  # fmt: skip
    assert len(accounts) == 30
    assert {a["address1_city"] for a in accounts} == {"Ghent"}
    assert {a["creditlimit"] for a in accounts} == {1000.5}
    assert {a["_ownerid_value"] for a in accounts} == {seed_user("alicia@lead2cash.local", crm)}
    assert from_job.failed == 0, [e.message for e in from_job.errors]
    # idle: nothing written on either side
    erp_before, crm_before = engine.erp_version(), engine.crm_version()
    for name in ("SALESPEOPLE", "CURRENCY", "CUSTOMER"):
        for job in engine.run(name):
            assert job.inserted == job.modified == job.failed == 0, (name, counts(job))
    assert engine.erp_version() == erp_before
    assert engine.crm_version() == crm_before


def seed_user(email: str, crm) -> str:
    rows = crm.get("systemusers", params={"$filter": f"internalemailaddress eq '{email}'",
                                          "$select": "systemuserid"}).json()["value"]  # fmt: skip
    return rows[0]["systemuserid"]


def test_uncoupled_salesperson_fails_customer_then_retried_after_coupling(engine, crm):
    with engine.sessions() as s, s.begin():
        records.create(s, records.RecordType(Salesperson), {"code": "JR", "name": "Jo Roe"})
    add_customers(engine, 3, salesperson="JR", prefix="R")
    add_customers(engine, 2, prefix="OK")
    to_job, _ = engine.run("CUSTOMER", full=True)
    assert (to_job.inserted, to_job.failed) == (2, 3)
    assert all("Salesperson JR (salesperson_code) is not coupled" in e.message for e in to_job.errors)
    # couple JR to a CRM user; the next scheduled run (not a full sync) retries the failed customers
    from lead2cash.integration.couplings import couple

    with engine.sessions() as s, s.begin():
        jr = s.scalars(select(Salesperson).where(Salesperson.code == "JR")).one()
        coupling = couple(s, "salesperson", jr.id, "systemuser", uuid.UUID(seed_user("bart@lead2cash.local", crm)))
        coupling.crm_version = 1  # as if synchronized
    to_job, _ = engine.run("CUSTOMER")
    assert (to_job.inserted, to_job.failed) == (3, 0), [e.message for e in to_job.errors]
    with engine.sessions() as s:
        results = set(s.scalars(select(Coupling.last_to_crm_result).where(Coupling.erp_table == "customer")))
    assert results == {SyncResult.SUCCESS}
    # created as a customer account like any other new account (R3), owned by the now coupled user (R2)
    rows = crm.get("accounts", params={"$filter": "startswith(name,'Customer R')",
                                       "$select": "customertypecode,_ownerid_value"}).json()["value"]  # fmt: skip
    assert {(r["customertypecode"], r["_ownerid_value"]) for r in rows} == {(3, seed_user("bart@lead2cash.local", crm))}


def test_cli_sync_run_uses_the_connection_setup(engine, crm, monkeypatch):
    from typer.testing import CliRunner

    from lead2cash.cli import app
    from lead2cash.config import get_settings
    from lead2cash.integration.setup.service import update

    secret_key = "engine-cli-test-secret-key-0123456789abcdef"
    with engine.sessions() as s, s.begin():
        update(s, {"server_address": engine.org.url, "authority": engine.org.url, "tenant_id": engine.org.tenant,
                   "client_id": engine.client.client.settings.client_id, "client_secret": engine.org.secret},
               secret_key)  # fmt: skip
    add_customers(engine, 2, prefix="CLI")
    monkeypatch.setenv("L2C_DATABASE_URL", engine.db.url)
    monkeypatch.setenv("L2C_SECRET_KEY", secret_key)
    get_settings.cache_clear()
    try:
        result = CliRunner().invoke(app, ["sync", "run", "CUSTOMER", "--full"])
    finally:
        get_settings.cache_clear()
    assert result.exit_code == 0, result.output
    assert "CUSTOMER" in result.output
    names = {a["name"] for a in crm.get("accounts", params={"$select": "name"}).json()["value"]}
    assert {"Customer CLI0", "Customer CLI1"} <= names
