"""Change tracking as a sync engine uses it: initial load, delta links, deletions, paging, expiry."""

from __future__ import annotations

from urllib.parse import parse_qs, urlsplit

import pytest
import sqlalchemy as sa

API = "/api/data/v9.2"
TRACK = {"Prefer": "odata.track-changes"}


@pytest.fixture
def client(crm_client, crm_app):
    crm_app.state.l2c_store.set_change_tracking("account", True)
    return crm_client


def get(client, link: str, headers: dict | None = None) -> dict:
    parts = urlsplit(link)
    response = client.get(f"{parts.path}?{parts.query}" if parts.query else parts.path, headers=headers or {})
    assert response.status_code == 200, response.text
    return response.json()


def create(client, name: str) -> str:
    response = client.post(f"{API}/accounts", json={"name": name})
    return response.headers["OData-EntityId"].rsplit("(", 1)[1].rstrip(")")


def test_initial_then_delta_reports_new_changed_and_deleted_rows(client):
    kept, changed, deleted = create(client, "kept"), create(client, "changed"), create(client, "deleted")
    first = client.get(f"{API}/accounts?$select=name", headers=TRACK)
    assert first.headers["Preference-Applied"] == "odata.track-changes"
    body = first.json()
    assert {r["name"] for r in body["value"]} == {"kept", "changed", "deleted"}
    delta_link = body["@odata.deltaLink"]
    token = parse_qs(urlsplit(delta_link).query)["$deltatoken"][0]
    assert "!" in token and parse_qs(urlsplit(delta_link).query)["$select"] == ["name"]

    client.patch(f"{API}/accounts({changed})", json={"name": "changed again"})
    client.delete(f"{API}/accounts({deleted})")
    fresh = create(client, "new")
    transient = create(client, "transient")
    client.delete(f"{API}/accounts({transient})")

    delta = get(client, delta_link)
    assert delta["@odata.context"].endswith("$metadata#accounts(name)/$delta")
    updates = {r["accountid"]: r["name"] for r in delta["value"] if "reason" not in r}
    assert updates == {changed: "changed again", fresh: "new"}
    removed = [r for r in delta["value"] if r.get("reason") == "deleted"]
    assert {r["id"] for r in removed} == {deleted, transient}
    assert all(r["@odata.context"].endswith("$metadata#accounts/$deletedEntity") for r in removed)
    assert kept not in updates

    idle = get(client, delta["@odata.deltaLink"])
    assert idle["value"] == []


def test_delta_pages_through_many_changes_without_losing_any(client):
    body = client.get(f"{API}/accounts?$select=name", headers=TRACK).json()
    link = body["@odata.deltaLink"]
    ids = [create(client, f"a{i}") for i in range(7)]
    for i in ids[:3]:
        client.delete(f"{API}/accounts({i})")
    seen, deletions, pages = set(), set(), 0
    headers = {"Prefer": "odata.maxpagesize=2"}
    while True:
        page = get(client, link, headers)
        pages += 1
        for row in page["value"]:
            (deletions if row.get("reason") == "deleted" else seen).add(row.get("id") or row.get("accountid"))
        if "@odata.nextLink" in page:
            link = page["@odata.nextLink"]
            continue
        break
    assert seen == set(ids[3:])
    assert deletions == set(ids[:3])
    assert pages >= 4


def test_changes_made_while_paging_the_initial_load_come_in_the_next_delta(client):
    ids = [create(client, f"r{i}") for i in range(4)]
    page = client.get(
        f"{API}/accounts?$select=name", headers={**TRACK, "Prefer": "odata.track-changes,odata.maxpagesize=2"}
    )
    body = page.json()
    client.patch(f"{API}/accounts({ids[0]})", json={"name": "edited mid-load"})
    while "@odata.nextLink" in body:
        body = get(client, body["@odata.nextLink"])
    delta = get(client, body["@odata.deltaLink"])
    assert [r["name"] for r in delta["value"]] == ["edited mid-load"]


def test_track_changes_refuses_unsupported_options_and_untracked_tables(client):
    refused = client.get(f"{API}/accounts?$filter=name eq 'x'", headers=TRACK)
    assert refused.status_code == 400
    assert "Change Tracking" in refused.json()["error"]["message"]
    untracked = client.get(f"{API}/contacts", headers=TRACK)
    assert untracked.status_code == 400 and untracked.json()["error"]["code"] == "0x80072491"


def test_expired_delta_token_is_refused(client, crm_app):
    link = client.get(f"{API}/accounts?$select=name", headers=TRACK).json()["@odata.deltaLink"]
    store = crm_app.state.l2c_store
    org = store.table("organization")
    with store.engine.begin() as conn:
        conn.execute(sa.update(org).values(expirechangetrackingindays=1))
    version, _stamp = parse_qs(urlsplit(link).query)["$deltatoken"][0].split("!")
    old = f"{API}/accounts?$select=name&$deltatoken={version}!01/01/2020 00:00:00"
    expired = client.get(old)
    assert expired.status_code == 400
    assert expired.json()["error"]["code"] == "0x80044352"
    assert client.get(f"{API}/accounts?$deltatoken=garbage").status_code == 400
    assert get(client, link)["value"] == []  # a current token still works
