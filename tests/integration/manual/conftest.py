"""Fixtures for the manual-operation and full-synchronization tests: a real CRM org over HTTPS, a real ERP.

- ``org``: one seeded CRM server for the module (tests keep apart by unique names; ``fresh_org``: one per
  test); ``org.admin`` is a
  blocking Dataverse client signed in as the org's administrator, to put rows into the CRM as a user would.
- ``crm``: a blocking Dataverse client for the integration application user (what the operations use).
- ``erp_env``: a migrated ERP database with the standard mappings and the connection setup stored
  (so ``open_crm`` and the API reach the org), plus a ``TestClient`` on the ERP process's app.
- ``tag``: a short unique text for names made by one test; ``rows``: ERP record makers.
"""

from __future__ import annotations

import dataclasses
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path

import pytest
from starlette.testclient import TestClient

from lead2cash.config import Settings
from lead2cash.crm import seed
from lead2cash.crm.app import create_app as create_crm_app
from lead2cash.crm.server import CrmServer
from lead2cash.crm.tls import ensure_certificate
from lead2cash.db import transaction
from lead2cash.erp.model.master import Currency, Customer, Salesperson
from lead2cash.integration.dataverse import DataverseSettings, SyncDataverseClient
from lead2cash.integration.mapping.defaults import use_default_setup

SECRET = "manual-ops-integration-secret-7c1a"
PASSWORD = "manual-ops-admin-password-51b0"
TENANT = "00000000-0000-0000-0000-0000000a11a1"
ERP_SECRET_KEY = "manual-ops-erp-secret-key-0123456789abcdef"


@dataclass
class Org:
    server: CrmServer
    cert: str
    admin: SyncDataverseClient

    @property
    def url(self) -> str:
        return self.server.url("https")

    def settings(self, **overrides) -> DataverseSettings:
        base = DataverseSettings(
            url=self.url,
            authority=self.url,
            tenant_id=TENANT,
            client_id=seed.INTEGRATION_CLIENT_ID,
            client_secret=SECRET,
            ca_bundle=self.cert,
            backoff_initial=0.05,
            backoff_max=0.5,
            read_timeout=10.0,
        )
        return dataclasses.replace(base, **overrides)

    def account(self, name: str, **fields) -> uuid.UUID:
        body = {"name": name, "customertypecode": 3, **fields}
        return uuid.UUID(self.admin.create("accounts", body))


@contextmanager
def _start_org(directory: Path) -> Iterator[Org]:
    settings = Settings(data_dir=directory, secret_key=f"crm-signing-{uuid.uuid4().hex}")
    app = create_crm_app(settings, seed_options={"integration_secret": SECRET, "admin_password": PASSWORD})
    cert, key = ensure_certificate(directory / "tls")
    server = CrmServer(app, http_port=0, https_port=0, certfile=cert, keyfile=key).start_in_thread()
    url = server.url("https")
    admin_settings = DataverseSettings(
        url=url, authority=url, tenant_id=TENANT, client_id=seed.INTEGRATION_CLIENT_ID, client_secret=SECRET,
        ca_bundle=str(cert), username=seed.ADMIN_USERNAME, password=PASSWORD,
    )  # fmt: skip
    admin = SyncDataverseClient(admin_settings)
    try:
        yield Org(server, str(cert), admin)
    finally:
        admin.close()
        server.stop_thread()


@pytest.fixture(scope="module")
def org(tmp_path_factory) -> Iterator[Org]:
    with _start_org(tmp_path_factory.mktemp("manual-org")) as started:
        yield started


@pytest.fixture
def fresh_org(tmp_path) -> Iterator[Org]:
    """An org of its own for one test (a module overrides ``org`` with it when counts matter)."""
    with _start_org(tmp_path / "org") as started:
        yield started


@pytest.fixture
def crm(org) -> Iterator[SyncDataverseClient]:
    with SyncDataverseClient(org.settings()) as client:
        yield client


@pytest.fixture
def tag() -> str:
    return uuid.uuid4().hex[:6].upper()


@dataclass
class ErpEnv:
    db: object
    client: TestClient

    @property
    def sessions(self):
        return self.db.sessions


@pytest.fixture
def erp_env(erp_db, erp_users, org, monkeypatch) -> Iterator[ErpEnv]:
    from lead2cash.config import get_settings
    from lead2cash.integration.setup import service
    from lead2cash.server import create_app

    monkeypatch.setenv("L2C_SECRET_KEY", ERP_SECRET_KEY)
    get_settings.cache_clear()
    with transaction(erp_db.sessions) as session:
        use_default_setup(session)
        service.update(
            session,
            {
                "server_address": org.url,
                "tenant_id": TENANT,
                "client_id": seed.INTEGRATION_CLIENT_ID,
                "client_secret": SECRET,
                "ca_bundle": org.cert,
            },
            ERP_SECRET_KEY,
        )
    app = create_app(erp_db.sessions, secret_key=ERP_SECRET_KEY)
    with TestClient(app, headers={"Authorization": f"Bearer {erp_users['administrator']}"}) as client:
        yield ErpEnv(erp_db, client)
    get_settings.cache_clear()


@pytest.fixture
def rows():
    """ERP record makers: ``rows.customer(session, no, name, **fields)``, ``rows.salesperson``, ``rows.currency``."""
    from types import SimpleNamespace

    return SimpleNamespace(customer=add_customer, salesperson=add_salesperson, currency=add_currency)


def add_customer(session, no: str, name: str, **fields) -> Customer:
    customer = Customer(no=no, name=name, **fields)
    session.add(customer)
    session.flush()
    return customer


def add_salesperson(session, code: str, name: str) -> Salesperson:
    person = Salesperson(code=code, name=name, commission_pct=Decimal(0))
    session.add(person)
    session.flush()
    return person


def add_currency(session, code: str, iso: str = "") -> Currency:
    currency = Currency(code=code, description=code, iso_code=iso or code)
    session.add(currency)
    session.flush()
    return currency
