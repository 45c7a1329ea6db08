"""Alternate keys match case-insensitively on every database, as in Dataverse: single-row lookups and upserts
by key, uniqueness, and bulk matching; on PostgreSQL the lookup is served by the key's unique index."""

from __future__ import annotations

import backends
import pytest
import sqlalchemy as sa

from lead2cash.crm.metadata import AlternateKeyDef

crm_app = backends.crm_app  # every test runs on SQLite and, when configured, on PostgreSQL
API = "/api/data/v9.2"
ACCOUNT = "Microsoft.Dynamics.CRM.account"


@pytest.fixture
def keyed(crm_app):
    crm_app.state.l2c_store.add_key("account", AlternateKeyDef("accountnumber_key", ("accountnumber",)))
    return crm_app


def test_key_lookup_and_upsert_ignore_case(keyed, crm_client):
    created = crm_client.post(f"{API}/accounts", json={"name": "Mixed", "accountnumber": "AbC-1"})
    assert created.status_code == 204, created.text
    found = crm_client.get(f"{API}/accounts(accountnumber='abc-1')?$select=name,accountnumber")
    assert found.status_code == 200, found.text
    assert (found.json()["name"], found.json()["accountnumber"]) == ("Mixed", "AbC-1")

    upsert = crm_client.patch(f"{API}/accounts(accountnumber='ABC-1')", json={"name": "Renamed"})
    assert upsert.status_code == 204, upsert.text
    assert (
        crm_client.patch(
            f"{API}/accounts(accountnumber='abc-1')", json={"name": "Again"}, headers={"If-None-Match": "*"}
        ).status_code
        == 412
    )  # it exists: "create only" refuses
    rows = crm_client.get(f"{API}/accounts", params={"$select": "name", "$filter": "accountnumber eq 'abc-1'"})
    assert [r["name"] for r in rows.json()["value"]] == ["Renamed"]


def test_keys_differing_only_in_case_are_duplicates(keyed, crm_client):
    assert crm_client.post(f"{API}/accounts", json={"name": "One", "accountnumber": "dup-1"}).status_code == 204
    clash = crm_client.post(f"{API}/accounts", json={"name": "Two", "accountnumber": "DUP-1"})
    assert clash.status_code == 412
    other = crm_client.post(f"{API}/accounts", json={"name": "Two", "accountnumber": "dup-2"})
    moved = crm_client.patch(API + other.headers["OData-EntityId"].split(API)[1], json={"accountnumber": "Dup-1"})
    assert moved.status_code == 412
    bulk = crm_client.post(
        f"{API}/accounts/Microsoft.Dynamics.CRM.UpsertMultiple",
        json={"Targets": [{"@odata.type": ACCOUNT, "accountnumber": "DUP-1", "name": "Bulk"}]},
    )
    assert bulk.status_code == 204, bulk.text
    names = crm_client.get(f"{API}/accounts", params={"$select": "name,accountnumber", "$orderby": "accountnumber"})
    assert [(r["accountnumber"], r["name"]) for r in names.json()["value"]] == [("DUP-1", "Bulk"), ("dup-2", "Two")]


def test_key_lookup_is_served_by_the_key_index(keyed, crm_client):
    """The statement a key GET runs can use the key's unique index (no scan of the table)."""
    store = keyed.state.l2c_store
    if store.engine.dialect.name != "postgresql":
        pytest.skip("the plan check is for PostgreSQL; SQLite's NOCASE key index is checked by the database")
    assert crm_client.post(f"{API}/accounts", json={"name": "Indexed", "accountnumber": "IX-1"}).status_code == 204
    seen: list[tuple[str, dict]] = []

    def record(_conn, _cursor, statement, params, _context, _many):
        if "FROM account" in statement and "lower(account.accountnumber)" in statement:
            seen.append((statement, params))

    sa.event.listen(store.engine, "before_cursor_execute", record)
    try:
        assert crm_client.get(f"{API}/accounts(accountnumber='ix-1')?$select=name").status_code == 200
    finally:
        sa.event.remove(store.engine, "before_cursor_execute", record)
    assert seen, "the key lookup compares lower(accountnumber)"
    statement, params = seen[0]
    with store.engine.connect() as conn:
        conn.exec_driver_sql("SET enable_seqscan = off")  # a plan without the index would have to scan anyway
        plan = "\n".join(r[0] for r in conn.exec_driver_sql("EXPLAIN " + statement, params))
    assert "uk_account_accountnumber_key" in plan, plan
    assert "Seq Scan" not in plan, plan
