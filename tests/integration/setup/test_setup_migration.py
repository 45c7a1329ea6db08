"""Migration 0005: the connection setup table is what the model describes, and goes down and up again."""

from __future__ import annotations

import sqlalchemy as sa
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext

from lead2cash.db import make_engine
from lead2cash.erp.database import alembic_config, upgrade
from lead2cash.erp.model import Base
from lead2cash.integration import schema  # noqa: F401  (registers the integration tables)
from lead2cash.integration.setup.model import ConnectionSetup


def _downgrade(engine, revision: str) -> None:
    cfg = alembic_config(engine.url.render_as_string(hide_password=False))
    with engine.begin() as connection:
        cfg.attributes["connection"] = connection
        command.downgrade(cfg, revision)


def test_schema_matches_the_model(erp_url):
    engine = make_engine(erp_url)
    try:
        upgrade(engine)
        with engine.connect() as conn:
            diff = compare_metadata(MigrationContext.configure(conn, opts={"compare_type": True}), Base.metadata)
        assert [d for d in diff if "connection_setup" in repr(d)] == []
    finally:
        engine.dispose()


def test_down_to_0004_and_up_again(erp_db):
    with erp_db.sessions() as session, session.begin():
        session.add(ConnectionSetup(server_address="https://org.example.com", client_id="c"))
    with erp_db.engine.connect() as conn:
        second = sa.text("INSERT INTO connection_setup (id) VALUES (2)")
        try:
            with conn.begin():
                conn.execute(second)
            raise AssertionError("a second setup row was accepted")
        except sa.exc.IntegrityError:
            pass

    _downgrade(erp_db.engine, "0004")
    tables = set(sa.inspect(erp_db.engine).get_table_names())
    assert "connection_setup" not in tables
    assert "job_queue_entry" in tables  # the previous revision's tables stay

    upgrade(erp_db.engine)
    assert "connection_setup" in set(sa.inspect(erp_db.engine).get_table_names())
    with erp_db.sessions() as session:
        assert session.scalar(sa.select(sa.func.count()).select_from(ConnectionSetup)) == 0
