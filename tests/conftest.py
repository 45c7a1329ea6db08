"""Shared fixtures: ERP databases on SQLite and (when configured) PostgreSQL, users of every role, API clients.

Every database test runs on SQLite (a file in the test's tmp_path). When ``L2C_TEST_POSTGRES_URL`` is set
(CI sets it), the same tests run a second time on PostgreSQL, each in a fresh schema of its own
(``l2c_<random>``, reached through the connection's ``search_path``) that is dropped afterwards, so parallel
runs and other test modules never see each other's rows. Schemas are always built by the Alembic
migrations, exactly as the server builds them.

Fixture names for reuse:

- ``erp_url``: URL of an empty database (nothing migrated); parametrized sqlite / postgresql. A module
  that needs one engine only overrides it: ``pytest.mark.parametrize("erp_url", ["sqlite"], indirect=True)``.
- ``erp_db``: an ``ErpDb`` (url, engine, sessions, dialect) migrated to head and bootstrapped (LCY EUR,
  default number series, setup records).
- ``erp_module_db``: the same, shared by all tests of one module (long generated runs, read-mostly tests).
- ``erp_users`` / ``erp_module_users``: ``{role: web service key}`` for one enabled user per role plus
  ``"disabled"`` (an administrator that is not enabled).
- ``erp_client``: a ``TestClient`` on the ERP API that sends the administrator's key by default;
  ``erp_client_as(role)`` gives a client for another role (``"order_processor"``, ``"integration"``,
  ``"disabled"``).
"""

from __future__ import annotations

import os
import uuid
import warnings
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest
from sqlalchemy import Engine, create_engine, text
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session, sessionmaker

with warnings.catch_warnings():
    # the test client announces a future switch of its HTTP library; nothing to act on in these tests
    warnings.filterwarnings("ignore", message="Using `httpx` with `starlette.testclient`")
    from starlette.testclient import TestClient

POSTGRES_ENV = "L2C_TEST_POSTGRES_URL"
ROLES = ("administrator", "order_processor", "integration")


def postgres_url() -> str | None:
    """The PostgreSQL server the tests may use, or None (then PostgreSQL variants are skipped)."""
    url = os.environ.get(POSTGRES_ENV, "").strip()
    return url or None


def _psycopg(url: str) -> str:
    parsed = make_url(url)
    if parsed.drivername in ("postgresql", "postgres"):
        parsed = parsed.set(drivername="postgresql+psycopg")
    return parsed.render_as_string(hide_password=False)


@pytest.fixture(scope="session")
def postgres_admin() -> Iterator[Engine]:
    """A small engine on the test server's default schema, used only to create and drop test schemas."""
    url = postgres_url()
    if url is None:
        pytest.skip(f"PostgreSQL tests need {POSTGRES_ENV}")
    engine = create_engine(_psycopg(url), pool_size=1, max_overflow=2)
    yield engine
    engine.dispose()


def schema_url(base_url: str, schema: str) -> str:
    """``base_url`` with every connection's search_path set to ``schema`` (libpq ``options``).

    The URL also works in a child process (the concurrency tests hand it to separate writer processes)."""
    parsed = make_url(_psycopg(base_url))
    query = dict(parsed.query)
    # Commits need not wait for the disk flush: only a crash of the test server itself could lose them.
    query["options"] = f"-csearch_path={schema} -csynchronous_commit=off"
    return parsed.set(query=query).render_as_string(hide_password=False)


@contextmanager
def _postgres_schema(admin: Engine) -> Iterator[str]:
    schema = f"l2c_{uuid.uuid4().hex[:16]}"
    with admin.begin() as conn:
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    try:
        yield schema_url(postgres_url(), schema)
    finally:
        with admin.begin() as conn:
            conn.execute(text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))


@pytest.fixture
def postgres_schema_url(request) -> Iterator[str]:
    """URL of a fresh, empty PostgreSQL schema, dropped (with everything in it) after the test."""
    with _postgres_schema(request.getfixturevalue("postgres_admin")) as url:
        yield url


DATABASES = [
    pytest.param("sqlite", id="sqlite"),
    pytest.param("postgresql", id="postgresql", marks=pytest.mark.postgres),
]


@contextmanager
def _empty_database(request, kind: str, directory: Path) -> Iterator[str]:
    if kind == "sqlite":
        yield f"sqlite:///{directory / 'erp.db'}"
    else:
        with _postgres_schema(request.getfixturevalue("postgres_admin")) as url:
            yield url


@pytest.fixture(params=DATABASES)
def erp_url(request, tmp_path) -> Iterator[str]:
    """URL of an empty ERP database: a SQLite file, or a fresh PostgreSQL schema when configured."""
    with _empty_database(request, request.param, tmp_path) as url:
        yield url


@dataclass
class ErpDb:
    url: str
    engine: Engine
    sessions: sessionmaker[Session]

    @property
    def dialect(self) -> str:
        return self.engine.dialect.name

    @property
    def is_postgres(self) -> bool:
        return self.dialect == "postgresql"


@contextmanager
def _erp_database(url: str) -> Iterator[ErpDb]:
    from lead2cash.erp.database import open_database
    from lead2cash.erp.services.setup import bootstrap

    engine, sessions = open_database(url)
    with sessions() as session, session.begin():
        bootstrap(session)
    try:
        yield ErpDb(url, engine, sessions)
    finally:
        engine.dispose()


@pytest.fixture
def erp_db(erp_url) -> Iterator[ErpDb]:
    """A migrated, bootstrapped ERP database (local currency EUR, default number series)."""
    with _erp_database(erp_url) as db:
        yield db


@pytest.fixture(scope="module", params=DATABASES)
def erp_module_db(request, tmp_path_factory) -> Iterator[ErpDb]:
    """Like ``erp_db`` but shared by all tests of a module (for read-mostly or long generated test runs)."""
    with (
        _empty_database(request, request.param, tmp_path_factory.mktemp("erp")) as url,
        _erp_database(url) as db,
    ):
        yield db


def make_users(db: ErpDb) -> dict[str, str]:
    """One enabled user per role and one disabled administrator: ``{role or "disabled": key}``."""
    from lead2cash.erp.model import ErpUser
    from lead2cash.erp.model.enums import Role
    from lead2cash.erp.services.users import change_web_service_key

    keys: dict[str, str] = {}
    with db.sessions() as session, session.begin():
        for role in ROLES:
            user = ErpUser(user_name=role.upper(), full_name=role.replace("_", " ").title(), role=Role(role))
            session.add(user)
            keys[role] = change_web_service_key(user)
        disabled = ErpUser(user_name="DISABLED", role=Role.ADMINISTRATOR, enabled=False)
        session.add(disabled)
        keys["disabled"] = change_web_service_key(disabled)
    return keys


@pytest.fixture
def erp_users(erp_db) -> dict[str, str]:
    """One enabled user per role and one disabled administrator: ``{role or "disabled": key}``."""
    return make_users(erp_db)


@pytest.fixture(scope="module")
def erp_module_users(erp_module_db) -> dict[str, str]:
    """``erp_users`` for ``erp_module_db``."""
    return make_users(erp_module_db)


def bearer(key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"}


@pytest.fixture
def erp_app(erp_db):
    from lead2cash.erp.api.app import create_app

    return create_app(erp_db.sessions)


@pytest.fixture
def erp_client_as(erp_app, erp_users) -> Iterator[Callable[[str], TestClient]]:
    """Factory: a TestClient on the ERP API authenticated as the user of ``role``."""
    clients: list[TestClient] = []

    def make(role: str) -> TestClient:
        client = TestClient(erp_app, headers=bearer(erp_users[role]), raise_server_exceptions=True)
        client.__enter__()
        clients.append(client)
        return client

    yield make
    for client in clients:
        client.__exit__(None, None, None)


@pytest.fixture
def erp_client(erp_client_as) -> TestClient:
    """A TestClient on the ERP API sending the administrator's web service key."""
    return erp_client_as("administrator")


@pytest.fixture
def erp_anonymous(erp_app, erp_users) -> Iterator[TestClient]:
    """A TestClient on the ERP API with no credentials (the users exist)."""
    with TestClient(erp_app) as client:
        yield client
