"""The ERP schema is built only by Alembic migrations: empty → head → base → head works on every database,
and the migrated schema matches the models (so nothing depends on ``create_all``)."""

from __future__ import annotations

from decimal import Decimal

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import inspect, select, text

from lead2cash.db import make_engine
from lead2cash.erp.database import alembic_config, open_database, upgrade
from lead2cash.erp.model import Base, GeneralSetup, Item
from lead2cash.erp.services.setup import bootstrap


def downgrade(engine, revision: str) -> None:
    cfg = alembic_config(engine.url.render_as_string(hide_password=False))
    with engine.begin() as connection:
        cfg.attributes["connection"] = connection
        command.downgrade(cfg, revision)


def tables(engine) -> set[str]:
    return set(inspect(engine).get_table_names()) - {"alembic_version"}


def current_revision(engine) -> str | None:
    with engine.connect() as conn:
        return MigrationContext.configure(conn).get_current_revision()


def head(engine) -> str:
    script = ScriptDirectory.from_config(alembic_config(engine.url.render_as_string(hide_password=False)))
    heads = script.get_heads()
    assert len(heads) == 1, f"the ERP migrations must have one head, found {heads}"
    return heads[0]


def test_migrations_go_up_from_empty_down_to_base_and_up_again(erp_url):
    engine = make_engine(erp_url)
    try:
        assert tables(engine) == set()
        upgrade(engine)
        assert current_revision(engine) == head(engine)
        assert tables(engine) == set(Base.metadata.tables)

        downgrade(engine, "base")
        assert current_revision(engine) is None
        assert tables(engine) == set(), "downgrade to base removes every table"

        upgrade(engine)
        assert tables(engine) == set(Base.metadata.tables)
        upgrade(engine)  # already at head: nothing to do
        assert current_revision(engine) == head(engine)
    finally:
        engine.dispose()


def test_each_revision_steps_down_and_up_again(erp_url):
    engine = make_engine(erp_url)
    try:
        upgrade(engine)
        script = ScriptDirectory.from_config(alembic_config(engine.url.render_as_string(hide_password=False)))
        revisions = [r.revision for r in script.walk_revisions()]  # head first
        for revision in revisions:
            downgrade(engine, "-1")
            assert current_revision(engine) == script.get_revision(revision).down_revision
        upgrade(engine)
        assert current_revision(engine) == head(engine)
    finally:
        engine.dispose()


def test_migrated_schema_matches_the_models(erp_url):
    engine = make_engine(erp_url)
    try:
        upgrade(engine)
        with engine.connect() as conn:
            context = MigrationContext.configure(conn, opts={"compare_type": False})
            differences = compare_metadata(context, Base.metadata)
        assert differences == [], "a model changed without a migration"
    finally:
        engine.dispose()


def test_open_database_migrates_and_a_second_open_keeps_the_data(erp_url):
    engine, sessions = open_database(erp_url)
    with sessions() as session, session.begin():
        bootstrap(session)
    engine.dispose()
    engine, sessions = open_database(erp_url)
    try:
        with sessions() as session:
            assert session.scalars(select(GeneralSetup.lcy_code)).one() == "EUR"
    finally:
        engine.dispose()


# --- PostgreSQL-only behaviour -------------------------------------------------------------------------------


@pytest.mark.parametrize("erp_url", [pytest.param("postgresql", marks=pytest.mark.postgres)], indirect=True)
def test_postgresql_tests_run_in_a_schema_of_their_own(erp_db):
    with erp_db.engine.connect() as conn:
        schema = conn.execute(text("SELECT current_schema()")).scalar_one()
        placed = conn.execute(
            text("SELECT table_schema FROM information_schema.tables WHERE table_name = 'customer'")
        ).scalars()
        assert schema.startswith("l2c_") and schema in set(placed)


@pytest.mark.parametrize("erp_url", [pytest.param("postgresql", marks=pytest.mark.postgres)], indirect=True)
def test_postgresql_stores_money_as_numeric_and_times_as_timestamptz(erp_db):
    with erp_db.engine.connect() as conn:
        columns = dict(
            conn.execute(
                text(
                    "SELECT column_name, data_type || coalesce(':' || numeric_scale, '')"
                    " FROM information_schema.columns WHERE table_schema = current_schema() AND table_name = 'item'"
                )
            ).all()
        )
    assert columns["unit_price"] == "numeric:5"
    assert columns["modified_at"] == "timestamp with time zone"


# --- SQLite-only behaviour -----------------------------------------------------------------------------------


@pytest.mark.parametrize("erp_url", ["sqlite"], indirect=True)
def test_sqlite_runs_in_wal_mode_with_foreign_keys(erp_db):
    with erp_db.engine.connect() as conn:
        assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
        assert conn.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
    with erp_db.sessions() as session, session.begin():
        session.add(Item(no="1", unit_price=Decimal("1000.5")))
    with erp_db.engine.connect() as conn:
        raw = conn.exec_driver_sql("SELECT unit_price, typeof(unit_price) FROM item").one()
    assert tuple(raw) == (100050000, "integer"), "money is a scaled integer on SQLite: exact and summable"
