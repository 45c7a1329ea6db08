"""``crm_app`` on SQLite and, when ``L2C_TEST_POSTGRES_URL`` is set, on PostgreSQL too.

A test module that imports this fixture (``from backends import crm_app``) runs every test that uses the
app — and the signed-in clients built on it — once per database, each PostgreSQL run in a fresh schema.
"""

from __future__ import annotations

import pytest
from crm_test_credentials import CRM_CLIENT_SECRET, CRM_PASSWORD

from lead2cash.crm.app import create_app
from lead2cash.crm.store import Store


@pytest.fixture(
    params=[
        pytest.param("sqlite", id="sqlite"),
        pytest.param("postgresql", id="postgresql", marks=pytest.mark.postgres),
    ]
)
def crm_app(request, crm_settings):
    url = crm_settings.crm_db_url() if request.param == "sqlite" else request.getfixturevalue("postgres_schema_url")
    store = Store(url)
    options = {
        "admin_password": CRM_PASSWORD,
        "integration_secret": CRM_CLIENT_SECRET,
        "salesperson_password": CRM_PASSWORD,
    }
    app = create_app(crm_settings, store=store, seed_options=options)
    yield app
    store.engine.dispose()
    store.read_engine.dispose()
