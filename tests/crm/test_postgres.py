"""The CRM server on PostgreSQL (runs when ``L2C_TEST_POSTGRES_URL`` is set): the same Web API behaviour as on
SQLite for writes, keys, paging, change tracking and run-time customizations, in a schema of its own."""

from __future__ import annotations

from urllib.parse import urlsplit

import pytest
from starlette.testclient import TestClient

from lead2cash.crm import seed
from lead2cash.crm.app import create_app
from lead2cash.crm.store import Store

pytestmark = pytest.mark.postgres
API = "/api/data/v9.2"
SECRET = "pg-client-secret"


@pytest.fixture
def pg_client(postgres_schema_url, crm_settings):
    store = Store(postgres_schema_url)
    app = create_app(crm_settings, store=store, seed_options={"integration_secret": SECRET, "admin_password": "pw"})
    with TestClient(app) as client:
        form = {"grant_type": "client_credentials", "client_id": seed.INTEGRATION_CLIENT_ID,
                "client_secret": SECRET, "scope": "http://testserver/.default"}  # fmt: skip
        token = client.post("/t/oauth2/v2.0/token", data=form).json()["access_token"]
        client.headers["Authorization"] = f"Bearer {token}"
        yield client
    store.engine.dispose()


def test_web_api_on_postgresql(pg_client, postgres_schema_url):
    client = pg_client
    admin_form = {"grant_type": "password", "username": seed.ADMIN_USERNAME, "password": "pw",
                  "scope": "http://testserver/.default"}  # fmt: skip
    admin = {"Authorization": "Bearer " + client.post("/t/oauth2/v2.0/token", data=admin_form).json()["access_token"]}
    column = {"@odata.type": "Microsoft.Dynamics.CRM.StringAttributeMetadata", "SchemaName": "l2c_CompanyId"}
    assert (
        client.post(
            f"{API}/EntityDefinitions(LogicalName='account')/Attributes", json=column, headers=admin
        ).status_code
        == 204
    )
    key = {"SchemaName": "l2c_companyid_key", "KeyAttributes": ["l2c_companyid"]}
    assert (
        client.post(f"{API}/EntityDefinitions(LogicalName='account')/Keys", json=key, headers=admin).status_code == 204
    )
    tracking = {"ChangeTrackingEnabled": True}
    assert (
        client.put(f"{API}/EntityDefinitions(LogicalName='account')", json=tracking, headers=admin).status_code == 204
    )

    for i in range(7):
        assert (
            client.patch(
                f"{API}/accounts(l2c_companyid='C{i}')", json={"name": f"A{i}", "creditlimit": i + 0.5}
            ).status_code
            == 204
        )
    assert client.patch(f"{API}/accounts(l2c_companyid='C1')", json={"name": "renamed"}).status_code == 204
    dup = client.post(f"{API}/accounts", json={"name": "dup", "l2c_companyid": "C1"})
    assert dup.status_code == 412

    url, names = f"{API}/accounts?$select=name,creditlimit&$orderby=creditlimit desc", []
    while url:
        body = client.get(url, headers={"Prefer": "odata.maxpagesize=3"}).json()
        names += [r["name"] for r in body["value"]]
        link = body.get("@odata.nextLink")
        url = f"{urlsplit(link).path}?{urlsplit(link).query}" if link else None
    assert names == ["A6", "A5", "A4", "A3", "A2", "renamed", "A0"]

    delta_link = client.get(f"{API}/accounts?$select=name", headers={"Prefer": "odata.track-changes"}).json()[
        "@odata.deltaLink"
    ]
    gone = client.get(f"{API}/accounts(l2c_companyid='C0')").json()["accountid"]
    client.delete(f"{API}/accounts({gone})")
    client.patch(f"{API}/accounts(l2c_companyid='C2')", json={"name": "changed"})
    parts = urlsplit(delta_link)
    delta = client.get(f"{parts.path}?{parts.query}").json()["value"]
    assert [r["name"] for r in delta if "reason" not in r] == ["changed"]
    assert [r["id"] for r in delta if r.get("reason") == "deleted"] == [gone]

    restarted = Store(postgres_schema_url)
    restarted.create_schema()
    assert restarted.registry.get("account").key_for({"l2c_companyid"}) is not None
    restarted.engine.dispose()


def test_racing_writers_on_postgresql(postgres_schema_url, crm_settings):
    import threading
    from concurrent.futures import ThreadPoolExecutor

    import httpx

    from lead2cash.crm.server import CrmServer

    store = Store(postgres_schema_url)
    app = create_app(crm_settings, store=store, seed_options={"integration_secret": SECRET, "admin_password": "pw"})
    server = CrmServer(app, http_port=0, https_port=None).start_in_thread()
    base = server.url("http")
    try:
        form = {"grant_type": "client_credentials", "client_id": seed.INTEGRATION_CLIENT_ID,
                "client_secret": SECRET, "scope": f"{base}/.default"}  # fmt: skip
        headers = {
            "Authorization": "Bearer " + httpx.post(f"{base}/t/oauth2/v2.0/token", data=form).json()["access_token"]
        }
        account = "6a1f1f7e-0000-4000-8000-000000000001"
        created = httpx.patch(f"{base}{API}/accounts({account})", json={"name": "contested"}, headers=headers)
        assert created.status_code == 204
        etag = httpx.get(f"{base}{API}/accounts({account})", headers=headers).headers["ETag"]
        start = threading.Barrier(5)

        def update(n: int) -> int:
            start.wait()
            body = {"name": f"winner {n}"}
            return httpx.patch(
                f"{base}{API}/accounts({account})", json=body, headers={**headers, "If-Match": etag}
            ).status_code

        with ThreadPoolExecutor(5) as pool:
            assert sorted(pool.map(update, range(5))) == [204, 412, 412, 412, 412]
        same = "6a1f1f7e-0000-4000-8000-0000000000ff"
        start = threading.Barrier(5)

        def create_same(_n: int) -> int:
            start.wait()
            return httpx.patch(
                f"{base}{API}/accounts({same})", json={"name": "once"}, headers={**headers, "If-None-Match": "*"}
            ).status_code

        with ThreadPoolExecutor(5) as pool:
            assert sorted(pool.map(create_same, range(5))) == [204, 412, 412, 412, 412]
    finally:
        server.stop_thread()
        store.engine.dispose()
