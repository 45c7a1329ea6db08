"""The owner of a row is set as Dataverse clients set it: ``ownerid@odata.bind`` to a system user (or team)."""

from __future__ import annotations


def test_owner_is_bound_through_ownerid_and_read_back(crm_client):
    users = crm_client.get("/api/data/v9.2/systemusers?$select=systemuserid,fullname&$top=50").json()["value"]
    sales = next(u for u in users if u["fullname"] and "admin" not in u["fullname"].lower())
    created = crm_client.post(
        "/api/data/v9.2/accounts",
        json={"name": "Owned by a salesperson", "ownerid@odata.bind": f"/systemusers({sales['systemuserid']})"},
        headers={"Prefer": "return=representation"},
    )
    assert created.status_code == 201, created.text
    assert created.json()["_ownerid_value"] == sales["systemuserid"]
    # the two-target name is not a navigation property of an Owner lookup in Dataverse
    refused = crm_client.post(
        "/api/data/v9.2/accounts",
        json={"name": "Wrong bind", "ownerid_systemuser@odata.bind": f"/systemusers({sales['systemuserid']})"},
    )
    assert refused.status_code == 400
