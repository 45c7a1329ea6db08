"""CreateMultiple / UpdateMultiple / UpsertMultiple over HTTP: results, atomicity, keys, statement count."""

from __future__ import annotations

import uuid

import backends
import pytest
import sqlalchemy as sa

from lead2cash.crm import seed
from lead2cash.crm.metadata import AlternateKeyDef

crm_app = backends.crm_app  # every test runs on SQLite and, when configured, on PostgreSQL
API = "/api/data/v9.2"
ACCOUNT = "Microsoft.Dynamics.CRM.account"
CONTACT = "Microsoft.Dynamics.CRM.contact"


def action(client, entity_set: str, name: str, targets: list[dict]):
    return client.post(f"{API}/{entity_set}/Microsoft.Dynamics.CRM.{name}", json={"Targets": targets})


def rows(client, entity_set: str, select: str, **params) -> list[dict]:
    return client.get(f"{API}/{entity_set}", params={"$select": select, **params}).json()["value"]


@pytest.fixture
def account_key(crm_app):
    crm_app.state.l2c_store.add_key("account", AlternateKeyDef("accountnumber_key", ("accountnumber",)))


@pytest.fixture
def statements(crm_app):
    """Counts SQL statements the server runs against the org database while the test body runs."""
    engine = crm_app.state.l2c_store.engine
    seen: list[str] = []

    def record(_conn, _cursor, statement, _params, _context, _many):
        if "crm_principal" not in statement and "crm_role" not in statement:  # sign-in lookups come and go
            seen.append(statement)

    sa.event.listen(engine, "before_cursor_execute", record)
    yield seen
    sa.event.remove(engine, "before_cursor_execute", record)


def test_create_multiple_returns_ids_and_creates_rows(crm_client):
    given = str(uuid.uuid4())
    response = action(
        crm_client,
        "accounts",
        "CreateMultiple",
        [
            {"@odata.type": ACCOUNT, "name": "Bulk A", "creditlimit": 10.5},
            {"@odata.type": ACCOUNT, "name": "Bulk B", "accountid": given.upper()},
        ],
    )
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["@odata.context"].endswith("$metadata#Microsoft.Dynamics.CRM.CreateMultipleResponse")
    first, second = body["Ids"]
    assert second == given
    created = {r["accountid"]: r for r in rows(crm_client, "accounts", "name,creditlimit,versionnumber")}
    assert created[first]["name"] == "Bulk A" and created[first]["creditlimit"] == 10.5
    assert created[second]["name"] == "Bulk B"
    assert created[first]["versionnumber"] != created[second]["versionnumber"]
    full = crm_client.get(f"{API}/accounts({first})").json()
    assert full["_createdby_value"] == seed.INTEGRATION_USER_ID
    assert (full["statecode"], full["statuscode"]) == (0, 1)


def test_bulk_binds_resolve_lookups_and_reject_missing_targets(crm_client):
    (parent,) = action(crm_client, "accounts", "CreateMultiple", [{"@odata.type": ACCOUNT, "name": "P"}]).json()["Ids"]
    ok = action(
        crm_client,
        "contacts",
        "CreateMultiple",
        [
            {"@odata.type": CONTACT, "lastname": f"C{n}", "parentcustomerid_account@odata.bind": f"/accounts({parent})"}
            for n in range(3)
        ],
    )
    assert ok.status_code == 200
    linked = rows(
        crm_client,
        "contacts",
        "lastname,_parentcustomerid_value",
        **{"$filter": f"_parentcustomerid_value eq {parent}"},
    )
    assert sorted(r["lastname"] for r in linked) == ["C0", "C1", "C2"]

    missing = str(uuid.uuid4())
    bad = action(
        crm_client,
        "contacts",
        "CreateMultiple",
        [
            {"@odata.type": CONTACT, "lastname": "Fine"},
            {
                "@odata.type": CONTACT,
                "lastname": "Orphan",
                "parentcustomerid_account@odata.bind": f"/accounts({missing})",
            },
        ],
    )
    assert bad.status_code == 404
    assert bad.json()["error"]["code"] == "0x80040217"
    assert not rows(crm_client, "contacts", "lastname", **{"$filter": "lastname eq 'Fine'"})  # nothing written


def test_one_invalid_target_fails_the_whole_request(crm_client):
    response = action(
        crm_client,
        "accounts",
        "CreateMultiple",
        [{"@odata.type": ACCOUNT, "name": "Good"}, {"@odata.type": ACCOUNT, "name": "x" * 161}],
    )
    assert response.status_code == 400
    assert not rows(crm_client, "accounts", "name", **{"$filter": "name eq 'Good'"})


@pytest.mark.parametrize(
    ("targets", "status", "fragment"),
    [
        ([], 400, "Targets"),
        ([{"name": "no type"}], 400, "@odata.type"),
        ([{"@odata.type": CONTACT, "lastname": "wrong table"}], 400, "expected 'Microsoft.Dynamics.CRM.account'"),
        ([{"@odata.type": ACCOUNT, "nosuch": 1}], 400, "nosuch"),
    ],
)
def test_invalid_requests(crm_client, targets, status, fragment):
    response = action(crm_client, "accounts", "CreateMultiple", targets)
    assert response.status_code == status
    assert fragment in response.json()["error"]["message"]


def test_create_multiple_refuses_existing_and_duplicate_ids(crm_client):
    (existing,) = action(crm_client, "accounts", "CreateMultiple", [{"@odata.type": ACCOUNT, "name": "E"}]).json()[
        "Ids"
    ]
    again = action(
        crm_client, "accounts", "CreateMultiple", [{"@odata.type": ACCOUNT, "name": "E2", "accountid": existing}]
    )
    assert again.status_code == 412
    twice = str(uuid.uuid4())
    dup = action(
        crm_client,
        "accounts",
        "CreateMultiple",
        [
            {"@odata.type": ACCOUNT, "name": "D", "accountid": twice},
            {"@odata.type": ACCOUNT, "name": "D", "accountid": twice},
        ],
    )
    assert dup.status_code == 400


def test_update_multiple_changes_only_the_given_columns(crm_client):
    ids = action(
        crm_client,
        "accounts",
        "CreateMultiple",
        [{"@odata.type": ACCOUNT, "name": f"U{n}", "telephone1": "old"} for n in range(3)],
    ).json()["Ids"]
    before = {r["accountid"]: r for r in rows(crm_client, "accounts", "name,telephone1,versionnumber")}
    response = action(
        crm_client,
        "accounts",
        "UpdateMultiple",
        [
            {"@odata.type": ACCOUNT, "accountid": ids[0], "telephone1": "new"},
            {"@odata.type": ACCOUNT, "accountid": ids[1], "name": "Renamed", "creditlimit": 5},
        ],
    )
    assert response.status_code == 204, response.text
    after = {r["accountid"]: r for r in rows(crm_client, "accounts", "name,telephone1,creditlimit,versionnumber")}
    assert (after[ids[0]]["name"], after[ids[0]]["telephone1"]) == ("U0", "new")
    assert (after[ids[1]]["name"], after[ids[1]]["telephone1"], after[ids[1]]["creditlimit"]) == ("Renamed", "old", 5)
    assert after[ids[2]] == {**before[ids[2]], "creditlimit": None}
    assert after[ids[0]]["versionnumber"] > before[ids[0]]["versionnumber"]


def test_update_multiple_of_a_missing_row_is_404_and_changes_nothing(crm_client):
    (real,) = action(crm_client, "accounts", "CreateMultiple", [{"@odata.type": ACCOUNT, "name": "Real"}]).json()["Ids"]
    missing = str(uuid.uuid4())
    response = action(
        crm_client,
        "accounts",
        "UpdateMultiple",
        [
            {"@odata.type": ACCOUNT, "accountid": real, "name": "Changed"},
            {"@odata.type": ACCOUNT, "accountid": missing, "name": "Ghost"},
        ],
    )
    assert response.status_code == 404
    assert crm_client.get(f"{API}/accounts({real})").json()["name"] == "Real"


def test_upsert_multiple_by_alternate_key_creates_and_updates(crm_client, account_key):
    action(
        crm_client, "accounts", "CreateMultiple", [{"@odata.type": ACCOUNT, "name": "Old", "accountnumber": "ACC-1"}]
    )
    response = action(
        crm_client,
        "accounts",
        "UpsertMultiple",
        [
            {"@odata.type": ACCOUNT, "@odata.id": "accounts(accountnumber='acc-1')", "name": "Updated"},
            {"@odata.type": ACCOUNT, "@odata.id": "accounts(accountnumber='ACC-2')", "name": "Created"},
            {"@odata.type": ACCOUNT, "accountnumber": "ACC-3", "name": "Key in body"},
        ],
    )
    assert response.status_code == 204, response.text
    found = {
        r["accountnumber"]: r["name"] for r in rows(crm_client, "accounts", "name,accountnumber") if r["accountnumber"]
    }
    assert found == {"ACC-1": "Updated", "ACC-2": "Created", "ACC-3": "Key in body"}


def test_upsert_multiple_by_primary_key(crm_client):
    (existing,) = action(crm_client, "accounts", "CreateMultiple", [{"@odata.type": ACCOUNT, "name": "Before"}]).json()[
        "Ids"
    ]
    new_id = str(uuid.uuid4())
    response = action(
        crm_client,
        "accounts",
        "UpsertMultiple",
        [
            {"@odata.type": ACCOUNT, "@odata.id": f"accounts({existing})", "name": "After"},
            {"@odata.type": ACCOUNT, "accountid": new_id, "name": "Brand new"},
        ],
    )
    assert response.status_code == 204
    assert crm_client.get(f"{API}/accounts({existing})").json()["name"] == "After"
    assert crm_client.get(f"{API}/accounts({new_id})").json()["name"] == "Brand new"


def test_duplicate_keys_are_refused(crm_client, account_key):
    dup = action(
        crm_client,
        "accounts",
        "UpsertMultiple",
        [
            {"@odata.type": ACCOUNT, "@odata.id": "accounts(accountnumber='K')", "name": "1"},
            {"@odata.type": ACCOUNT, "@odata.id": "accounts(accountnumber='k')", "name": "2"},
        ],
    )
    assert dup.status_code == 400
    action(crm_client, "accounts", "CreateMultiple", [{"@odata.type": ACCOUNT, "name": "Has K", "accountnumber": "K"}])
    clash = action(
        crm_client, "accounts", "CreateMultiple", [{"@odata.type": ACCOUNT, "name": "Also K", "accountnumber": "k"}]
    )
    assert clash.status_code == 412
    assert clash.json()["error"]["code"] == "0x80040237"


def test_bulk_writes_are_set_based(crm_client, statements):
    """The number of statements does not grow with the number of targets."""

    def run(count: int) -> int:
        statements.clear()
        (parent,) = action(crm_client, "accounts", "CreateMultiple", [{"@odata.type": ACCOUNT, "name": "P"}]).json()[
            "Ids"
        ]
        statements.clear()
        targets = [
            {"@odata.type": CONTACT, "lastname": f"L{n}", "parentcustomerid_account@odata.bind": f"/accounts({parent})"}
            for n in range(count)
        ]
        assert action(crm_client, "contacts", "CreateMultiple", targets).status_code == 200
        creating = len(statements)
        ids = [
            r["contactid"]
            for r in rows(crm_client, "contacts", "contactid", **{"$filter": f"_parentcustomerid_value eq {parent}"})
        ]
        statements.clear()
        updates = [{"@odata.type": CONTACT, "contactid": i, "jobtitle": "Buyer"} for i in ids]
        assert action(crm_client, "contacts", "UpdateMultiple", updates).status_code == 204
        return creating + len(statements)

    assert run(5) == run(200)


def test_server_assigned_ids_follow_creation_order(crm_client, account_key):
    """Ids the server assigns grow with every create (Dataverse's are sequential too), so new rows go to the end
    of the primary-key index instead of onto random pages of it: a page's write cost stays flat as the table
    grows."""
    first = action(
        crm_client, "accounts", "CreateMultiple", [{"@odata.type": ACCOUNT, "name": f"A{n}"} for n in range(300)]
    )
    single = crm_client.post(f"{API}/accounts", json={"name": "Single"})
    upsert = [{"@odata.type": ACCOUNT, "name": f"U{n}", "accountnumber": f"U-{n}"} for n in range(300)]
    assert action(crm_client, "accounts", "UpsertMultiple", upsert).status_code == 204
    upserted = rows(crm_client, "accounts", "accountnumber", **{"$filter": "startswith(accountnumber,'U-')"})
    by_number = {r["accountnumber"]: r["accountid"] for r in upserted}
    ids = [*first.json()["Ids"], single.headers["OData-EntityId"].rsplit("(", 1)[1].rstrip(")")]
    ids += [by_number[f"U-{n}"] for n in range(300)]
    assert len(set(ids)) == len(ids) == 601
    assert ids == sorted(ids) == sorted(ids, key=uuid.UUID)


def test_bulk_needs_the_create_privilege(crm_client_as):
    sales = crm_client_as("sales")
    response = action(
        sales, "systemusers", "CreateMultiple", [{"@odata.type": "Microsoft.Dynamics.CRM.systemuser", "firstname": "X"}]
    )
    assert response.status_code == 403
