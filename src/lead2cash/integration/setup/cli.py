"""``lead2cash setup …``: the connection setup from the command line (the same rules as the REST API).

``connect`` saves where the CRM org is and how to sign in, then tests the connection (which finds the
integration user); ``test`` repeats the checks; ``deploy`` deploys the integration solution with an
administrator account that is asked for (password hidden) and never stored; ``options`` sets the sales
order, quote and item availability options; ``enable`` / ``disable``; ``show`` prints the setup with the
secret masked. Secrets can come from the environment instead of the command line, where they would be
visible to other users of the machine: ``L2C_SETUP_CLIENT_SECRET``, ``L2C_SETUP_ADMIN_PASSWORD``.
"""

from __future__ import annotations

import json
from typing import Any

import typer
from rich.console import Console
from rich.table import Table

from lead2cash.config import get_settings
from lead2cash.erp.errors import ErpError

app = typer.Typer(no_args_is_help=True, help="Connection to the CRM: connect, test, deploy the solution, enable.")
console = Console()
DB = typer.Option(None, "--database-url", help="ERP database; default: L2C_DATABASE_URL or SQLite in data_dir.")
STATUS_STYLE = {"ok": "green", "failed": "red", "skipped": "dim", "warning": "yellow"}


def _sessions(database_url: str | None):
    from lead2cash.erp.database import open_database

    _, sessions = open_database(database_url or get_settings().erp_database_url())
    return sessions


def _fail(exc: ErpError) -> typer.Exit:
    console.print(f"[red]{exc}[/red]")
    return typer.Exit(1)


def _print_setup(view: dict[str, Any]) -> None:
    table = Table(show_header=False, box=None)
    for name, value in view.items():
        if isinstance(value, dict):
            value = ", ".join(f"{k}={v}" for k, v in value.items() if k != "checks")
        table.add_row(f"[bold]{name}[/bold]", "" if value is None else str(value))
    console.print(table)


def _print_checks(report) -> None:
    for check in report.checks:
        style = STATUS_STYLE.get(check.status, "")
        console.print(f"[{style}]{check.status:>7}[/{style}]  {check.name:<17} {check.message}")


def _show(sessions, as_json: bool) -> None:
    from lead2cash.db import transaction
    from lead2cash.integration.setup import service

    with transaction(sessions) as session:
        view = service.view(service.get_setup(session))
    if as_json:
        print(json.dumps(view, indent=2))
    else:
        _print_setup(view)


@app.command()
def show(as_json: bool = typer.Option(False, "--json"), database_url: str = DB):
    """Print the connection setup (the client secret is never shown)."""
    _show(_sessions(database_url), as_json)


def _update(sessions, changes: dict[str, Any]) -> None:
    from lead2cash.db import transaction
    from lead2cash.integration.setup import service

    try:
        with transaction(sessions) as session:
            service.update(session, changes, get_settings().resolved_secret_key())
    except ErpError as exc:
        raise _fail(exc) from None


def _test(sessions):
    from lead2cash.integration.setup import service

    try:
        report = service.test_connection(sessions, get_settings().resolved_secret_key())
    except ErpError as exc:
        raise _fail(exc) from None
    _print_checks(report)
    return report


@app.command()
def connect(
    server: str = typer.Option(..., help="CRM org URL, e.g. https://127.0.0.1:8443 or https://org.crm.dynamics.com"),
    client_id: str = typer.Option(..., help="Client (application) id of the integration user."),
    client_secret: str = typer.Option(
        None, envvar="L2C_SETUP_CLIENT_SECRET", help="Asked for (hidden) when not given or in the environment."
    ),
    tenant: str = typer.Option("", help="Tenant id or domain (Entra ID); any value for the local server."),
    authority: str = typer.Option("", help="Sign-in authority; default: Entra ID online, else the server."),
    ca_bundle: str = typer.Option("", help="PEM file to trust, e.g. the local server's data/tls/crm-cert.pem."),
    database_url: str = DB,
):
    """Save the connection and test it (this also finds the integration user)."""
    if not client_secret:
        client_secret = typer.prompt("Client secret", hide_input=True)
    sessions = _sessions(database_url)
    changes = {"server_address": server, "client_id": client_id, "client_secret": client_secret}
    _update(sessions, {**changes, "tenant_id": tenant, "authority": authority, "ca_bundle": ca_bundle})
    report = _test(sessions)
    if report.integration_user_id is None:
        raise typer.Exit(1)
    console.print(f"Connected as {report.integration_user_name} ({report.integration_user_id}).")
    if not report.ok:
        console.print("Next: [bold]lead2cash setup deploy --admin-user <administrator>[/bold]")


@app.command()
def test(database_url: str = DB):
    """Test the connection: each check with what to fix (exit code 1 when any fails)."""
    if not _test(_sessions(database_url)).ok:
        raise typer.Exit(1)


@app.command()
def deploy(
    admin_user: str = typer.Option("", help="Administrator user name (System Administrator + Solution Customizer)."),
    admin_password: str = typer.Option("", envvar="L2C_SETUP_ADMIN_PASSWORD", help="Asked for when not given."),
    admin_client_id: str = typer.Option("", help="Instead of a user: an administrator application's client id."),
    admin_client_secret: str = typer.Option("", envvar="L2C_SETUP_ADMIN_CLIENT_SECRET"),
    database_url: str = DB,
):
    """Deploy (or redeploy) the integration solution; the administrator account is used once, not stored."""
    from lead2cash.integration.setup import service

    if admin_user and not admin_password:
        admin_password = typer.prompt(f"Password of {admin_user}", hide_input=True)
    if admin_client_id and not admin_client_secret:
        admin_client_secret = typer.prompt("Administrator client secret", hide_input=True)
    credentials = service.AdminCredentials(admin_user, admin_password, admin_client_id, admin_client_secret)
    try:
        report = service.deploy_solution(_sessions(database_url), get_settings().resolved_secret_key(), credentials)
    except ErpError as exc:
        raise _fail(exc) from None
    for item in report.created:
        console.print(f"[green]created[/green]  {item}")
    console.print(
        f"Solution {report.version} deployed by {report.administrator}: {len(report.created)} created, "
        f"{len(report.present)} already present."
    )


@app.command()
def options(
    auto_create_sales_orders: bool = typer.Option(None, "--auto-create-sales-orders/--no-auto-create-sales-orders"),
    auto_process_quotes: bool = typer.Option(None, "--auto-process-quotes/--no-auto-process-quotes"),
    bidirectional_sales_orders: bool = typer.Option(
        None, "--bidirectional-sales-orders/--no-bidirectional-sales-orders"
    ),
    sales_order_user: str = typer.Option(None, help="ERP user who handles sales order integration."),
    item_availability: bool = typer.Option(None, "--item-availability/--no-item-availability"),
    odata_web_service_user: str = typer.Option(None, help="ERP user (with a web service key) serving availability."),
    database_url: str = DB,
):
    """Set the sales order, quote and item availability options."""
    given = {
        "auto_create_sales_orders": auto_create_sales_orders,
        "auto_process_quotes": auto_process_quotes,
        "bidirectional_sales_orders": bidirectional_sales_orders,
        "sales_order_user": sales_order_user,
        "item_availability_enabled": item_availability,
        "odata_web_service_user": odata_web_service_user,
    }
    sessions = _sessions(database_url)
    _update(sessions, {k: v for k, v in given.items() if v is not None})
    _show(sessions, as_json=False)


@app.command()
def enable(database_url: str = DB):
    """Enable the connection (the connection test must pass)."""
    _set_enabled(database_url, True, "")


@app.command()
def disable(reason: str = typer.Option("", help="Shown on the setup page."), database_url: str = DB):
    """Disable the connection."""
    _set_enabled(database_url, False, reason or "Disabled from the command line.")


def _set_enabled(database_url: str | None, enabled: bool, reason: str) -> None:
    from lead2cash.integration.setup import service

    try:
        service.set_enabled(_sessions(database_url), get_settings().resolved_secret_key(), enabled, reason)
    except ErpError as exc:
        raise _fail(exc) from None
    console.print("The connection is enabled." if enabled else "The connection is disabled.")


@app.command("use-defaults")
def use_defaults(
    mapping: list[str] = typer.Argument(None, help="Only these mappings (default: every standard mapping)."),
    database_url: str = DB,
):
    """Use default synchronization setup: recreate the standard mappings and their recurring job queue entries."""
    from lead2cash.db import transaction
    from lead2cash.integration.recurring import use_default_setup

    with transaction(_sessions(database_url)) as session:
        created = use_default_setup(session, [m.upper() for m in mapping] if mapping else None)
        names = [m.name for m in created]
        recurring = [m.name for m in created if m.job_interval_minutes is not None]
    console.print(f"{len(names)} mappings: {', '.join(names)}")
    console.print(f"{len(recurring)} recurring job queue entries (see 'lead2cash jobs list')")
