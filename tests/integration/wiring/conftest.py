"""Fixtures for the wiring tests: a real CRM org over HTTPS on loopback, an ERP database connected to it the
way a user connects it (connection, solution deployed with the administrator, default synchronization
setup, enabled), and the embedded job runner on that database.

- ``org``: a fresh seeded org for one test; ``org.admin`` is a blocking Dataverse client signed in as the
  org's administrator (a CRM user typing).
- ``wired``: ``Wired`` with the ERP sessions, the org, the embedded queue (not started: tests drive it with
  ``run_until_idle`` so nothing depends on timing) and helpers.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from sqlalchemy import select

import lead2cash.integration.jobs  # noqa: F401  (registers the integration's job handlers)
from lead2cash.config import Settings
from lead2cash.crm import seed
from lead2cash.crm.app import create_app as create_crm_app
from lead2cash.crm.server import CrmServer
from lead2cash.crm.tls import ensure_certificate
from lead2cash.db import transaction
from lead2cash.integration.dataverse import DataverseSettings, SyncDataverseClient
from lead2cash.jobs.model import JobQueueEntry
from lead2cash.jobs.sqlite_runner import EmbeddedQueue

SECRET = "wiring-integration-secret-5e1b"
PASSWORD = "wiring-admin-password-7a2c"
ERP_SECRET_KEY = "wiring-erp-secret-key-0123456789abcdef"


@dataclass
class Org:
    server: CrmServer
    cert: str
    admin: SyncDataverseClient

    @property
    def url(self) -> str:
        return self.server.url("https")


@pytest.fixture
def org(tmp_path) -> Iterator[Org]:
    directory = tmp_path / "org"
    settings = Settings(data_dir=directory, secret_key=f"crm-signing-{uuid.uuid4().hex}")
    app = create_crm_app(settings, seed_options={"integration_secret": SECRET, "admin_password": PASSWORD})
    cert, key = ensure_certificate(Path(directory) / "tls")
    server = CrmServer(app, http_port=0, https_port=0, certfile=cert, keyfile=key).start_in_thread()
    url = server.url("https")
    admin = SyncDataverseClient(
        DataverseSettings(
            url=url,
            authority=url,
            client_id=seed.INTEGRATION_CLIENT_ID,
            client_secret=SECRET,
            ca_bundle=str(cert),
            username=seed.ADMIN_USERNAME,
            password=PASSWORD,
        )
    )
    try:
        yield Org(server, str(cert), admin)
    finally:
        admin.close()
        server.stop_thread()


@dataclass
class Wired:
    db: object
    org: Org
    queue: EmbeddedQueue

    @property
    def sessions(self):
        return self.db.sessions

    def entry(self, key: str) -> JobQueueEntry:
        with self.sessions() as session:
            entry = session.scalar(select(JobQueueEntry).where(JobQueueEntry.key == key))
            session.expunge(entry)
            return entry

    def hold_all_but(self, *keys: str) -> None:
        """Hold the other mappings' entries so a test runs only what it looks at."""
        from lead2cash.jobs import scheduler

        with transaction(self.sessions) as session:
            for entry in session.scalars(select(JobQueueEntry)):
                if entry.key not in keys:
                    scheduler.hold(session, entry.key)


@pytest.fixture
def connected(erp_db, org, monkeypatch):
    """The ERP database connected to the org (not yet enabled) with the default synchronization setup."""
    from lead2cash.config import get_settings
    from lead2cash.integration import recurring
    from lead2cash.integration.setup import service

    monkeypatch.setenv("L2C_SECRET_KEY", ERP_SECRET_KEY)
    get_settings.cache_clear()
    with transaction(erp_db.sessions) as session:
        service.update(
            session,
            {"server_address": org.url, "client_id": seed.INTEGRATION_CLIENT_ID, "client_secret": SECRET,
             "ca_bundle": org.cert},
            ERP_SECRET_KEY,
        )  # fmt: skip
        recurring.use_default_setup(session)
    service.deploy_solution(erp_db.sessions, ERP_SECRET_KEY, service.AdminCredentials(seed.ADMIN_USERNAME, PASSWORD))
    yield erp_db
    get_settings.cache_clear()


@pytest.fixture
def wired(connected, org) -> Iterator[Wired]:
    from lead2cash.integration.setup import service

    service.set_enabled(connected.sessions, ERP_SECRET_KEY, True)
    queue = EmbeddedQueue(connected.sessions, workers=1, tick_seconds=0.2, poll_seconds=0.2)
    yield Wired(connected, org, queue)
    queue.stop()
