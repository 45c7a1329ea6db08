"""Metadata reads in the shapes clients depend on: service document, $metadata, EntityDefinitions,
Attributes with type casts and option sets, Keys and relationships."""

from __future__ import annotations

from xml.etree import ElementTree as ET

import pytest
from starlette.testclient import TestClient

from lead2cash.config import Settings
from lead2cash.crm import seed
from lead2cash.crm.app import create_app

EDM = "{http://docs.oasis-open.org/odata/ns/edm}"


@pytest.fixture(scope="module")
def reader(tmp_path_factory):
    """One org shared by the read-only tests of this module, signed in as the integration user."""
    settings = Settings(data_dir=tmp_path_factory.mktemp("metadata"), secret_key="metadata-read-secret")
    app = create_app(settings, seed_options={"integration_secret": "reader-secret"})
    with TestClient(app) as client:
        form = {"grant_type": "client_credentials", "client_id": seed.INTEGRATION_CLIENT_ID}
        form |= {"client_secret": "reader-secret", "scope": f"{client.base_url}/.default"}
        token = client.post("/tenant/oauth2/v2.0/token", data=form).json()["access_token"]
        client.headers["Authorization"] = f"Bearer {token}"
        yield client
    app.state.l2c_store.engine.dispose()


def labels(label: dict) -> list[str]:
    return [item["Label"] for item in label["LocalizedLabels"]]


def test_service_document_lists_entity_sets(reader, api):
    body = reader.get(f"{api}/").json()
    assert body["@odata.context"].endswith("/api/data/v9.2/$metadata")
    names = {item["name"] for item in body["value"] if item["kind"] == "EntitySet"}
    assert {"accounts", "contacts", "salesorders", "EntityDefinitions"} <= names
    assert reader.get(f"{api}").status_code == 200


def test_metadata_document_is_csdl_for_every_table(reader, api):
    answer = reader.get(f"{api}/$metadata")
    assert answer.status_code == 200
    assert answer.headers["content-type"].startswith("application/xml")
    root = ET.fromstring(answer.content)
    schema = root.find(f".//{EDM}Schema")
    assert schema.get("Namespace") == "Microsoft.Dynamics.CRM" and schema.get("Alias") == "mscrm"
    types = {t.get("Name"): t for t in schema.iter(f"{EDM}EntityType")}
    account = types["account"]
    assert account.get("BaseType") == "mscrm.crmbaseentity"
    assert account.find(f"{EDM}Key/{EDM}PropertyRef").get("Name") == "accountid"
    props = {p.get("Name"): p.get("Type") for p in account.iter(f"{EDM}Property")}
    assert props["name"] == "Edm.String" and props["creditlimit"] == "Edm.Decimal"
    assert props["_primarycontactid_value"] == "Edm.Guid" and props["createdon"] == "Edm.DateTimeOffset"
    navs = {n.get("Name"): n.get("Type") for n in types["contact"].iter(f"{EDM}NavigationProperty")}
    assert navs["parentcustomerid_account"] == "mscrm.account"
    assert navs["parentcustomerid_contact"] == "mscrm.contact"
    sets = {s.get("Name"): s.get("EntityType") for s in schema.iter(f"{EDM}EntitySet")}
    assert sets["opportunities"] == "Microsoft.Dynamics.CRM.opportunity"
    assert schema.find(f"{EDM}EntityContainer").get("Name") == "System"


def test_entity_definitions_filter_and_select_as_the_python_client_asks(reader, api):
    answer = reader.get(
        f"{api}/EntityDefinitions",
        params={
            "$select": "MetadataId,LogicalName,SchemaName,EntitySetName,PrimaryNameAttribute,PrimaryIdAttribute",
            "$filter": "LogicalName eq 'account'",
        },
    )
    assert answer.status_code == 200
    [account] = answer.json()["value"]
    assert account["EntitySetName"] == "accounts"
    assert account["PrimaryIdAttribute"] == "accountid" and account["PrimaryNameAttribute"] == "name"
    assert set(account) == {
        "MetadataId", "LogicalName", "SchemaName", "EntitySetName", "PrimaryNameAttribute", "PrimaryIdAttribute",
    }  # fmt: skip
    none = reader.get(f"{api}/EntityDefinitions", params={"$filter": "LogicalName eq 'nosuchtable'"})
    assert none.json()["value"] == []


def test_entity_definitions_filters_on_set_name_and_managed_properties(reader, api):
    by_set = reader.get(
        f"{api}/EntityDefinitions",
        params={"$filter": "IsPrivate eq false and (EntitySetName eq 'Opportunities')", "$select": "LogicalName"},
    )
    assert [e["LogicalName"] for e in by_set.json()["value"]] == ["opportunity"]
    trackable = reader.get(
        f"{api}/EntityDefinitions",
        params={"$filter": "CanChangeTrackingBeEnabled/Value eq true", "$select": "LogicalName"},
    ).json()["value"]
    assert {"account", "contact", "salesorder"} <= {e["LogicalName"] for e in trackable}


@pytest.mark.parametrize(
    "bad_filter", ["LogicalName eq", "NoSuchProperty eq 1", "LogicalName eq 'a' and", "foo(LogicalName)"]
)
def test_bad_metadata_filters_are_400_not_500(reader, api, bad_filter):
    answer = reader.get(f"{api}/EntityDefinitions", params={"$filter": bad_filter})
    assert answer.status_code == 400
    assert answer.json()["error"]["code"].startswith("0x")


def test_single_entity_definition_by_logical_name_and_by_metadata_id(reader, api):
    account = reader.get(
        f"{api}/EntityDefinitions(LogicalName='account')",
        params={"$select": "EntitySetName,PrimaryIdAttribute,PrimaryImageAttribute"},
    )
    assert account.status_code == 200
    body = account.json()
    assert body["EntitySetName"] == "accounts" and body["PrimaryImageAttribute"] is None
    assert body["@odata.context"].endswith("/$entity")
    same = reader.get(f"{api}/EntityDefinitions({body['MetadataId']})").json()
    assert same["LogicalName"] == "account"
    assert same["CanChangeTrackingBeEnabled"] == {
        "Value": True, "CanBeChanged": True, "ManagedPropertyLogicalName": "canchangetrackingbeenabled",
    }  # fmt: skip
    assert labels(same["DisplayName"]) == ["Account"]
    missing = reader.get(f"{api}/EntityDefinitions(LogicalName='nosuchtable')")
    assert missing.status_code == 404 and missing.json()["error"]["code"] == "0x80040217"


def test_expand_attributes_as_an_etl_client_asks(reader, api):
    answer = reader.get(
        f"{api}/EntityDefinitions",
        params={
            "$select": "LogicalName,EntitySetName,PrimaryIdAttribute,CanChangeTrackingBeEnabled,ChangeTrackingEnabled",
            "$expand": "Attributes($select=LogicalName,AttributeType)",
            "$filter": "LogicalName eq 'contact'",
        },
    )
    [contact] = answer.json()["value"]
    types = {a["LogicalName"]: a["AttributeType"] for a in contact["Attributes"]}
    assert types["parentcustomerid"] == "Customer" and types["ownerid"] == "Owner"
    assert types["contactid"] == "Uniqueidentifier" and types["statecode"] == "State"
    assert isinstance(contact["ChangeTrackingEnabled"], bool)


def test_picklist_cast_with_option_set_as_the_python_client_asks(reader, api):
    answer = reader.get(
        f"{api}/EntityDefinitions(LogicalName='account')/Attributes/Microsoft.Dynamics.CRM.PicklistAttributeMetadata",
        params={"$select": "LogicalName", "$expand": "OptionSet($select=Options)"},
    )
    assert answer.status_code == 200
    picklists = {a["LogicalName"]: a for a in answer.json()["value"]}
    assert "customertypecode" in picklists and "name" not in picklists and "statecode" not in picklists
    options = picklists["customertypecode"]["OptionSet"]["Options"]
    customer = next(o for o in options if o["Value"] == 3)
    assert labels(customer["Label"]) == ["Customer"]
    assert customer["Label"]["LocalizedLabels"][0]["LanguageCode"] == 1033


def test_picklist_cast_on_a_table_without_choices_is_an_empty_list(reader, api):
    # The python client retries a 404 here several times; an empty list is what a real org answers.
    answer = reader.get(
        f"{api}/EntityDefinitions(LogicalName='uom')/Attributes/Microsoft.Dynamics.CRM.PicklistAttributeMetadata",
        params={"$select": "LogicalName", "$expand": "OptionSet($select=Options)"},
    )
    assert answer.status_code == 200 and answer.json()["value"] == []


def test_datetime_cast_reports_behaviour(reader, api):
    answer = reader.get(
        f"{api}/EntityDefinitions(LogicalName='account')/Attributes/Microsoft.Dynamics.CRM.DateTimeAttributeMetadata",
        params={"$select": "LogicalName,DateTimeBehavior"},
    )
    dates = {a["LogicalName"]: a["DateTimeBehavior"] for a in answer.json()["value"]}
    assert dates["createdon"] == {"Value": "UserLocal"}
    assert all(a["@odata.type"] == "#Microsoft.Dynamics.CRM.DateTimeAttributeMetadata" for a in answer.json()["value"])


def test_state_and_status_option_sets_carry_their_pairs(reader, api):
    base = f"{api}/EntityDefinitions(LogicalName='salesorder')/Attributes"
    state = reader.get(
        f"{base}(LogicalName='statecode')/Microsoft.Dynamics.CRM.StateAttributeMetadata",
        params={"$expand": "OptionSet"},
    ).json()
    submitted = next(o for o in state["OptionSet"]["Options"] if o["Value"] == 1)
    assert labels(submitted["Label"]) == ["Submitted"] and submitted["DefaultStatus"] == 3
    status = reader.get(f"{base}(LogicalName='statuscode')/Microsoft.Dynamics.CRM.StatusAttributeMetadata/OptionSet")
    complete = next(o for o in status.json()["Options"] if o["Value"] == 100001)
    assert complete["State"] == 3
    wrong_cast = reader.get(f"{base}(LogicalName='name')/Microsoft.Dynamics.CRM.PicklistAttributeMetadata")
    assert wrong_cast.status_code == 404


def test_attributes_collection_filter_and_single_lookup(reader, api):
    base = f"{api}/EntityDefinitions(LogicalName='opportunity')/Attributes"
    strings = reader.get(base, params={"$filter": "AttributeType eq 'String'", "$select": "LogicalName,MaxLength"})
    assert strings.status_code == 200
    assert all(isinstance(a["MaxLength"], int) for a in strings.json()["value"])
    customer = reader.get(f"{base}(LogicalName='customerid')").json()
    assert customer["@odata.type"] == "#Microsoft.Dynamics.CRM.LookupAttributeMetadata"
    assert sorted(customer["Targets"]) == ["account", "contact"]
    assert customer["AttributeType"] == "Customer" and customer["IsValidForCreate"] is True
    lookups = reader.get(f"{base}/Microsoft.Dynamics.CRM.LookupAttributeMetadata", params={"$select": "LogicalName"})
    names = {a["LogicalName"] for a in lookups.json()["value"]}
    assert {"customerid", "ownerid", "pricelevelid"} <= names and "name" not in names
    assert reader.get(f"{base}(LogicalName='nosuchcolumn')").status_code == 404


def test_relationships_name_the_navigation_properties(reader, api):
    many_to_one = reader.get(f"{api}/EntityDefinitions(LogicalName='contact')/ManyToOneRelationships").json()
    by_attr = {(r["ReferencingAttribute"], r["ReferencedEntity"]): r for r in many_to_one["value"]}
    parent = by_attr[("parentcustomerid", "account")]
    assert parent["ReferencingEntityNavigationPropertyName"] == "parentcustomerid_account"
    assert parent["ReferencedEntityNavigationPropertyName"] == "contact_customer_accounts"
    one_to_many = reader.get(f"{api}/EntityDefinitions(LogicalName='quote')/OneToManyRelationships").json()
    details = next(r for r in one_to_many["value"] if r["ReferencingEntity"] == "quotedetail")
    assert details["CascadeConfiguration"]["Delete"] == "Cascade"
    single = reader.get(f"{api}/RelationshipDefinitions(SchemaName='{details['SchemaName']}')").json()
    assert single["ReferencingAttribute"] == "quoteid"
    filtered = reader.get(
        f"{api}/RelationshipDefinitions", params={"$filter": "SchemaName eq 'contact_customer_accounts'"}
    ).json()["value"]
    assert [r["ReferencingEntity"] for r in filtered] == ["contact"]


def test_keys_after_creating_one_through_the_metadata_api(crm_client_as, api):
    admin = crm_client_as("admin")
    keys_url = f"{api}/EntityDefinitions(LogicalName='account')/Keys"
    assert admin.get(keys_url).json()["value"] == []
    created = admin.post(
        keys_url,
        json={"SchemaName": "accountnumber_key", "DisplayName": {"LocalizedLabels": [{"Label": "Account number"}]},
              "KeyAttributes": ["accountnumber"]},
    )  # fmt: skip
    assert created.status_code in (200, 201, 204), created.text
    [key] = admin.get(keys_url, params={"$select": "SchemaName,KeyAttributes,LogicalName"}).json()["value"]
    assert key["KeyAttributes"] == ["accountnumber"]
    single = admin.get(f"{keys_url}(LogicalName='{key['LogicalName']}')")
    assert single.status_code == 200 and single.json()["EntityKeyIndexStatus"] == "Active"


def test_metadata_reads_need_a_token(crm_anonymous, api):
    answer = crm_anonymous.get(f"{api}/EntityDefinitions")
    assert answer.status_code == 401
    assert crm_anonymous.get(f"{api}/$metadata").status_code == 401


def test_custom_table_appears_in_every_metadata_read(crm_client_as, api):
    admin = crm_client_as("admin")
    table = {
        "@odata.type": "Microsoft.Dynamics.CRM.EntityMetadata",
        "SchemaName": "l2c_Visit",
        "DisplayName": {"LocalizedLabels": [{"Label": "Visit", "LanguageCode": 1033}]},
        "OwnershipType": "OrganizationOwned",
        "Attributes": [
            {"@odata.type": "Microsoft.Dynamics.CRM.StringAttributeMetadata", "SchemaName": "l2c_Name",
             "IsPrimaryName": True, "MaxLength": 100},
        ],
    }  # fmt: skip
    assert admin.post(f"{api}/EntityDefinitions", json=table).status_code in (200, 201, 204)
    custom = admin.get(
        f"{api}/EntityDefinitions", params={"$filter": "IsCustomEntity eq true", "$select": "LogicalName,EntitySetName"}
    ).json()["value"]
    assert [e["LogicalName"] for e in custom] == ["l2c_visit"]
    entity_set = custom[0]["EntitySetName"]
    document = ET.fromstring(admin.get(f"{api}/$metadata").content)
    assert "l2c_visit" in {t.get("Name") for t in document.iter(f"{EDM}EntityType")}
    assert entity_set in {item["name"] for item in admin.get(f"{api}/").json()["value"]}
    name = admin.get(f"{api}/EntityDefinitions(LogicalName='l2c_visit')/Attributes(LogicalName='l2c_name')").json()
    assert name["MaxLength"] == 100 and name["IsCustomAttribute"] is True and name["IsPrimaryName"] is True


def test_metadata_annotations_mark_change_tracked_sets(crm_client_as, api):
    admin = crm_client_as("admin")
    enabled = admin.put(f"{api}/EntityDefinitions(LogicalName='account')", json={"ChangeTrackingEnabled": True})
    assert enabled.status_code in (200, 204), enabled.text
    tracked = admin.get(f"{api}/EntityDefinitions(LogicalName='account')", params={"$select": "ChangeTrackingEnabled"})
    assert tracked.json()["ChangeTrackingEnabled"] is True
    document = ET.fromstring(admin.get(f"{api}/$metadata", params={"annotations": "true"}).content)
    accounts = next(s for s in document.iter(f"{EDM}EntitySet") if s.get("Name") == "accounts")
    terms = [a.get("Term") for a in accounts.iter(f"{EDM}Annotation")]
    assert terms == ["Org.OData.Capabilities.V1.ChangeTracking"]
    plain = ET.fromstring(admin.get(f"{api}/$metadata").content)
    assert not list(plain.iter(f"{EDM}Annotation"))
