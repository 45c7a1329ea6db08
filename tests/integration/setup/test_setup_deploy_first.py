"""Deploying before any connection test (the integration user is found by signing in), on the ERP's
SQLite and PostgreSQL databases; and "Use default synchronization setup" from the setup page."""

from __future__ import annotations

from lead2cash.crm import seed
from lead2cash.integration.mapping.standard import MAPPINGS

API = "/api/v1/integration/setup"


def test_deploy_without_a_prior_test_finds_the_integration_user(erp, fresh_org, connection, password):
    assert erp.client.put(API, json=connection(fresh_org)).status_code == 200
    assert erp.client.get(API).json()["integration_user"]["id"] is None

    body = {"admin_username": seed.ADMIN_USERNAME, "admin_password": password}
    response = erp.client.post(f"{API}/deploy", json=body)
    assert response.status_code == 200, response.text
    assert response.json()["created"]

    shown = erp.client.get(API).json()
    assert shown["integration_user"]["id"] == seed.INTEGRATION_USER_ID
    assert shown["solution"]["deployed"] is True
    assert erp.client.post(f"{API}/test").json()["ok"] is True


def test_use_default_synchronization_setup(erp):
    response = erp.client.post(f"{API}/use-default-synchronization-setup")
    assert response.status_code == 200, response.text
    assert response.json()["mappings"] == [spec.name for spec in MAPPINGS]
    status = erp.client.get(API).json()["synchronization"]
    assert status["table_mappings"] == len(MAPPINGS)
    # one recurring entry per mapping with a job interval, on hold while the connection is disabled
    recurring = sum(1 for spec in MAPPINGS if spec.job_interval_minutes is not None)
    assert status["scheduled_jobs"] == {"active": 0, "total": recurring, "text": f"0 of {recurring}"}
    assert erp.client_as("order_processor").post(f"{API}/use-default-synchronization-setup").status_code == 403
