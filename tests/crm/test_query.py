"""Collection queries: $select/$orderby/$top/$count/$expand and paging through opaque absolute nextLinks."""

from __future__ import annotations

from decimal import Decimal
from functools import cmp_to_key
from urllib.parse import urlsplit

import pytest

from lead2cash.crm.store import Store

API = "/api/data/v9.2"


class _Caller:
    systemuserid = "00000000-0000-0000-0000-000000000001"


def seed_accounts(store: Store, rows: list[dict]) -> list[str]:
    with store.unit_of_work(_Caller()) as uow:
        entity = store.registry.get("account")
        return [uow.create(entity, row) for row in rows]


def follow(client, url: str, headers: dict | None = None) -> list[dict]:
    """Every row of a paged collection, following nextLinks verbatim (path part only: TestClient)."""
    rows, pages = [], 0
    while url:
        response = client.get(url, headers=headers or {})
        assert response.status_code == 200, response.text
        body = response.json()
        rows += body["value"]
        pages += 1
        link = body.get("@odata.nextLink")
        if link:
            assert link.startswith("http://testserver/api/data/v9.2/accounts?")
            parts = urlsplit(link)
            url = f"{parts.path}?{parts.query}"
        else:
            url = None
    return rows


@pytest.mark.parametrize(
    "orderby",
    ["", "name", "name desc", "creditlimit desc,name", "telephone1,name desc"],
)
def test_paging_returns_every_row_once_in_order(crm_client, crm_app, orderby):
    store = crm_app.state.l2c_store
    data = [
        {
            "name": f"Acc {i % 7}",
            "creditlimit": Decimal(i % 5) if i % 3 else None,
            "telephone1": None if i % 2 else f"{i % 4}",
        }
        for i in range(53)
    ]
    ids = seed_accounts(store, data)
    url = f"{API}/accounts?$select=name,creditlimit,telephone1" + (f"&$orderby={orderby}" if orderby else "")
    rows = follow(crm_client, url, {"Prefer": "odata.maxpagesize=10"})
    assert sorted(r["accountid"] for r in rows) == sorted(ids)
    assert [r["accountid"] for r in rows] == reference_order(rows, orderby)


def reference_order(rows: list[dict], orderby: str) -> list[str]:
    """Dataverse's order: case-insensitive text, NULLs first ascending / last descending, then the key."""
    keys = [(p.split()[0], p.split()[-1] == "desc") for p in orderby.split(",") if p.strip()]

    def compare(a: dict, b: dict) -> int:
        for name, desc in keys:
            va, vb = a[name], b[name]
            va = va.lower() if isinstance(va, str) else va
            vb = vb.lower() if isinstance(vb, str) else vb
            if va == vb:
                continue
            result = (-1 if va is None else 1) if va is None or vb is None else -1 if va < vb else 1
            return -result if desc else result
        return (a["accountid"] > b["accountid"]) - (a["accountid"] < b["accountid"])

    return [r["accountid"] for r in sorted(rows, key=cmp_to_key(compare))]


def test_page_size_is_applied_and_reported(crm_client, crm_app):
    seed_accounts(crm_app.state.l2c_store, [{"name": f"A{i}"} for i in range(5)])
    response = crm_client.get(f"{API}/accounts?$select=name", headers={"Prefer": "odata.maxpagesize=2"})
    body = response.json()
    assert len(body["value"]) == 2
    assert "odata.maxpagesize=2" in response.headers["Preference-Applied"]
    # the link alone carries the page size: a client re-issuing only its query string gets the same pages
    link = urlsplit(body["@odata.nextLink"])
    second = crm_client.get(f"{link.path}?{link.query}").json()
    assert len(second["value"]) == 2


def test_top_orderby_and_count(crm_client, crm_app):
    seed_accounts(crm_app.state.l2c_store, [{"name": n} for n in ["b", "C", "a", "d"]])
    body = crm_client.get(f"{API}/accounts?$select=name&$orderby=name desc&$top=3&$count=true").json()
    assert [r["name"] for r in body["value"]] == ["d", "C", "b"]  # case-insensitive like Dataverse
    assert body["@odata.count"] == 4
    assert "@odata.nextLink" not in body


def test_filter_is_applied_to_collections(crm_client, crm_app):
    seed_accounts(crm_app.state.l2c_store, [{"name": "Contoso"}, {"name": "Fabrikam"}, {"name": "contoso east"}])
    body = crm_client.get(f"{API}/accounts", params={"$select": "name", "$filter": "startswith(name,'CONTOSO')"}).json()
    assert sorted(r["name"] for r in body["value"]) == ["Contoso", "contoso east"]
    bad = crm_client.get(f"{API}/accounts", params={"$filter": "name eq"})
    assert bad.status_code == 400
    assert bad.json()["error"]["code"].startswith("0x")


def test_expand_single_and_collection_valued(crm_client):
    account = crm_client.post(f"{API}/accounts", json={"name": "Parent"}).headers["OData-EntityId"]
    account_id = account.rsplit("(", 1)[1].rstrip(")")
    for last in ["Zed", "Amy"]:
        crm_client.post(
            f"{API}/contacts",
            json={"lastname": last, "parentcustomerid_account@odata.bind": f"/accounts({account_id})"},
        )
    contacts = crm_client.get(
        f"{API}/contacts?$select=lastname&$expand=parentcustomerid_account($select=name)&$orderby=lastname"
    ).json()["value"]
    assert [c["parentcustomerid_account"]["name"] for c in contacts] == ["Parent", "Parent"]
    account_body = crm_client.get(
        f"{API}/accounts({account_id})",
        params={"$select": "name", "$expand": "contact_customer_accounts($select=lastname;$orderby=lastname desc)"},
    ).json()
    assert [c["lastname"] for c in account_body["contact_customer_accounts"]] == ["Zed", "Amy"]
    assert crm_client.get(f"{API}/accounts?$expand=nosuchnav").status_code == 400


def test_collection_navigation_and_count_segment(crm_client):
    account_id = crm_client.post(f"{API}/accounts", json={"name": "P"}).headers["OData-EntityId"].rsplit("(", 1)[1][:-1]
    crm_client.post(
        f"{API}/contacts", json={"lastname": "X", "parentcustomerid_account@odata.bind": f"/accounts({account_id})"}
    )
    crm_client.post(f"{API}/contacts", json={"lastname": "Y"})
    related = crm_client.get(f"{API}/accounts({account_id})/contact_customer_accounts?$select=lastname").json()
    assert [c["lastname"] for c in related["value"]] == ["X"]
    assert crm_client.get(f"{API}/contacts/$count").text == "2"
