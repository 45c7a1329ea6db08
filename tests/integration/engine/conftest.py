"""Fixtures for the engine tests: a fresh CRM org over HTTP on loopback and a migrated ERP database.

- ``org``: a seeded CRM org for one test (``CrmServer`` in a thread, HTTP on a free port); change tracking is
  on for accounts, contacts and products, off for users (so SALESPEOPLE exercises the ``modifiedon`` path).
- ``crm``: an ``httpx.Client`` on the org's Web API signed in as the administrator (a CRM user typing).
- ``engine``: ``Engine`` with the ERP sessions, a ``SyncDataverseClient`` signed in as the integration
  user, the standard mappings created, and helpers (``run``, ``jobs``, ``erp_version``, ``crm_version``).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select

from lead2cash.config import Settings
from lead2cash.crm import seed
from lead2cash.crm.app import create_app
from lead2cash.crm.server import CrmServer
from lead2cash.erp.versioning import current_version
from lead2cash.integration.dataverse import DataverseSettings, SyncDataverseClient
from lead2cash.integration.engine import run_mapping
from lead2cash.integration.mapping.defaults import use_default_setup
from lead2cash.integration.synclog import SyncJob

SECRET = "engine-test-integration-secret"
PASSWORD = "engine-test-admin-password"
TENANT = "00000000-0000-0000-0000-0000000e2612"
TRACKED = ("account", "contact", "product", "transactioncurrency", "uomschedule")


@dataclass
class Org:
    server: CrmServer
    secret: str = SECRET
    tenant: str = TENANT

    @property
    def url(self) -> str:
        return self.server.url("http")

    def settings(self, **kw: Any) -> DataverseSettings:
        base = DataverseSettings(
            url=self.url, client_id=seed.INTEGRATION_CLIENT_ID, client_secret=SECRET, tenant_id=TENANT,
            authority=self.url, backoff_initial=0.02, backoff_max=0.2, read_timeout=10.0,
        )  # fmt: skip
        return dataclasses.replace(base, **kw)

    def admin(self) -> httpx.Client:
        form = {"grant_type": "password", "username": seed.ADMIN_USERNAME, "password": PASSWORD,
                "scope": f"{self.url}/.default"}  # fmt: skip
        token = httpx.post(f"{self.url}/{TENANT}/oauth2/v2.0/token", data=form).raise_for_status().json()
        headers = {"Authorization": f"Bearer {token['access_token']}", "Accept": "application/json"}
        return httpx.Client(base_url=f"{self.url}/api/data/v9.2/", headers=headers, timeout=20)


@pytest.fixture
def org(tmp_path) -> Iterator[Org]:
    settings = Settings(data_dir=tmp_path / "crm", secret_key="engine-test-signing-secret-0123456789")
    app = create_app(settings, seed_options={"integration_secret": SECRET, "admin_password": PASSWORD})
    server = CrmServer(app, http_port=0, https_port=None).start_in_thread()
    org = Org(server)
    with org.admin() as api:
        for table in TRACKED:
            api.put(f"EntityDefinitions(LogicalName='{table}')", json={"ChangeTrackingEnabled": True})
    yield org
    server.stop_thread()


@pytest.fixture
def crm(org) -> Iterator[httpx.Client]:
    with org.admin() as client:
        yield client


@dataclass
class Engine:
    db: Any
    client: SyncDataverseClient
    org: Org

    @property
    def sessions(self):
        return self.db.sessions

    def run(self, name: str, **kw: Any) -> list[SyncJob]:
        ids = run_mapping(self.sessions, self.client, name, **kw)
        return self.jobs(ids)

    def jobs(self, ids) -> list[SyncJob]:
        with self.sessions() as s:
            jobs = [s.get(SyncJob, i) for i in ids]
            for j in jobs:
                _ = list(j.errors)
                s.expunge(j)
            return jobs

    def erp_version(self) -> int:
        with self.sessions() as s:
            return current_version(s.connection())

    def crm_version(self) -> int:
        with self.org.admin() as api:
            top = 0
            for entity_set in ("accounts", "contacts", "products", "transactioncurrencies", "systemusers"):
                rows = api.get(entity_set, params={"$select": "versionnumber", "$orderby": "versionnumber desc",
                                                   "$top": "1"}).json()["value"]  # fmt: skip
                top = max([top] + [r["versionnumber"] for r in rows])
            return top

    def count(self, model) -> int:
        with self.sessions() as s:
            return s.scalar(select(func.count()).select_from(model))


@pytest.fixture
def engine(erp_db, org) -> Iterator[Engine]:
    with erp_db.sessions() as session, session.begin():
        use_default_setup(session)
    with SyncDataverseClient(org.settings()) as client:
        yield Engine(erp_db, client, org)
