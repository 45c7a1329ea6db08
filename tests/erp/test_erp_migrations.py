"""The ERP schema is built only by Alembic migrations: empty → head → base → head works on every database,
and the migrated schema matches the models (so nothing depends on ``create_all``)."""

from __future__ import annotations

from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import inspect, select

from lead2cash.db import make_engine
from lead2cash.erp.database import alembic_config, open_database, upgrade
from lead2cash.erp.model import Base, GeneralSetup
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
