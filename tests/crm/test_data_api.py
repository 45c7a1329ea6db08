"""Entity CRUD over the Web API as a Dataverse client sees it: status codes, headers, JSON shapes, errors."""

from __future__ import annotations

import re
import uuid

import pytest

from lead2cash.crm import seed
from lead2cash.crm.metadata import AlternateKeyDef

API = "/api/data/v9.2"
GUID = re.compile(r"\(([0-9a-f-]{36})\)$")


def create(client, entity_set: str, body: dict) -> str:
    response = client.post(f"{API}/{entity_set}", json=body)
    assert response.status_code == 204, response.text
    return GUID.search(response.headers["OData-EntityId"]).group(1)


@pytest.fixture
def account_key(crm_app):
    crm_app.state.l2c_store.add_key("account", AlternateKeyDef("accountnumber_key", ("accountnumber",)))


def test_create_returns_entity_id_and_get_reads_it_back(crm_client):
    response = crm_client.post(f"{API}/accounts", json={"name": "Contoso", "creditlimit": 1000.25})
    assert response.status_code == 204
    assert response.headers["OData-Version"] == "4.0"
    entity_url = response.headers["OData-EntityId"]
    assert entity_url.startswith("http://testserver/api/data/v9.2/accounts(")
    account_id = GUID.search(entity_url).group(1)

    got = crm_client.get(f"{API}/accounts({account_id.upper()})", params={"$select": "name,creditlimit"})
    assert got.status_code == 200
    body = got.json()
    assert body["@odata.context"].endswith("$metadata#accounts(name,creditlimit)/$entity")
    assert body["name"] == "Contoso"
    assert body["creditlimit"] == 1000.25
    assert body["accountid"] == account_id
    assert got.headers["ETag"] == body["@odata.etag"]
    assert re.fullmatch(r'W/"\d+"', body["@odata.etag"])


def test_system_columns_name_the_caller_and_default_state(crm_client):
    account_id = create(crm_client, "accounts", {"name": "A"})
    body = crm_client.get(f"{API}/accounts({account_id})").json()
    assert body["_createdby_value"] == seed.INTEGRATION_USER_ID
    assert body["_modifiedby_value"] == seed.INTEGRATION_USER_ID
    assert body["_ownerid_value"] == seed.INTEGRATION_USER_ID
    assert body["statecode"] == 0 and body["statuscode"] == 1
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", body["createdon"])
    assert body["_transactioncurrencyid_value"] is not None  # the base currency


def test_return_representation_gives_201_with_body(crm_client):
    response = crm_client.post(
        f"{API}/contacts?$select=fullname,firstname",
        json={"firstname": "Jo", "lastname": "Li"},
        headers={"Prefer": "return=representation"},
    )
    assert response.status_code == 201
    body = response.json()
    assert body["fullname"] == "Jo Li"
    assert "lastname" not in body
    assert body["contactid"]


def test_client_generated_id_is_kept_and_cannot_be_reused(crm_client):
    account_id = str(uuid.uuid4())
    assert create(crm_client, "accounts", {"accountid": account_id, "name": "A"}) == account_id
    again = crm_client.post(f"{API}/accounts", json={"accountid": account_id, "name": "B"})
    assert again.status_code == 412
    assert again.json()["error"]["code"] == "0x80040237"


def test_update_delete_and_not_found(crm_client):
    account_id = create(crm_client, "accounts", {"name": "Old"})
    patched = crm_client.patch(f"{API}/accounts({account_id})", json={"name": "New"}, headers={"If-Match": "*"})
    assert patched.status_code == 204
    assert crm_client.get(f"{API}/accounts({account_id})").json()["name"] == "New"
    assert crm_client.delete(f"{API}/accounts({account_id})").status_code == 204
    missing = crm_client.get(f"{API}/accounts({account_id})")
    assert missing.status_code == 404
    assert missing.json()["error"] == {
        "code": "0x80040217",
        "message": f"account With Id = {account_id} Does Not Exist",
    }
    assert crm_client.delete(f"{API}/accounts({account_id})").status_code == 404
    update_only = crm_client.patch(f"{API}/accounts({account_id})", json={"name": "X"}, headers={"If-Match": "*"})
    assert update_only.status_code == 404


def test_patch_without_if_match_creates_with_the_given_id(crm_client):
    account_id = str(uuid.uuid4())
    response = crm_client.patch(f"{API}/accounts({account_id})", json={"name": "Upserted"})
    assert response.status_code == 204
    assert response.headers["OData-EntityId"].endswith(f"accounts({account_id})")
    assert crm_client.get(f"{API}/accounts({account_id})").json()["name"] == "Upserted"


def test_etags_give_optimistic_concurrency(crm_client):
    account_id = create(crm_client, "accounts", {"name": "A"})
    etag = crm_client.get(f"{API}/accounts({account_id})").headers["ETag"]
    not_modified = crm_client.get(f"{API}/accounts({account_id})", headers={"If-None-Match": etag})
    assert not_modified.status_code == 304
    assert (
        crm_client.patch(f"{API}/accounts({account_id})", json={"name": "B"}, headers={"If-Match": etag}).status_code
        == 204
    )
    stale = crm_client.patch(f"{API}/accounts({account_id})", json={"name": "C"}, headers={"If-Match": etag})
    assert stale.status_code == 412
    assert stale.json()["error"]["code"] == "0x80060882"
    assert crm_client.delete(f"{API}/accounts({account_id})", headers={"If-Match": etag}).status_code == 412
    assert crm_client.get(f"{API}/accounts({account_id})").json()["name"] == "B"


def test_if_none_match_star_is_create_only(crm_client):
    account_id = str(uuid.uuid4())
    headers = {"If-None-Match": "*"}
    assert crm_client.patch(f"{API}/accounts({account_id})", json={"name": "A"}, headers=headers).status_code == 204
    second = crm_client.patch(f"{API}/accounts({account_id})", json={"name": "B"}, headers=headers)
    assert second.status_code == 412
    assert second.json()["error"]["code"] == "0x80040237"


def test_alternate_key_upsert_read_and_uniqueness(crm_client, account_key):
    url = f"{API}/accounts(accountnumber='ACC-''1')"
    assert crm_client.patch(url, json={"name": "Keyed"}).status_code == 204
    assert crm_client.patch(url, json={"telephone1": "555"}).status_code == 204
    body = crm_client.get(url).json()
    assert (body["name"], body["telephone1"], body["accountnumber"]) == ("Keyed", "555", "ACC-'1")
    assert len(crm_client.get(f"{API}/accounts", params={"$select": "name"}).json()["value"]) == 1
    duplicate = crm_client.post(f"{API}/accounts", json={"name": "Other", "accountnumber": "ACC-'1"})
    assert duplicate.status_code == 412
    assert duplicate.json()["error"]["code"] == "0x80040237"
    undefined = crm_client.get(f"{API}/accounts(telephone1='555')")
    assert undefined.status_code == 400


def test_odata_bind_sets_lookups_including_polymorphic_and_alternate_key(crm_client, account_key):
    account_id = create(crm_client, "accounts", {"name": "Parent", "accountnumber": "P-1"})
    contact_id = create(
        crm_client,
        "contacts",
        {"lastname": "Li", "parentcustomerid_account@odata.bind": "/accounts(accountnumber='P-1')"},
    )
    body = crm_client.get(
        f"{API}/contacts({contact_id})",
        params={"$select": "_parentcustomerid_value"},
        headers={"Prefer": 'odata.include-annotations="*"'},
    ).json()
    key = "_parentcustomerid_value"
    assert body[key] == account_id
    assert body[f"{key}@Microsoft.Dynamics.CRM.lookuplogicalname"] == "account"
    assert body[f"{key}@Microsoft.Dynamics.CRM.associatednavigationproperty"] == "parentcustomerid_account"
    assert body[f"{key}@OData.Community.Display.V1.FormattedValue"] == "Parent"

    crm_client.patch(f"{API}/accounts({account_id})", json={"primarycontactid@odata.bind": f"contacts({contact_id})"})
    assert crm_client.get(f"{API}/accounts({account_id})").json()["_primarycontactid_value"] == contact_id
    crm_client.patch(f"{API}/accounts({account_id})", json={"primarycontactid@odata.bind": None})
    assert crm_client.get(f"{API}/accounts({account_id})").json()["_primarycontactid_value"] is None

    wrong = crm_client.post(f"{API}/contacts", json={"parentcustomerid_account@odata.bind": f"/contacts({contact_id})"})
    assert wrong.status_code == 400
    missing = crm_client.post(
        f"{API}/contacts", json={"parentcustomerid_account@odata.bind": f"/accounts({uuid.uuid4()})"}
    )
    assert missing.status_code == 404


@pytest.mark.parametrize(
    ("body", "fragment"),
    [
        ({"nosuchcolumn": 1}, "nosuchcolumn"),
        ({"name": 5}, "name"),
        ({"name": "x" * 161}, "maximum allowed length"),
        ({"customertypecode": 99}, "outside the valid range"),
        ({"_parentaccountid_value": str(uuid.uuid4())}, "_parentaccountid_value"),
        ({"parentaccountid": str(uuid.uuid4())}, "@odata.bind"),
    ],
)
def test_invalid_bodies_are_400_with_a_message_naming_the_problem(crm_client, body, fragment):
    response = crm_client.post(f"{API}/accounts", json=body)
    assert response.status_code == 400
    assert fragment in response.json()["error"]["message"]


def test_unknown_entity_set_and_bad_key_are_errors_not_crashes(crm_client):
    assert crm_client.get(f"{API}/nosuchthings").status_code == 404
    assert crm_client.get(f"{API}/accounts(not-a-guid)").status_code == 400
    assert crm_client.get(f"{API}/accounts?$select=nosuch").status_code == 400
    assert crm_client.get(f"{API}/accounts?$skip=5").status_code == 400
    assert crm_client.post(f"{API}/accounts", content=b"{not json").status_code == 400


def test_formatted_values_for_options_money_and_booleans(crm_client):
    account_id = create(
        crm_client, "accounts", {"name": "F", "customertypecode": 3, "creditlimit": 1234.5, "creditonhold": True}
    )
    body = crm_client.get(
        f"{API}/accounts({account_id})?$select=customertypecode,creditlimit,creditonhold,statecode",
        headers={"Prefer": 'odata.include-annotations="OData.Community.Display.V1.FormattedValue"'},
    ).json()
    fv = "@OData.Community.Display.V1.FormattedValue"
    assert body[f"customertypecode{fv}"] == "Customer"
    assert body[f"creditlimit{fv}"] == "$1,234.50"
    assert body[f"creditonhold{fv}"] == "Yes"
    assert body[f"statecode{fv}"] == "Active"
    plain = crm_client.get(f"{API}/accounts({account_id})?$select=customertypecode").json()
    assert not any("@OData" in k for k in plain)


def test_single_property_and_ref_routes(crm_client):
    account_id = create(crm_client, "accounts", {"name": "Prop"})
    contact_id = create(crm_client, "contacts", {"lastname": "Ref"})
    assert crm_client.get(f"{API}/accounts({account_id})/name").json()["value"] == "Prop"
    assert crm_client.put(f"{API}/accounts({account_id})/name", json={"value": "Renamed"}).status_code == 204
    ref = {"@odata.id": f"http://testserver{API}/contacts({contact_id})"}
    assert crm_client.put(f"{API}/accounts({account_id})/primarycontactid/$ref", json=ref).status_code == 204
    related = crm_client.get(f"{API}/accounts({account_id})/primarycontactid").json()
    assert related["contactid"] == contact_id
    assert crm_client.delete(f"{API}/accounts({account_id})/primarycontactid/$ref").status_code == 204
    body = crm_client.get(f"{API}/accounts({account_id})").json()
    assert (body["name"], body["_primarycontactid_value"]) == ("Renamed", None)


def test_deleting_a_parent_cascades_to_lines_and_clears_references(crm_client):
    account_id = create(crm_client, "accounts", {"name": "Cust"})
    contact_id = create(
        crm_client, "contacts", {"lastname": "C", "parentcustomerid_account@odata.bind": f"/accounts({account_id})"}
    )
    pricelist_id = create(crm_client, "pricelevels", {"name": "PL"})
    quote_id = create(
        crm_client,
        "quotes",
        {
            "name": "Q",
            "customerid_account@odata.bind": f"/accounts({account_id})",
            "pricelevelid@odata.bind": f"/pricelevels({pricelist_id})",
        },
    )
    line_id = create(
        crm_client,
        "quotedetails",
        {
            "quoteid@odata.bind": f"/quotes({quote_id})",
            "productdescription": "Write-in",
            "quantity": 1,
            "priceperunit": 5,
        },
    )
    assert crm_client.delete(f"{API}/quotes({quote_id})").status_code == 204
    assert crm_client.get(f"{API}/quotedetails({line_id})").status_code == 404
    assert crm_client.delete(f"{API}/accounts({account_id})").status_code == 204
    assert crm_client.get(f"{API}/contacts({contact_id})").json()["_parentcustomerid_value"] is None


def test_collection_navigation_associate_create_and_disassociate(crm_client):
    account_id = create(crm_client, "accounts", {"name": "Nav"})
    contact_id = create(crm_client, "contacts", {"lastname": "Loose"})
    nav = f"{API}/accounts({account_id})/contact_customer_accounts"
    ref = {"@odata.id": f"{API}/contacts({contact_id})"}
    assert crm_client.post(f"{nav}/$ref", json=ref).status_code == 204
    created = crm_client.post(nav, json={"lastname": "Born related"})
    assert created.status_code == 204
    assert "/contacts(" in created.headers["OData-EntityId"]
    related = crm_client.get(nav, params={"$select": "lastname", "$orderby": "lastname"}).json()["value"]
    assert [c["lastname"] for c in related] == ["Born related", "Loose"]
    body = crm_client.get(f"{API}/contacts({contact_id})?$select=_parentcustomerid_value", headers={
        "Prefer": 'odata.include-annotations="Microsoft.Dynamics.CRM.lookuplogicalname"'}).json()  # fmt: skip
    assert body["_parentcustomerid_value@Microsoft.Dynamics.CRM.lookuplogicalname"] == "account"
    assert crm_client.delete(f"{nav}({contact_id})/$ref").status_code == 204
    assert [c["lastname"] for c in crm_client.get(nav).json()["value"]] == ["Born related"]
    assert crm_client.post(f"{API}/accounts({account_id})/nosuchnav", json={}).status_code == 404


def test_money_in_base_currency_follows_the_exchange_rate(crm_client):
    eur = create(
        crm_client,
        "transactioncurrencies",
        {"isocurrencycode": "EUR", "currencyname": "Euro", "currencysymbol": "€", "exchangerate": 0.8},
    )
    account_id = create(
        crm_client,
        "accounts",
        {"name": "EU", "creditlimit": 100, "transactioncurrencyid@odata.bind": f"/transactioncurrencies({eur})"},
    )
    body = crm_client.get(
        f"{API}/accounts({account_id})?$select=creditlimit,creditlimit_base,exchangerate",
        headers={"Prefer": 'odata.include-annotations="OData.Community.Display.V1.FormattedValue"'},
    ).json()
    assert (body["creditlimit"], body["creditlimit_base"], body["exchangerate"]) == (100, 125, 0.8)
    assert body["creditlimit@OData.Community.Display.V1.FormattedValue"] == "€100.00"
