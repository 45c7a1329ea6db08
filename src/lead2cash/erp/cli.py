"""``lead2cash erp …`` commands (migrate, serve, create-user) and the top-level ``demo-data`` command.

``ensure_admin`` gives the demo's ADMIN user a fresh key; the demo itself (``lead2cash run``) lives in
``lead2cash.demo`` because it starts all three components.
"""

from __future__ import annotations

import json

import typer
from rich.console import Console
from sqlalchemy import select

from lead2cash.config import get_settings

app = typer.Typer(no_args_is_help=True)
console = Console()
# "module:function" building the web app from a session factory. The top-level CLI names one that adds the
# integration's routers; this package never imports the integration itself.
APP_FACTORY = "lead2cash.erp.api.app:create_app"


def _web_app(sessions):
    import importlib

    module, _, name = APP_FACTORY.partition(":")
    return getattr(importlib.import_module(module), name)(sessions)


def _open(database_url: str | None):
    from lead2cash.erp.database import open_database

    return open_database(database_url or get_settings().erp_database_url())


@app.command()
def migrate(database_url: str = typer.Option(None, help="Default: L2C_DATABASE_URL or SQLite in data_dir.")):
    """Create or upgrade the ERP database schema to the latest version."""
    engine, _ = _open(database_url)
    console.print(f"ERP database at {engine.url.render_as_string(hide_password=True)} is up to date.")


def ensure_admin(sessions, user_name: str = "ADMIN") -> str:
    """Bootstrap the database and give ``user_name`` (an administrator) a new web service key."""
    from lead2cash.erp.model import ErpUser
    from lead2cash.erp.model.enums import Role
    from lead2cash.erp.services.setup import bootstrap
    from lead2cash.erp.services.users import change_web_service_key

    with sessions() as session, session.begin():
        bootstrap(session)
        user = session.scalars(select(ErpUser).where(ErpUser.user_name == user_name)).first()
        if user is None:
            user = ErpUser(user_name=user_name, full_name="Administrator", role=Role.ADMINISTRATOR)
            session.add(user)
        return change_web_service_key(user)


@app.command("create-user")
def create_user(
    user_name: str,
    role: str = typer.Option("order_processor", help="administrator | order_processor | integration"),
    full_name: str = "",
    database_url: str = typer.Option(None),
):
    """Create a user (or give an existing one a new key) and print its web service access key once."""
    from lead2cash.erp.errors import ErpError
    from lead2cash.erp.model import ErpUser
    from lead2cash.erp.model.enums import Role
    from lead2cash.erp.services.setup import bootstrap
    from lead2cash.erp.services.users import change_web_service_key

    try:
        role_value = Role(role)
    except ValueError:
        raise typer.BadParameter(f"unknown role '{role}'; use one of {', '.join(r.value for r in Role)}") from None
    _, sessions = _open(database_url)
    try:
        with sessions() as session, session.begin():
            bootstrap(session)
            name = user_name.upper()
            user = session.scalars(select(ErpUser).where(ErpUser.user_name == name)).first()
            if user is None:
                user = ErpUser(user_name=name, full_name=full_name, role=role_value)
                session.add(user)
            key = change_web_service_key(user)
    except ErpError as exc:
        console.print(f"[red]{exc}[/red]")
        raise typer.Exit(1) from None
    console.print(f"User {name} ({role_value.value}); web service access key (shown once):")
    print(key)


@app.command()
def serve(host: str = typer.Option(None), port: int = typer.Option(None), database_url: str = typer.Option(None)):
    """Serve the ERP REST API (OpenAPI at /docs)."""
    import uvicorn

    settings = get_settings()
    _, sessions = _open(database_url)
    uvicorn.run(_web_app(sessions), host=host or settings.erp_host, port=port or settings.erp_port, log_level="info")


def demo_data(
    customers: int = typer.Option(50, min=0),
    persons_per_customer: int = typer.Option(2, min=0),
    items: int = typer.Option(40, min=0),
    resources: int = typer.Option(8, min=0),
    salespeople: int = typer.Option(6, min=1),
    opportunities: int = typer.Option(20, min=0),
    seed: int = 42,
    database_url: str = typer.Option(None),
):
    """Generate deterministic demo master data into an empty ERP database."""
    from lead2cash.erp.demo import DemoSize, generate

    _, sessions = _open(database_url)
    size = DemoSize(customers, persons_per_customer, items, resources, salespeople, opportunities)
    try:
        with sessions() as session, session.begin():
            counts = generate(session, size, seed=seed)
    except ValueError as exc:
        console.print(f"[red]{exc}[/red]")
        raise typer.Exit(1) from None
    print(json.dumps(counts))


def register_top_level(root: typer.Typer, app_factory: str | None = None) -> None:
    """Add ``demo-data`` to the root CLI; ``app_factory`` ("module:function") builds the web app ``serve`` serves."""
    global APP_FACTORY
    if app_factory:
        APP_FACTORY = app_factory
    root.command("demo-data")(demo_data)
