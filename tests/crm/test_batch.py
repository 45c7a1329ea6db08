"""`$batch` over HTTP: changesets are atomic, `$n` references work, errors stop or continue as asked."""

from __future__ import annotations

import re

import backends
import pytest
from batch_support import batch_body, changeset, part, post_batch, read_parts

crm_app = backends.crm_app  # every test runs on SQLite and, when configured, on PostgreSQL
API = "/api/data/v9.2"
GUID = re.compile(r"\(([0-9a-f-]{36})\)")


def names(client) -> list[str]:
    rows = client.get(f"{API}/accounts", params={"$select": "name", "$orderby": "name"}).json()["value"]
    return [row["name"] for row in rows]


@pytest.mark.parametrize("crlf", [True, False], ids=["crlf", "lf-only"])
def test_changeset_with_content_id_references(crm_client, crlf):
    response = post_batch(
        crm_client,
        changeset(
            part("POST", "http://testserver/api/data/v9.2/accounts", {"name": "Parent"}, content_id="1"),
            part(
                "POST", "/api/data/v9.2/contacts", {"lastname": "Li", "parentcustomerid_account@odata.bind": "$1"}, "2"
            ),
            part("PATCH", "$1", {"telephone1": "555-0100"}, "3", If_Match="*"),
            part("PUT", "$2/firstname", {"value": "Jo"}, "4"),
        ),
        part("GET", "accounts?$select=name,telephone1&$filter=name eq 'parent'"),
        crlf=crlf,
    )
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("multipart/mixed; boundary=batchresponse_")
    parts = read_parts(response)
    assert [p["status"] for p in parts] == [204, 204, 204, 204, 200]
    assert parts[0]["reason"] == "No Content"
    assert "\r\nOData-EntityId: " in response.text and "\r\nOData-Version: 4.0" in response.text
    assert [p["content_id"] for p in parts[:4]] == ["1", "2", "3", "4"]
    account_url = parts[0]["headers"]["odata-entityid"]
    assert parts[0]["headers"]["location"] == account_url
    account_id = GUID.search(account_url).group(1)
    contact_id = GUID.search(parts[1]["headers"]["odata-entityid"]).group(1)
    (found,) = parts[4]["json"]["value"]
    assert (found["accountid"], found["telephone1"]) == (account_id, "555-0100")
    contact = crm_client.get(f"{API}/contacts({contact_id})").json()
    assert contact["_parentcustomerid_value"] == account_id
    assert contact["fullname"] == "Jo Li"


def test_failed_changeset_rolls_back_everything_and_stops_the_batch(crm_client):
    response = post_batch(
        crm_client,
        changeset(
            part("POST", "accounts", {"name": "Kept only if all succeed"}, "1"),
            part("POST", "accounts", {"name": "x" * 500}, "2"),  # longer than the column allows
        ),
        part("POST", "accounts", {"name": "Never reached"}),
    )
    assert response.status_code == 400
    parts = read_parts(response)
    assert len(parts) == 1  # only the failing part of the changeset; nothing after it ran
    failure = parts[0]
    assert failure["status"] == 400 and failure["content_id"] == "2" and not failure["changeset"]
    assert failure["json"]["error"]["code"] == "0x80044331"
    assert names(crm_client) == [n for n in names(crm_client) if n not in ("Kept only if all succeed", "Never reached")]
    assert "Kept only if all succeed" not in names(crm_client)


def test_continue_on_error_runs_every_part(crm_client):
    missing = "00000000-0000-0000-0000-0000000000aa"
    response = post_batch(
        crm_client,
        part("POST", "accounts", {"name": "First"}),
        part("DELETE", f"accounts({missing})", If_Match="*"),
        changeset(part("POST", "accounts", {"name": "Bad", "nosuchcolumn": 1}, "1")),
        changeset(part("POST", "accounts", {"name": "Second"}, "2")),
        prefer="odata.continue-on-error",
    )
    assert response.status_code == 200
    assert response.headers["Preference-Applied"] == "odata.continue-on-error"
    statuses = [p["status"] for p in read_parts(response)]
    assert statuses == [204, 404, 400, 204]
    assert {"First", "Second"} <= set(names(crm_client))
    assert "Bad" not in names(crm_client)


def test_without_continue_on_error_a_failed_single_part_stops_the_batch(crm_client):
    response = post_batch(
        crm_client,
        part("POST", "accounts", {"name": "Before"}),
        part("GET", "accounts?$filter=nosuch eq 1"),
        part("POST", "accounts", {"name": "After"}),
    )
    assert response.status_code == 400
    assert [p["status"] for p in read_parts(response)] == [204, 400]
    assert "Before" in names(crm_client) and "After" not in names(crm_client)


def test_undeclared_reference_fails_the_changeset(crm_client):
    response = post_batch(
        crm_client,
        changeset(part("POST", "contacts", {"lastname": "X", "parentcustomerid_account@odata.bind": "$9"}, "1")),
    )
    (failure,) = read_parts(response)
    assert failure["status"] == 400
    assert "'$9' does not exist in the batch context" in failure["json"]["error"]["message"]


def test_inner_requests_keep_the_callers_privileges(crm_client_as):
    sales = crm_client_as("sales")
    admin = crm_client_as("admin")
    user_id = admin.get(f"{API}/systemusers", params={"$select": "systemuserid", "$top": "1"}).json()["value"][0]
    response = post_batch(
        sales, part("DELETE", f"systemusers({user_id['systemuserid']})"), prefer="odata.continue-on-error"
    )
    assert response.status_code == 200
    (denied,) = read_parts(response)
    assert denied["status"] == 403


def test_batch_requires_a_token(crm_anonymous):
    response = crm_anonymous.post(
        f"{API}/$batch",
        content=batch_body(part("GET", "accounts")),
        headers={"Content-Type": "multipart/mixed; boundary=batch_1"},
    )
    assert response.status_code == 401


def test_malformed_batch_is_a_json_400(crm_client):
    response = crm_client.post(f"{API}/$batch", content=b"hello", headers={"Content-Type": "text/plain"})
    assert response.status_code == 400
    assert response.json()["error"]["code"].startswith("0x")
