"""Connecting to a real CRM org over HTTPS and *Test connection*: every check, and each kind of failure."""

from __future__ import annotations

import socket

import pytest

from lead2cash.crm import seed
from lead2cash.crm.tls import ensure_certificate

API = "/api/v1/integration/setup"
pytestmark = pytest.mark.parametrize("erp_module_db", ["sqlite"], indirect=True, scope="module")


def _checks(body: dict) -> dict[str, dict]:
    return {c["name"]: c for c in body["checks"]}


def _connect(erp, body: dict) -> dict:
    response = erp.client.put(API, json=body)
    assert response.status_code == 200, response.text
    test = erp.client.post(f"{API}/test")
    assert test.status_code == 200, test.text
    return test.json()


def test_connect_finds_the_integration_user_and_reports_each_check(erp, crm_org, connection):
    result = _connect(erp, connection(crm_org))
    checks = _checks(result)
    assert list(checks) == [
        "reachable", "tls", "token", "whoami", "integration_user", "solution", "change_tracking",
    ]  # fmt: skip
    for name in ("reachable", "tls", "token", "whoami", "integration_user"):
        assert checks[name]["status"] == "ok", checks[name]
    # a fresh org: the solution is not deployed and nothing is change-tracked yet
    assert checks["solution"]["status"] == "failed"
    assert "l2c_accountstatistics" in checks["solution"]["message"]
    assert checks["change_tracking"]["status"] == "failed"
    assert "account" in checks["change_tracking"]["message"]
    assert result["ok"] is False
    assert result["integration_user"]["id"] == seed.INTEGRATION_USER_ID

    shown = erp.client.get(API).json()
    assert shown["integration_user"] == {"id": seed.INTEGRATION_USER_ID, "name": "# Lead2Cash Integration"}
    assert shown["last_test"]["ok"] is False
    assert [c["name"] for c in shown["last_test"]["checks"]][:3] == ["reachable", "tls", "token"]
    assert shown["solution"]["deployed"] is False
    assert shown["effective_authority"] == crm_org.url  # the local server issues its own tokens


def test_wrong_secret(erp, crm_org, connection):
    checks = _checks(_connect(erp, connection(crm_org, client_secret="not-the-secret")))
    assert checks["reachable"]["status"] == "ok" and checks["tls"]["status"] == "ok"
    assert checks["token"]["status"] == "failed"
    assert "invalid_client" in checks["token"]["message"] or "secret" in checks["token"]["message"].lower()
    assert "client secret" in checks["token"]["message"]  # says what to check
    assert {checks[n]["status"] for n in ("whoami", "integration_user", "solution")} == {"skipped"}
    assert erp.client.get(API).json()["integration_user"]["id"] is None


def test_unreachable_server(erp, connection, crm_org):
    with socket.socket() as probe:  # a port nobody listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    checks = _checks(_connect(erp, connection(crm_org, server_address=f"https://127.0.0.1:{port}")))
    assert checks["reachable"]["status"] == "failed"
    assert f"127.0.0.1:{port}" in checks["reachable"]["message"]
    assert "server address" in checks["reachable"]["message"]
    assert all(checks[n]["status"] == "skipped" for n in ("tls", "token", "whoami"))


def test_certificate_not_trusted(erp, crm_org, connection, tmp_path):
    other_cert, _ = ensure_certificate(tmp_path / "other")  # a certificate the server does not use
    checks = _checks(_connect(erp, connection(crm_org, ca_bundle=str(other_cert))))
    assert checks["reachable"]["status"] == "ok"
    assert checks["tls"]["status"] == "failed"
    assert "not trusted (self-signed certificate)" in checks["tls"]["message"]
    assert "CA bundle" in checks["tls"]["message"]
    assert checks["token"]["status"] == "skipped"


def test_integration_user_without_its_roles(erp, fresh_org, connection):
    fresh_org.set_role(seed.INTEGRATION_USER_ID, "Integration User", held=False)
    checks = _checks(_connect(erp, connection(fresh_org)))
    assert checks["integration_user"]["status"] == "failed"
    assert "Integration User" in checks["integration_user"]["message"]
    assert "Integration Administrator" not in checks["integration_user"]["message"]


def test_server_address_rules(erp, crm_org, connection):
    response = erp.client.put(API, json={"server_address": "contoso.crm4.dynamics.com/api/data/v9.2/"})
    assert response.status_code == 200, response.text
    shown = response.json()
    assert shown["server_address"] == "https://contoso.crm4.dynamics.com"
    assert shown["effective_authority"] == "https://login.microsoftonline.com"  # online: Entra ID
    bad = erp.client.put(API, json={"server_address": "ftp://example.com"})
    assert bad.status_code == 422 and bad.json()["error"]["field"] == "server_address"
    missing = erp.client.put(API, json={"ca_bundle": "/no/such/file.pem"})
    assert missing.status_code == 422 and missing.json()["error"]["field"] == "ca_bundle"


def test_only_administrators(erp):
    assert erp.client_as("order_processor").get(API).status_code == 403
    assert erp.client_as("integration").post(f"{API}/test").status_code == 403
    assert erp.client_as("disabled").get(API).status_code == 401
