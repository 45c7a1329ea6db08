"""Alembic environment for the ERP database (run through ``lead2cash.erp.database.upgrade``)."""

from __future__ import annotations

import importlib

from alembic import context

from lead2cash.db import make_engine
from lead2cash.erp.model import Base

# The integration keeps its tables in the ERP database. They are registered by module name so that the ERP
# package itself never imports the integration.
importlib.import_module("lead2cash.integration.schema")
# The job queue keeps its tables there too (``lead2cash.jobs.model``), registered the same way.
importlib.import_module("lead2cash.jobs.model")

config = context.config
target_metadata = Base.metadata


def run_migrations_online() -> None:
    connectable = config.attributes.get("connection")
    if connectable is not None:
        _run(connectable)
        return
    engine = make_engine(config.get_main_option("sqlalchemy.url"))
    with engine.connect() as connection:
        _run(connection)
    engine.dispose()


def _run(connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()


run_migrations_online()
