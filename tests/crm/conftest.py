"""Fixtures for CRM server tests: a fresh org database, the app, and signed-in HTTP clients.

Fixture names for reuse:

- ``crm_store``: a ``Store`` on a fresh SQLite file in ``tmp_path`` with the schema created, not seeded.
- ``crm_settings``: the ``Settings`` the app is built from (``data_dir`` = ``tmp_path``).
- ``crm_app``: the full app (``create_app``) on a fresh, seeded org; known passwords (``CRM_PASSWORD``,
  ``CRM_CLIENT_SECRET``) instead of generated ones.
- ``crm_client``: a ``TestClient`` signed in as the integration application user (client credentials
  through the token endpoint, exactly as a client would).
- ``crm_client_as(who)``: a client for ``"admin"`` (System Administrator + Solution Customizer),
  ``"integration"``, or ``"sales"`` (a Salesperson).
- ``crm_anonymous``: a client without a token.
- ``crm_bearer(base_url, who)``: Authorization headers for a server started on a real port.
- ``api``: the service root path ``/api/data/v9.2``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest
from crm_test_credentials import CRM_CLIENT_SECRET, CRM_PASSWORD
from starlette.testclient import TestClient

from lead2cash.config import Settings
from lead2cash.crm import seed
from lead2cash.crm.app import create_app
from lead2cash.crm.store import Store

CRM_SIGNING_SECRET = "crm-test-signing-secret-0123456789"
TENANT = "00000000-0000-0000-0000-00000000c0de"
API = "/api/data/v9.2"


@pytest.fixture
def api() -> str:
    return API


@pytest.fixture
def crm_store(tmp_path) -> Iterator[Store]:
    store = Store(f"sqlite:///{tmp_path / 'crm.db'}")
    store.create_schema()
    yield store
    store.engine.dispose()
    store.read_engine.dispose()


@pytest.fixture
def crm_settings(tmp_path) -> Settings:
    """Settings of the test org: data in ``tmp_path``, a fixed token-signing secret."""
    return Settings(data_dir=tmp_path, secret_key=CRM_SIGNING_SECRET)


@pytest.fixture
def crm_app(crm_settings):
    settings = crm_settings
    store = Store(settings.crm_db_url())
    options = {
        "admin_password": CRM_PASSWORD,
        "integration_secret": CRM_CLIENT_SECRET,
        "salesperson_password": CRM_PASSWORD,
    }
    app = create_app(settings, store=store, seed_options=options)
    yield app
    store.engine.dispose()
    store.read_engine.dispose()


def token_form(who: str, base_url: str) -> dict[str, str]:
    """The token-endpoint form for ``"integration"``, ``"admin"`` or ``"sales"`` of the test org."""
    if who == "integration":
        form = {"grant_type": "client_credentials", "client_id": seed.INTEGRATION_CLIENT_ID}
        form["client_secret"] = CRM_CLIENT_SECRET
    else:
        username = seed.ADMIN_USERNAME if who == "admin" else seed.SALESPEOPLE[0][2]
        form = {"grant_type": "password", "username": username, "password": CRM_PASSWORD}
    return {**form, "scope": f"{base_url}/.default"}


def fetch_token(client: TestClient, who: str) -> str:
    """An access token from the server's own token endpoint."""
    response = client.post(f"/{TENANT}/oauth2/v2.0/token", data=token_form(who, str(client.base_url)))
    assert response.status_code == 200, response.text
    return response.json()["access_token"]


@pytest.fixture
def crm_bearer() -> Callable[[str, str], dict[str, str]]:
    """``crm_bearer(base_url, who)``: Authorization headers from a running server's token endpoint."""
    import httpx

    def headers(base_url: str, who: str = "integration") -> dict[str, str]:
        response = httpx.post(f"{base_url}/{TENANT}/oauth2/v2.0/token", data=token_form(who, base_url))
        response.raise_for_status()
        return {"Authorization": f"Bearer {response.json()['access_token']}"}

    return headers


@pytest.fixture
def crm_client_as(crm_app) -> Iterator[Callable[[str], TestClient]]:
    clients: list[TestClient] = []

    def make(who: str) -> TestClient:
        client = TestClient(crm_app)
        client.__enter__()
        clients.append(client)
        client.headers["Authorization"] = f"Bearer {fetch_token(client, who)}"
        return client

    yield make
    for client in clients:
        client.__exit__(None, None, None)


@pytest.fixture
def crm_client(crm_client_as) -> TestClient:
    return crm_client_as("integration")


@pytest.fixture
def crm_anonymous(crm_app) -> Iterator[TestClient]:
    with TestClient(crm_app) as client:
        yield client
