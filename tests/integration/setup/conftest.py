"""Fixtures for the connection setup tests: real CRM orgs over HTTPS on loopback and the ERP process's API.

- ``crm_org``: one seeded org for the module (connection tests and refused deployments change nothing in it);
  ``fresh_org``: a new org for one test (deployments that create things). Both are ``Org`` objects with the
  running server, its URL, its certificate and helpers to sign in and change roles as the administrator.
- ``erp``: the ERP process's API (``lead2cash.server.create_app``) on the module's migrated ERP database
  (``erp_module_db``; a module restricts it to SQLite with ``pytest.mark.parametrize("erp_module_db",
  ["sqlite"], indirect=True, scope="module")``), with a ``TestClient`` for an
  administrator (``erp.client``) and the other roles (``erp.client_as(role)``); the setup row and job queue
  entries are removed after each test.
- ``connection(org, **overrides)``: the setup fields (PUT body) for the org's integration application user.
"""

from __future__ import annotations

import ssl
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
import sqlalchemy as sa
from starlette.testclient import TestClient

from lead2cash.config import Settings
from lead2cash.crm import seed
from lead2cash.crm.app import create_app as create_crm_app
from lead2cash.crm.security import role_id
from lead2cash.crm.server import CrmServer
from lead2cash.crm.tls import ensure_certificate

CLIENT_SECRET = "setup-test-integration-secret-4f1d"
PASSWORD = "setup-test-password-9c2e"
TENANT = "00000000-0000-0000-0000-00000005e7a9"
ERP_SECRET_KEY = "setup-test-erp-secret-key-0123456789abcdef"
API = "/api/v1/integration/setup"


@dataclass
class Org:
    server: CrmServer
    cert: Path

    @property
    def url(self) -> str:
        return self.server.url("https")

    def tls(self) -> ssl.SSLContext:
        return ssl.create_default_context(cafile=str(self.cert))

    def token(self, username: str = seed.ADMIN_USERNAME) -> str:
        form = {"grant_type": "password", "username": username, "password": PASSWORD, "scope": f"{self.url}/.default"}
        response = httpx.post(f"{self.url}/{TENANT}/oauth2/v2.0/token", data=form, verify=self.tls())
        response.raise_for_status()
        return response.json()["access_token"]

    def admin(self) -> httpx.Client:
        """An HTTP client on the Web API signed in as the org's administrator."""
        headers = {"Authorization": f"Bearer {self.token()}", "Accept": "application/json"}
        return httpx.Client(base_url=f"{self.url}/api/data/v9.2/", headers=headers, verify=self.tls())

    def roles_of(self, user_id: str) -> set[str]:
        with self.admin() as api:
            response = api.get(f"systemusers({user_id})/systemuserroles_association")
            response.raise_for_status()
            return {r["name"] for r in response.json()["value"]}

    def set_role(self, user_id: str, role: str, held: bool) -> None:
        with self.admin() as api:
            nav = f"systemusers({user_id})/systemuserroles_association"
            if held:
                body = {"@odata.id": f"{self.url}/api/data/v9.2/roles({role_id(role)})"}
                response = api.post(f"{nav}/$ref", json=body)
            else:
                response = api.delete(f"{nav}({role_id(role)})/$ref")
            response.raise_for_status()

    def definition(self, table: str) -> dict:
        with self.admin() as api:
            response = api.get(f"EntityDefinitions(LogicalName='{table}')")
            if response.status_code == 404:
                return {}
            response.raise_for_status()
            return response.json()

    def snapshot(self, tables: list[str]) -> dict[str, tuple]:
        """Columns, keys and change tracking of ``tables`` (to compare before and after)."""
        out: dict[str, tuple] = {}
        with self.admin() as api:
            for table in tables:
                ref = f"EntityDefinitions(LogicalName='{table}')"
                found = api.get(ref)
                if found.status_code == 404:
                    out[table] = ()
                    continue
                attrs = sorted(a["LogicalName"] for a in api.get(f"{ref}/Attributes").json()["value"])
                keys = sorted(k["SchemaName"] for k in api.get(f"{ref}/Keys").json()["value"])
                tracking = found.json().get("ChangeTrackingEnabled")
                out[table] = (tuple(attrs), tuple(keys), str(tracking))
        return out


def _start(directory: Path, cert: Path, key: Path) -> CrmServer:
    settings = Settings(data_dir=directory, secret_key=f"crm-signing-{uuid.uuid4().hex}")
    options = {"integration_secret": CLIENT_SECRET, "admin_password": PASSWORD, "salesperson_password": PASSWORD}
    app = create_crm_app(settings, seed_options=options)
    return CrmServer(app, http_port=0, https_port=0, certfile=cert, keyfile=key).start_in_thread()


@pytest.fixture(scope="session")
def crm_tls(tmp_path_factory) -> tuple[Path, Path]:
    return ensure_certificate(tmp_path_factory.mktemp("setup-tls"))


@pytest.fixture(scope="module")
def crm_org(tmp_path_factory, crm_tls) -> Iterator[Org]:
    server = _start(tmp_path_factory.mktemp("setup-org"), *crm_tls)
    yield Org(server, crm_tls[0])
    server.stop_thread()


@pytest.fixture
def fresh_org(tmp_path, crm_tls) -> Iterator[Org]:
    server = _start(tmp_path / "org", *crm_tls)
    yield Org(server, crm_tls[0])
    server.stop_thread()


@dataclass
class Erp:
    app: object
    sessions: object
    engine: object
    users: dict[str, str]
    client: TestClient

    def client_as(self, role: str) -> TestClient:
        return TestClient(self.app, headers={"Authorization": f"Bearer {self.users[role]}"})


@pytest.fixture(scope="module")
def erp_module_app(erp_module_db):
    from lead2cash.server import create_app

    return create_app(erp_module_db.sessions, secret_key=ERP_SECRET_KEY)


@pytest.fixture
def erp(erp_module_db, erp_module_users, erp_module_app) -> Iterator[Erp]:
    """The ERP API on the module's database; the setup row and job queue entries are removed afterwards."""
    from lead2cash.integration.setup.model import ConnectionSetup
    from lead2cash.jobs.model import JobQueueEntry

    headers = {"Authorization": f"Bearer {erp_module_users['administrator']}"}
    with TestClient(erp_module_app, headers=headers) as client:
        yield Erp(erp_module_app, erp_module_db.sessions, erp_module_db.engine, erp_module_users, client)
    with erp_module_db.sessions() as session, session.begin():
        session.execute(sa.delete(ConnectionSetup))
        session.execute(sa.delete(JobQueueEntry))


def _connection(org: Org, **overrides) -> dict:
    body = {
        "server_address": org.url,
        "tenant_id": TENANT,
        "client_id": seed.INTEGRATION_CLIENT_ID,
        "client_secret": CLIENT_SECRET,
        "ca_bundle": str(org.cert),
    }
    body.update(overrides)
    return body


@pytest.fixture
def known_secrets() -> dict[str, str]:
    """The integration user's client secret and the ERP's encryption key, to look for them in output."""
    return {"client_secret": CLIENT_SECRET, "erp_secret_key": ERP_SECRET_KEY}


@pytest.fixture
def password() -> str:
    """The password of every seeded interactive user of the test orgs (administrator, salespeople)."""
    return PASSWORD


@pytest.fixture
def connection():
    """``connection(org, **overrides)``: the setup fields for the integration application user of ``org``."""
    return _connection
