"""``lead2cash crm …``: run the local Dynamics 365 Sales server.

``serve`` creates (and seeds) the org database on first start, generates the self-signed certificate,
prints where both are, and serves the Web API on HTTP and HTTPS until interrupted. Secrets generated for
a new org are written to a 0600 file in the data directory, never printed.
"""

from __future__ import annotations

import json
import os
from dataclasses import asdict

import typer

from lead2cash.config import get_settings

app = typer.Typer(no_args_is_help=True, help="The local Dynamics 365 Sales (Dataverse Web API) server.")
CREDENTIALS_FILE = "crm-credentials.json"


@app.command()
def serve(
    host: str = typer.Option(None, help="Interface to listen on (default: settings crm_host)."),
    port: int = typer.Option(None, help="Plain HTTP port (default: settings crm_port)."),
    https_port: int = typer.Option(None, help="HTTPS port (default: settings crm_https_port)."),
    https: bool = typer.Option(True, help="Also serve HTTPS with the self-signed certificate."),
    log_level: str = typer.Option("info"),
) -> None:
    """Serve /api/data/v9.2/ on HTTP and HTTPS."""
    from lead2cash.crm.app import create_app
    from lead2cash.crm.server import CrmServer
    from lead2cash.crm.tls import ensure_certificate

    settings = get_settings()
    host = host or settings.crm_host
    application = create_app(settings)
    creds = application.state.l2c_seed_credentials
    data_dir = settings.data_dir.resolve()
    if creds.created:
        path = data_dir / CREDENTIALS_FILE
        path.write_text(json.dumps(asdict(creds), indent=2))
        os.chmod(path, 0o600)
        typer.echo(f"New org seeded; its credentials are in {path}")
    cert, key = ensure_certificate(data_dir / "tls") if https else (None, None)
    server = CrmServer(
        application,
        host=host,
        http_port=port if port is not None else settings.crm_port,
        https_port=(https_port if https_port is not None else settings.crm_https_port) if https else None,
        certfile=cert,
        keyfile=key,
        log_level=log_level,
    )
    server.prepare()
    typer.echo(f"CRM Web API: {server.url('http')}/api/data/v9.2/")
    if https:
        typer.echo(f"CRM Web API: {server.url('https')}/api/data/v9.2/")
        typer.echo(f"TLS certificate: {cert}  (trust it, e.g. REQUESTS_CA_BUNDLE={cert})")
    typer.echo(f"Database: {settings.crm_db_url()}")
    server.run()
