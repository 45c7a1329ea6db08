"""Customizing the org through the metadata API: custom tables, columns, lookups, keys, change tracking."""

from __future__ import annotations

from lead2cash.crm.app import create_app
from lead2cash.crm.store import Store

API = "/api/data/v9.2"


def labels(text: str) -> dict:
    return {"LocalizedLabels": [{"Label": text, "LanguageCode": 1033}]}


STATISTICS_TABLE = {
    "@odata.type": "Microsoft.Dynamics.CRM.EntityMetadata",
    "SchemaName": "l2c_AccountStatistics",
    "DisplayName": labels("Account Statistics"),
    "DisplayCollectionName": labels("Account Statistics"),
    "OwnershipType": "OrganizationOwned",
    "HasActivities": False,
    "Attributes": [
        {
            "@odata.type": "Microsoft.Dynamics.CRM.StringAttributeMetadata",
            "SchemaName": "l2c_Name",
            "IsPrimaryName": True,
            "MaxLength": 100,
            "DisplayName": labels("Name"),
        },
        {"@odata.type": "Microsoft.Dynamics.CRM.MoneyAttributeMetadata", "SchemaName": "l2c_Balance", "Precision": 2},
    ],
}


def test_custom_table_with_lookup_and_key_is_usable_and_survives_restart(crm_client_as, crm_settings):
    admin = crm_client_as("admin")
    created = admin.post(f"{API}/EntityDefinitions", json=STATISTICS_TABLE)
    assert created.status_code == 204, created.text
    assert "EntityDefinitions(" in created.headers["OData-EntityId"]

    relationship = {
        "@odata.type": "Microsoft.Dynamics.CRM.OneToManyRelationshipMetadata",
        "SchemaName": "l2c_account_statistics",
        "ReferencedEntity": "account",
        "ReferencingEntity": "l2c_accountstatistics",
        "Lookup": {"@odata.type": "Microsoft.Dynamics.CRM.LookupAttributeMetadata", "SchemaName": "l2c_AccountId"},
    }
    assert admin.post(f"{API}/RelationshipDefinitions", json=relationship).status_code == 204
    column = {
        "@odata.type": "Microsoft.Dynamics.CRM.StringAttributeMetadata",
        "SchemaName": "l2c_CompanyId",
        "MaxLength": 40,
    }
    assert admin.post(f"{API}/EntityDefinitions(LogicalName='account')/Attributes", json=column).status_code == 204
    key = {"SchemaName": "l2c_companyid_key", "KeyAttributes": ["l2c_companyid"], "DisplayName": labels("Company")}
    assert admin.post(f"{API}/EntityDefinitions(LogicalName='account')/Keys", json=key).status_code == 204

    client = crm_client_as("integration")
    assert client.patch(f"{API}/accounts(l2c_companyid='C-1')", json={"name": "Keyed"}).status_code == 204
    account_id = client.get(f"{API}/accounts(l2c_companyid='C-1')").json()["accountid"]
    stats = client.post(
        f"{API}/l2c_accountstatisticss",
        json={"l2c_name": "Stats", "l2c_balance": 10.5, "l2c_AccountId@odata.bind".lower(): f"/accounts({account_id})"},
    )
    assert stats.status_code == 204, stats.text
    rows = client.get(f"{API}/l2c_accountstatisticss?$select=l2c_name,l2c_balance,_l2c_accountid_value").json()["value"]
    assert rows[0]["l2c_balance"] == 10.5 and rows[0]["_l2c_accountid_value"] == account_id
    expanded = client.get(
        f"{API}/accounts({account_id})",
        params={"$select": "name", "$expand": "l2c_account_statistics($select=l2c_name)"},
    ).json()
    assert [s["l2c_name"] for s in expanded["l2c_account_statistics"]] == ["Stats"]

    # a restarted server rebuilds the same registry from the recorded customizations
    restarted = Store(crm_settings.crm_db_url())
    create_app(crm_settings, store=restarted)
    entity = restarted.registry.get("l2c_accountstatistics")
    assert entity.entity_set_name == "l2c_accountstatisticss"
    assert restarted.registry.get("account").key_for({"l2c_companyid"}) is not None
    assert "l2c_accountid" in entity.attributes


def test_change_tracking_can_be_enabled(crm_client_as):
    admin = crm_client_as("admin")
    client = crm_client_as("integration")
    refused = client.get(f"{API}/accounts?$select=name", headers={"Prefer": "odata.track-changes"})
    assert refused.status_code == 400
    assert refused.json()["error"]["code"] == "0x80072491"
    assert (
        admin.put(f"{API}/EntityDefinitions(LogicalName='account')", json={"ChangeTrackingEnabled": True}).status_code
        == 204
    )
    tracked = client.get(f"{API}/accounts?$select=name", headers={"Prefer": "odata.track-changes"})
    assert tracked.status_code == 200
    assert "@odata.deltaLink" in tracked.json()


def test_salesperson_cannot_customize_and_bad_definitions_are_400(crm_client_as):
    sales = crm_client_as("sales")
    assert sales.post(f"{API}/EntityDefinitions", json=STATISTICS_TABLE).status_code == 403
    admin = crm_client_as("admin")
    no_primary = {**STATISTICS_TABLE, "Attributes": []}
    assert admin.post(f"{API}/EntityDefinitions", json=no_primary).status_code == 400
    bad_key = {"SchemaName": "k", "KeyAttributes": ["nosuchcolumn"]}
    assert admin.post(f"{API}/EntityDefinitions(LogicalName='account')/Keys", json=bad_key).status_code == 400
    assert admin.post(f"{API}/EntityDefinitions", json=STATISTICS_TABLE).status_code == 204
    assert admin.post(f"{API}/EntityDefinitions", json=STATISTICS_TABLE).status_code == 412


def test_names_need_a_customization_prefix_and_failed_changes_leave_no_trace(crm_client_as, crm_app):
    admin = crm_client_as("admin")
    unprefixed = {"@odata.type": "Microsoft.Dynamics.CRM.StringAttributeMetadata", "SchemaName": "companyid"}
    assert admin.post(f"{API}/EntityDefinitions(LogicalName='account')/Attributes", json=unprefixed).status_code == 400
    reserved = {**STATISTICS_TABLE, "SchemaName": "crm_tombstone"}
    assert admin.post(f"{API}/EntityDefinitions", json=reserved).status_code == 400
    client = crm_client_as("integration")
    for number in ("X-1", "X-1"):
        client.post(f"{API}/accounts", json={"name": "dup", "accountnumber": number})
    key = {"SchemaName": "accountnumber_key", "KeyAttributes": ["accountnumber"]}
    assert admin.post(f"{API}/EntityDefinitions(LogicalName='account')/Keys", json=key).status_code == 412
    assert crm_app.state.l2c_store.registry.get("account").key_for({"accountnumber"}) is None
    rows = client.get(f"{API}/accounts", params={"$filter": "accountnumber eq 'X-1'"}).json()["value"]
    client.delete(f"{API}/accounts({rows[0]['accountid']})")
    assert admin.post(f"{API}/EntityDefinitions(LogicalName='account')/Keys", json=key).status_code == 204
    assert client.post(f"{API}/accounts", json={"name": "dup", "accountnumber": "X-1"}).status_code == 412


def test_choices_can_be_added_and_relabelled_and_survive_restart(crm_client_as, crm_settings):
    admin, sales = crm_client_as("admin"), crm_client_as("sales")
    column = {"EntityLogicalName": "account", "AttributeLogicalName": "paymenttermscode"}
    assert sales.post(f"{API}/InsertOptionValue", json={**column, "Label": labels("CASH")}).status_code == 403
    added = admin.post(f"{API}/InsertOptionValue", json={**column, "Label": labels("CASH")})
    assert added.status_code == 200, added.text
    cash = added.json()["NewOptionValue"]
    assert cash >= 100_000_000
    again = admin.post(f"{API}/InsertOptionValue", json={**column, "Value": cash, "Label": labels("Other")})
    assert again.status_code == 412
    assert admin.post(f"{API}/InsertOptionValue", json={**column, "Label": labels("")}).status_code == 400
    relabel = {**column, "Value": cash, "Label": labels("Cash on delivery")}
    assert admin.post(f"{API}/UpdateOptionValue", json=relabel).status_code == 204
    assert admin.post(f"{API}/UpdateOptionValue", json={**relabel, "Value": 424242}).status_code == 404
    not_choice = {"EntityLogicalName": "account", "AttributeLogicalName": "name", "Label": labels("X")}
    assert admin.post(f"{API}/InsertOptionValue", json=not_choice).status_code == 400

    # the new choice is a value accounts accept; the metadata lists it with its label
    client = crm_client_as("integration")
    made = client.post(f"{API}/accounts", json={"name": "Pays cash", "paymenttermscode": cash})
    assert made.status_code == 204, made.text
    assert client.post(f"{API}/accounts", json={"name": "Bad", "paymenttermscode": 424242}).status_code == 400
    path = "EntityDefinitions(LogicalName='account')/Attributes/Microsoft.Dynamics.CRM.PicklistAttributeMetadata"
    read = client.get(f"{API}/{path}", params={"$filter": "LogicalName eq 'paymenttermscode'", "$expand": "OptionSet"})
    options = read.json()["value"][0]["OptionSet"]["Options"]
    assert {o["Value"]: o["Label"]["UserLocalizedLabel"]["Label"] for o in options}[cash] == "Cash on delivery"

    restarted = Store(crm_settings.crm_db_url())
    create_app(crm_settings, store=restarted)
    attr = restarted.registry.get("account").attributes["paymenttermscode"]
    assert attr.option(cash).label == "Cash on delivery"
