"""Fixtures for the Dataverse client tests: the real local CRM server over HTTPS on loopback.

One org is served for the whole session (``CrmServer`` in a background thread, the same server the CLI
runs, with its self-signed certificate); tests keep apart by using their own names and ids. The client
under test knows only a URL, client credentials and the certificate to trust — as it would for a real
org. Fault switches and the service-protection limiter are reached through the app's state; the
``crm_faults`` fixture switches everything off again after each test.

Fixture names for reuse:

- ``crm_server``: the running server (``url("https")``, ``app``); ``crm_cert``: its certificate path.
- ``dv_settings``: ``DataverseSettings`` for the integration application user (quick back-off).
- ``dv``: an open ``DataverseClient`` (async tests: ``pytestmark = pytest.mark.anyio``); ``dv_admin``: one
  signed in as the administrator (password grant), for metadata writes.
- ``crm_faults``: ``faults(**FaultConfig fields)`` / ``limits(**LimitConfig fields)`` switches.
"""

from __future__ import annotations

import dataclasses
from collections.abc import AsyncIterator, Iterator
from types import SimpleNamespace

import pytest

from lead2cash.config import Settings
from lead2cash.crm import seed
from lead2cash.crm.app import create_app
from lead2cash.crm.faults import FaultConfig
from lead2cash.crm.limits import LimitConfig
from lead2cash.crm.server import CrmServer
from lead2cash.crm.tls import ensure_certificate
from lead2cash.integration.dataverse import DataverseClient, DataverseSettings

SECRET = "dataverse-client-test-secret"
ADMIN_PASSWORD = "dataverse-client-admin-password"
TENANT = "00000000-0000-0000-0000-0000000d7a7e"


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture(scope="session")
def crm_server(tmp_path_factory) -> Iterator[CrmServer]:
    data_dir = tmp_path_factory.mktemp("dataverse-client-org")
    settings = Settings(data_dir=data_dir, secret_key="dataverse-client-signing-secret-0123456789")
    app = create_app(settings, seed_options={"integration_secret": SECRET, "admin_password": ADMIN_PASSWORD})
    cert, key = ensure_certificate(data_dir / "tls")
    server = CrmServer(app, http_port=0, https_port=0, certfile=cert, keyfile=key).start_in_thread()
    server.cert = cert  # type: ignore[attr-defined]
    yield server
    server.stop_thread()


@pytest.fixture(scope="session")
def crm_cert(crm_server) -> str:
    return str(crm_server.cert)


@pytest.fixture
def dv_settings(crm_server, crm_cert) -> DataverseSettings:
    url = crm_server.url("https")
    return DataverseSettings(
        url=url,
        client_id=seed.INTEGRATION_CLIENT_ID,
        client_secret=SECRET,
        tenant_id=TENANT,
        authority=url,
        ca_bundle=crm_cert,
        backoff_initial=0.05,
        backoff_max=0.5,
        read_timeout=10.0,
    )


@pytest.fixture
async def dv(dv_settings) -> AsyncIterator[DataverseClient]:
    async with DataverseClient(dv_settings) as client:
        yield client


@pytest.fixture
async def dv_admin(dv_settings) -> AsyncIterator[DataverseClient]:
    """A client signed in as the org's administrator (metadata writes need a customizer)."""
    settings = dataclasses.replace(dv_settings, username=seed.ADMIN_USERNAME, password=ADMIN_PASSWORD)
    async with DataverseClient(settings) as client:
        yield client


@pytest.fixture
def crm_faults(crm_server) -> Iterator[SimpleNamespace]:
    state = crm_server.app.state

    def faults(**fields) -> None:
        state.l2c_faults.configure(FaultConfig(**fields))

    def limits(**fields) -> None:
        state.l2c_protection.configure(dataclasses.replace(LimitConfig(enabled=True), **fields))

    yield SimpleNamespace(faults=faults, limits=limits, switches=state.l2c_faults)
    state.l2c_faults.configure(FaultConfig())
    state.l2c_protection.configure(LimitConfig())
