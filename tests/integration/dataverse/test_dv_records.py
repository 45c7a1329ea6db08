"""Records through the client against the real CRM server over HTTPS: create, read, update, upsert, delete,
queries and paging, functions and actions."""

from __future__ import annotations

import uuid

import pytest

from lead2cash.crm import seed
from lead2cash.integration.dataverse import NotFound, PreconditionFailed, bind, filter_in, literal
from lead2cash.integration.dataverse.errors import ALREADY_EXISTS, VERSION_MISMATCH

pytestmark = pytest.mark.anyio


def tag() -> str:
    return uuid.uuid4().hex[:10]


async def test_who_am_i_names_the_integration_user(dv):
    me = await dv.who_am_i()
    assert me.user_id == seed.INTEGRATION_USER_ID
    assert me.organization_id == seed.ORGANIZATION_ID


async def test_create_uses_the_client_guid_and_the_row_reads_back(dv):
    row_id = str(uuid.uuid4())
    assert await dv.create("accounts", {"name": "Client Guid Ltd", "accountnumber": tag()}, id=row_id) == row_id
    row = await dv.get("accounts", row_id, select=["name", "accountnumber"])
    assert row["accountid"] == row_id and row["name"] == "Client Guid Ltd"
    assert row["@odata.etag"].startswith('W/"')


async def test_create_generates_a_guid_when_none_is_given(dv):
    row_id = await dv.create("accounts", {"name": "Generated Id Ltd"})
    assert uuid.UUID(row_id)
    assert (await dv.get("accounts", row_id, select="name"))["name"] == "Generated Id Ltd"


async def test_create_with_an_id_that_already_exists_is_refused(dv):
    row_id = await dv.create("accounts", {"name": "First"})
    with pytest.raises(PreconditionFailed) as caught:
        await dv.create("accounts", {"name": "Second"}, id=row_id)
    assert caught.value.already_exists and caught.value.code == ALREADY_EXISTS
    assert not caught.value.after_uncertain_attempt
    assert (await dv.get("accounts", row_id, select="name"))["name"] == "First"


async def test_update_changes_an_existing_row_and_never_creates(dv):
    row_id = await dv.create("accounts", {"name": "Before"})
    await dv.update("accounts", row_id, {"name": "After", "telephone1": "+49 30 1234"})
    row = await dv.get("accounts", row_id, select=["name", "telephone1"])
    assert (row["name"], row["telephone1"]) == ("After", "+49 30 1234")
    missing = str(uuid.uuid4())
    with pytest.raises(NotFound):
        await dv.update("accounts", missing, {"name": "Ghost"})
    assert await dv.find("accounts", missing) is None


async def test_update_with_a_stale_etag_fails_and_with_the_current_one_succeeds(dv):
    row_id = await dv.create("accounts", {"name": "Versioned"})
    etag = (await dv.get("accounts", row_id, select="name"))["@odata.etag"]
    await dv.update("accounts", row_id, {"name": "Changed elsewhere"})
    with pytest.raises(PreconditionFailed) as caught:
        await dv.update("accounts", row_id, {"name": "Mine"}, etag=etag)
    assert caught.value.code == VERSION_MISMATCH and not caught.value.already_exists
    current = (await dv.get("accounts", row_id, select="name"))["@odata.etag"]
    await dv.update("accounts", row_id, {"name": "Mine"}, etag=current)
    assert (await dv.get("accounts", row_id, select="name"))["name"] == "Mine"


async def test_upsert_creates_then_updates_the_same_row(dv):
    row_id = str(uuid.uuid4())
    assert await dv.upsert("accounts", row_id, {"name": "Upserted"}) == row_id
    await dv.upsert("accounts", row_id, {"name": "Upserted again"})
    rows = await dv.query("accounts", select="name", filter=f"accountid eq {row_id}")
    assert [r["name"] for r in rows] == ["Upserted again"]


async def test_delete_removes_the_row_and_reports_missing_rows(dv):
    row_id = await dv.create("accounts", {"name": "Short-lived"})
    assert await dv.delete("accounts", row_id) is True
    with pytest.raises(NotFound) as caught:
        await dv.get("accounts", row_id)
    assert caught.value.status == 404 and caught.value.code == "0x80040217"
    assert await dv.delete("accounts", row_id, missing_ok=True) is False
    with pytest.raises(NotFound):
        await dv.delete("accounts", row_id)


async def test_lookups_bind_and_expand(dv):
    account_id = await dv.create("accounts", {"name": "Parent Co"})
    parent = {"parentcustomerid_account@odata.bind": bind("accounts", account_id)}
    contact_id = await dv.create("contacts", {"firstname": "Ada", "lastname": "Lovelace", **parent})
    await dv.update("accounts", account_id, {"primarycontactid@odata.bind": bind("contacts", contact_id)})
    row = await dv.get("accounts", account_id, select="name", expand="primarycontactid($select=fullname)")
    assert row["primarycontactid"]["fullname"] == "Ada Lovelace"
    contact = await dv.get("contacts", contact_id, select="_parentcustomerid_value")
    assert contact["_parentcustomerid_value"] == account_id


async def test_filter_literals_survive_quotes_ampersands_and_percent_signs(dv):
    name = f"O'Brien & Sons #1 + 50% {tag()}"
    row_id = await dv.create("accounts", {"name": name})
    rows = await dv.query("accounts", select="name", filter=f"name eq {literal(name)}")
    assert [(r["accountid"], r["name"]) for r in rows] == [(row_id, name)]


async def test_pages_follow_next_links_one_request_per_page(dv):
    marker = tag()
    ids = [await dv.create("accounts", {"name": f"Paged {marker} {i:02d}", "accountnumber": marker}) for i in range(23)]
    sent = dv.transport.stats.sent
    pages = dv.pages("accounts", select="name", filter=f"accountnumber eq '{marker}'", orderby="name", page_size=10)
    first = await anext(pages)
    assert len(first.rows) == 10 and first.next_link
    assert dv.transport.stats.sent == sent + 1  # the later pages are not fetched yet
    rest = [page async for page in pages]
    assert [len(p.rows) for p in rest] == [10, 3] and rest[-1].next_link is None
    names = [r["name"] for p in [first, *rest] for r in p.rows]
    assert names == sorted(names) and len(names) == 23
    assert {r["accountid"] for p in [first, *rest] for r in p.rows} == set(ids)


async def test_rows_and_filter_in(dv):
    ids = [await dv.create("accounts", {"name": f"In {i}"}) for i in range(3)]
    other = await dv.create("accounts", {"name": "Not in"})
    found = [row["accountid"] async for row in dv.rows("accounts", select="name", filter=filter_in("accountid", ids))]
    assert sorted(found) == sorted(ids) and other not in found


async def test_count_is_reported_on_the_page(dv):
    marker = tag()
    for i in range(3):
        await dv.create("accounts", {"name": f"Counted {i}", "accountnumber": marker})
    page = await anext(dv.pages("accounts", select="name", filter=f"accountnumber eq '{marker}'", count=True))
    assert page.count == 3


async def test_bound_and_unbound_actions(dv):
    account_id = await dv.create("accounts", {"name": "Buyer"})
    opportunity_id = await dv.create(
        "opportunities",
        {"name": "Big deal", "customerid_account@odata.bind": bind("accounts", account_id), "estimatedvalue": 1200},
    )
    close = {
        "@odata.type": "Microsoft.Dynamics.CRM.opportunityclose",
        "subject": "Won it",
        "opportunityid@odata.bind": bind("opportunities", opportunity_id),
    }
    assert await dv.call_action("WinOpportunity", {"OpportunityClose": close, "Status": 3}) is None
    row = await dv.get("opportunities", opportunity_id, select=["statecode", "statuscode"])
    assert (row["statecode"], row["statuscode"]) == (1, 3)


async def test_actions_bound_to_a_collection(dv):
    targets = [{"@odata.type": "Microsoft.Dynamics.CRM.account", "name": f"Bound {i}"} for i in range(2)]
    body = await dv.call_action("CreateMultiple", {"Targets": targets}, entity_set="accounts")
    assert len(body["Ids"]) == 2
    assert [(await dv.get("accounts", i, select="name"))["name"] for i in body["Ids"]] == ["Bound 0", "Bound 1"]


async def test_functions_are_called_with_get(dv):
    body = await dv.call_function("WhoAmI")
    assert body["UserId"] == seed.INTEGRATION_USER_ID
