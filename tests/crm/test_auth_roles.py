"""Security roles over the Web API: an administrator assigns and removes roles, the change takes effect for
the user's next request, and only administrators may change assignments."""

from __future__ import annotations

from lead2cash.crm import security, seed


def role_names(client, api, user_id: str) -> set[str]:
    answer = client.get(f"{api}/systemusers({user_id})/systemuserroles_association")
    assert answer.status_code == 200, answer.text
    return {role["name"] for role in answer.json()["value"]}


def test_roles_are_rows_clients_can_look_up(crm_client_as, api):
    admin = crm_client_as("admin")
    found = admin.get(f"{api}/roles", params={"$filter": "name eq 'Solution Customizer'", "$select": "name"})
    assert found.status_code == 200, found.text
    [role] = found.json()["value"]
    assert role["roleid"] == str(security.role_id(security.SOLUTION_CUSTOMIZER))
    mine = role_names(admin, api, seed.ADMINISTRATOR_ID)
    assert {security.SYSTEM_ADMINISTRATOR, security.SOLUTION_CUSTOMIZER} <= mine


def test_administrator_assigns_a_role_and_it_takes_effect(crm_client_as, api):
    admin = crm_client_as("admin")
    sales = crm_client_as("sales")
    user_id = seed.salesperson_id(seed.SALESPEOPLE[0][2])
    keys = f"{api}/EntityDefinitions(LogicalName='account')/Keys"
    body = {"SchemaName": "acct_no", "KeyAttributes": ["accountnumber"]}
    assert sales.post(keys, json=body).status_code == 403

    customizer = security.role_id(security.SYSTEM_CUSTOMIZER)
    ref = {"@odata.id": f"{admin.base_url}{api}/roles({customizer})"}
    answer = admin.post(f"{api}/systemusers({user_id})/systemuserroles_association/$ref", json=ref)
    assert answer.status_code == 204, answer.text
    assert security.SYSTEM_CUSTOMIZER in role_names(admin, api, user_id)
    assert sales.post(keys, json=body).status_code in (200, 201, 204)

    removed = admin.delete(f"{api}/systemusers({user_id})/systemuserroles_association({customizer})/$ref")
    assert removed.status_code == 204
    assert role_names(admin, api, user_id) == {security.SALESPERSON}
    denied = sales.post(keys, json={"SchemaName": "acct_no2", "KeyAttributes": ["name"]})
    assert denied.status_code == 403


def test_only_administrators_change_role_assignments(crm_client_as, api):
    integration = crm_client_as("integration")
    admin_role = security.role_id(security.SYSTEM_ADMINISTRATOR)
    ref = {"@odata.id": f"roles({admin_role})"}
    answer = integration.post(
        f"{api}/systemusers({seed.INTEGRATION_USER_ID})/systemuserroles_association/$ref", json=ref
    )
    assert answer.status_code == 403
    assert answer.json()["error"]["code"] == "0x80040220"
    assert security.SYSTEM_ADMINISTRATOR not in role_names(integration, api, seed.INTEGRATION_USER_ID)


def test_unknown_user_or_role_is_404(crm_client_as, api):
    admin = crm_client_as("admin")
    ghost = "00000000-0000-0000-0000-0000000000aa"
    assert admin.get(f"{api}/systemusers({ghost})/systemuserroles_association").status_code == 404
    ref = {"@odata.id": f"roles({ghost})"}
    answer = admin.post(f"{api}/systemusers({seed.ADMINISTRATOR_ID})/systemuserroles_association/$ref", json=ref)
    assert answer.status_code == 404 and answer.json()["error"]["code"] == "0x80040217"


def test_who_am_i_names_the_seeded_org_and_business_unit(crm_client, api):
    body = crm_client.get(f"{api}/WhoAmI").json()
    assert body["UserId"] == seed.INTEGRATION_USER_ID
    assert body["BusinessUnitId"] == seed.ROOT_BUSINESS_UNIT_ID
    assert body["OrganizationId"] == seed.ORGANIZATION_ID
    assert crm_client.get(f"{api}/WhoAmI()").json()["UserId"] == seed.INTEGRATION_USER_ID


def test_disabling_a_user_record_stops_its_sign_in(crm_client_as, api):
    admin = crm_client_as("admin")
    sales = crm_client_as("sales")
    user_id = seed.salesperson_id(seed.SALESPEOPLE[0][2])
    assert sales.get(f"{api}/WhoAmI").status_code == 200
    assert admin.patch(f"{api}/systemusers({user_id})", json={"isdisabled": True}).status_code == 204
    denied = sales.get(f"{api}/WhoAmI")
    assert denied.status_code == 401 and "disabled" in denied.json()["error"]["message"]
    assert admin.patch(f"{api}/systemusers({user_id})", json={"isdisabled": False}).status_code == 204
    assert sales.get(f"{api}/WhoAmI").status_code == 200
