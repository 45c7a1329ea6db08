"""The ERP database: migrations up to head, the session factory with versioning, and bootstrap rows.

The schema is only ever created by Alembic migrations (``upgrade``); tests and the server use the same path.
"""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from lead2cash.db import make_engine, session_factory
from lead2cash.erp import versioning

MIGRATIONS = Path(__file__).parent / "migrations"


def alembic_config(url: str) -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    cfg.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return cfg


def upgrade(engine: Engine, revision: str = "head") -> None:
    """Bring the schema to ``revision`` inside one transaction on the given engine."""
    cfg = alembic_config(engine.url.render_as_string(hide_password=False))
    with engine.begin() as connection:
        cfg.attributes["connection"] = connection
        command.upgrade(cfg, revision)


def erp_sessions(engine: Engine) -> sessionmaker[Session]:
    return versioning.install(session_factory(engine))


def open_database(url: str, *, migrate: bool = True) -> tuple[Engine, sessionmaker[Session]]:
    engine = make_engine(url)
    if migrate:
        upgrade(engine)
    return engine, erp_sessions(engine)
