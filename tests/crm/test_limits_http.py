"""Fault switches seen by a client in another thread over real loopback HTTP: the control endpoint turns
them on and off at run time, and a write whose answer is lost was nevertheless committed."""

from __future__ import annotations

import httpx
import pytest

from lead2cash.config import Settings
from lead2cash.crm import seed
from lead2cash.crm.app import create_app
from lead2cash.crm.server import CrmServer

SECRET = "http-test-client-secret"
PASSWORD = "http-test-password"


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    settings = Settings(data_dir=tmp_path_factory.mktemp("crm-http"), secret_key="http-test-signing-secret")
    app = create_app(settings, seed_options={"integration_secret": SECRET, "admin_password": PASSWORD})
    server = CrmServer(app, https_port=None).start_in_thread()
    yield server
    server.stop_thread()


def signed_in(base: str, form: dict, timeout: float = 10.0) -> httpx.Client:
    token = httpx.post(f"{base}/local/oauth2/v2.0/token", data={**form, "scope": f"{base}/.default"})
    assert token.status_code == 200, token.text
    headers = {"Authorization": f"Bearer {token.json()['access_token']}"}
    return httpx.Client(base_url=base, headers=headers, timeout=timeout)


@pytest.fixture(scope="module")
def clients(server):
    base = server.url("http")
    admin = signed_in(base, {"grant_type": "password", "username": seed.ADMIN_USERNAME, "password": PASSWORD})
    form = {"grant_type": "client_credentials", "client_id": seed.INTEGRATION_CLIENT_ID, "client_secret": SECRET}
    integration = signed_in(base, form, timeout=0.5)
    yield admin, integration
    admin.put("/_l2c/faults", json={})
    admin.close()
    integration.close()


def test_a_lost_answer_times_the_client_out_but_the_create_is_committed(clients):
    admin, integration = clients
    assert admin.put("/_l2c/faults", json={"timeout_next": 1, "timeout_hold_seconds": 2}).status_code == 200
    with pytest.raises(httpx.ReadTimeout):
        integration.post("/api/data/v9.2/accounts", json={"name": "Lost Answer Ltd", "accountnumber": "LA-1"})
    found = admin.get("/api/data/v9.2/accounts", params={"$filter": "accountnumber eq 'LA-1'", "$select": "name"})
    assert [row["name"] for row in found.json()["value"]] == ["Lost Answer Ltd"]


def test_faults_switched_from_outside_the_process_and_back_off(clients):
    admin, integration = clients
    admin.put("/_l2c/faults", json={"fail_next": 1, "methods": ["GET"]})
    failed = integration.get("/api/data/v9.2/WhoAmI")
    assert failed.status_code == 503 and failed.json()["error"]["code"] == "0x80044155"
    assert integration.get("/api/data/v9.2/WhoAmI").status_code == 200
    admin.put("/_l2c/faults", json={"fail_fraction": 1.0})
    assert integration.get("/api/data/v9.2/WhoAmI").status_code == 503
    admin.put("/_l2c/faults", json={})
    assert integration.get("/api/data/v9.2/WhoAmI").status_code == 200
