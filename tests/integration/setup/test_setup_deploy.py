"""Solution deployment with an administrator account: roles checked first, everything created once,
redeployment a no-op, change tracking on and the integration user's roles assigned."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from lead2cash.crm import seed
from lead2cash.integration.setup import solution
from lead2cash.jobs import EntrySpec, scheduler
from lead2cash.jobs.model import EntryStatus, JobQueueEntry

API = "/api/v1/integration/setup"
pytestmark = pytest.mark.parametrize("erp_module_db", ["sqlite"], indirect=True, scope="module")
ALICIA = seed.salesperson_id(seed.SALESPEOPLE[0][2])
TABLES = [solution.STATISTICS_TABLE, *sorted({c.table for c in solution.COLUMNS}), *solution.TRACKED_TABLES]


def _connect(erp, org, connection) -> None:
    assert erp.client.put(API, json=connection(org)).status_code == 200
    assert erp.client.post(f"{API}/test").status_code == 200


@pytest.mark.parametrize("lacking", solution.ADMIN_ROLES)
def test_an_account_missing_a_role_is_refused_and_nothing_is_created(erp, fresh_org, connection, password, lacking):
    username = seed.SALESPEOPLE[0][2]
    for role in solution.ADMIN_ROLES:
        if role != lacking:
            fresh_org.set_role(ALICIA, role, held=True)
    _connect(erp, fresh_org, connection)
    before = fresh_org.snapshot(TABLES)

    response = erp.client.post(f"{API}/deploy", json={"admin_username": username, "admin_password": password})
    assert response.status_code == 422, response.text
    error = response.json()["error"]
    assert lacking in error["message"] and username in error["message"]
    assert "Nothing was changed" in error["message"]
    assert fresh_org.snapshot(TABLES) == before
    assert erp.client.get(API).json()["solution"]["deployed"] is False


def test_an_application_user_without_the_roles_is_refused(erp, crm_org, connection, known_secrets):
    _connect(erp, crm_org, connection)
    body = {"admin_client_id": seed.INTEGRATION_CLIENT_ID, "admin_client_secret": known_secrets["client_secret"]}
    response = erp.client.post(f"{API}/deploy", json=body)
    assert response.status_code == 422, response.text
    message = response.json()["error"]["message"]
    assert "System Administrator" in message and "Solution Customizer" in message


def test_wrong_administrator_password(erp, crm_org, connection):
    _connect(erp, crm_org, connection)
    body = {"admin_username": seed.ADMIN_USERNAME, "admin_password": "wrong"}
    response = erp.client.post(f"{API}/deploy", json=body)
    assert response.status_code == 422
    assert "could not sign in" in response.json()["error"]["message"]
    both = erp.client.post(f"{API}/deploy", json={**body, "admin_client_id": "x", "admin_client_secret": "y"})
    assert both.status_code == 422 and both.json()["error"]["field"] == "administrator account"


def test_deploy_creates_everything_and_redeploy_changes_nothing(erp, fresh_org, connection, password):
    fresh_org.set_role(seed.INTEGRATION_USER_ID, "Integration Administrator", held=False)
    _connect(erp, fresh_org, connection)
    body = {"admin_username": seed.ADMIN_USERNAME, "admin_password": password}

    first = erp.client.post(f"{API}/deploy", json=body)
    assert first.status_code == 200, first.text
    created = first.json()["created"]
    assert f"table {solution.STATISTICS_TABLE}" in created
    assert "column account.l2c_companyid" in created and "column salesorder.l2c_erpordernumber" in created
    assert "column account.l2c_accountstatisticsid" in created
    assert "key salesorder.l2c_companyerpordernumber" in created
    assert "role 'Integration Administrator' of # Lead2Cash Integration" in created
    assert "role 'Integration User' of # Lead2Cash Integration" in first.json()["already_present"]

    # what a client of the org sees afterwards
    assert {"Integration Administrator", "Integration User"} <= fresh_org.roles_of(seed.INTEGRATION_USER_ID)
    for table in solution.TRACKED_TABLES:
        assert fresh_org.definition(table)["ChangeTrackingEnabled"] is True, table
    statistics = fresh_org.definition(solution.STATISTICS_TABLE)
    assert statistics["EntitySetName"] == solution.STATISTICS_SET
    snapshot = fresh_org.snapshot(TABLES)
    assert "l2c_companyid" in snapshot["contact"][0]
    assert "l2c_CompanyCustomerNo" in snapshot[solution.STATISTICS_TABLE][1]

    shown = erp.client.get(API).json()
    assert shown["solution"]["deployed"] is True and shown["solution"]["version"] == solution.SOLUTION_VERSION
    checks = {c["name"]: c["status"] for c in erp.client.post(f"{API}/test").json()["checks"]}
    assert checks == dict.fromkeys(checks, "ok")

    again = erp.client.post(f"{API}/deploy", json=body)
    assert again.status_code == 200, again.text
    assert again.json()["created"] == []
    assert fresh_org.snapshot(TABLES) == snapshot

    with erp.sessions() as session, session.begin():  # the integration's recurring jobs, and another one
        scheduler.ensure_entry(session, EntrySpec("CUSTOMER", "integration.sync", on_hold=True))
        scheduler.ensure_entry(session, EntrySpec("CLEANUP", "housekeeping.cleanup", on_hold=True))
    enabled = erp.client.post(f"{API}/enable")
    assert enabled.status_code == 200, enabled.text
    assert enabled.json()["enabled"] is True
    with erp.sessions() as session:
        statuses = dict(session.execute(sa.select(JobQueueEntry.key, JobQueueEntry.status)).all())
    assert statuses == {"CUSTOMER": EntryStatus.READY, "CLEANUP": EntryStatus.ON_HOLD}  # only the integration's
    assert erp.client.get(API).json()["synchronization"]["scheduled_jobs"]["text"] == "1 of 1"
    locked = erp.client.put(API, json={"client_id": "another"})
    assert locked.status_code == 422 and "Disable the connection first" in locked.json()["error"]["fix"]
    disabled = erp.client.post(f"{API}/disable", json={"reason": "maintenance"})
    assert disabled.json()["enabled"] is False and disabled.json()["disable_reason"] == "maintenance"
    with erp.sessions() as session:
        statuses = dict(session.execute(sa.select(JobQueueEntry.key, JobQueueEntry.status)).all())
    assert statuses == {"CUSTOMER": EntryStatus.ON_HOLD, "CLEANUP": EntryStatus.ON_HOLD}
    assert erp.client.get(API).json()["synchronization"]["scheduled_jobs"]["text"] == "0 of 1"


def test_enable_refused_while_a_check_fails(erp, crm_org, connection):
    _connect(erp, crm_org, connection)  # solution not deployed on this org
    response = erp.client.post(f"{API}/enable")
    assert response.status_code == 422
    assert "solution" in response.json()["error"]["message"]
    assert erp.client.get(API).json()["enabled"] is False
