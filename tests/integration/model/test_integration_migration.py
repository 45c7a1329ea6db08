"""Migration 0003: creates exactly what the models describe, and goes down and up again with data present."""

from __future__ import annotations

import uuid

import sqlalchemy as sa
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext

from lead2cash.db import make_engine
from lead2cash.erp.database import alembic_config, upgrade
from lead2cash.erp.model import Base, Contact, Currency, Customer
from lead2cash.integration import schema  # noqa: F401  (registers the integration tables)
from lead2cash.integration.coupling_model import Coupling
from lead2cash.integration.mapping.defaults import use_default_setup

TABLES = {
    "table_mapping",
    "field_mapping",
    "option_mapping",
    "transformation_rule",
    "coupling",
    "option_coupling",
    "sync_job",
    "sync_error",
    "full_sync_line",
}


def _downgrade(engine, revision: str) -> None:
    cfg = alembic_config(engine.url.render_as_string(hide_password=False))
    with engine.begin() as connection:
        cfg.attributes["connection"] = connection
        command.downgrade(cfg, revision)


def test_schema_matches_the_models(erp_url):
    engine = make_engine(erp_url)
    try:
        upgrade(engine)
        with engine.connect() as conn:
            diff = compare_metadata(MigrationContext.configure(conn, opts={"compare_type": True}), Base.metadata)
        # this migration's tables and the contact's new column (other parts of the schema have their own tests)
        mine = [d for d in diff if any(f"'{name}'" in repr(d) for name in (*TABLES, "contact"))]
        assert mine == []
    finally:
        engine.dispose()


def test_down_and_up_again_with_data(erp_db):
    with erp_db.sessions() as session, session.begin():
        use_default_setup(session)
        session.add(Currency(code="USD", iso_code="USD"))
        session.flush()
        session.add(Contact(no="K1", name="Acme", currency_code="USD"))
        session.flush()
        session.add(Customer(no="C1", name="Acme", primary_contact_no="K1"))  # a row referring to a contact
        session.add(Coupling(erp_table="customer", erp_id=uuid.uuid4(), crm_entity="account", crm_id=uuid.uuid4()))

    _downgrade(erp_db.engine, "0002")
    inspector = sa.inspect(erp_db.engine)
    assert TABLES.isdisjoint(inspector.get_table_names())
    # SQLite cannot drop a referencing column without rebuilding a referenced table: the column stays there
    kept = "currency_code" in {c["name"] for c in inspector.get_columns("contact")}
    assert kept == (not erp_db.is_postgres)
    with erp_db.engine.connect() as conn:  # ERP data survived the round trip
        assert conn.execute(sa.text("SELECT name FROM contact WHERE no = 'K1'")).scalar_one() == "Acme"

    upgrade(erp_db.engine)
    inspector = sa.inspect(erp_db.engine)
    assert set(inspector.get_table_names()) >= TABLES
    with erp_db.sessions() as session:
        expected = "USD" if not erp_db.is_postgres else None
        assert session.scalars(sa.select(Contact.currency_code).where(Contact.no == "K1")).one() == expected
        assert session.scalar(sa.select(sa.func.count()).select_from(Coupling)) == 0
