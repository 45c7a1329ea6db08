"""``lead2cash sync …``: run the synchronization of one mapping or of all of them from the command line.

The CRM connection comes from the connection setup in the ERP database (``lead2cash setup …``), the same
one the background jobs use; each pass prints its job counters, and failed records with their messages.
"""

from __future__ import annotations

import typer
from rich.console import Console
from rich.table import Table

app = typer.Typer(no_args_is_help=True, help="Synchronize ERP records with the CRM.")
console = Console()


def _client():
    from lead2cash.config import get_settings
    from lead2cash.erp.database import open_database
    from lead2cash.integration.dataverse import SyncDataverseClient
    from lead2cash.integration.setup.service import dataverse_settings, get_setup

    settings = get_settings()
    _engine, sessions = open_database(settings.erp_database_url())
    with sessions() as session:
        dv = dataverse_settings(get_setup(session), settings.resolved_secret_key())
    return sessions, SyncDataverseClient(dv)


@app.command("run")
def run(
    mapping: str = typer.Argument(None, help="Mapping name, e.g. CUSTOMER (quote names with spaces)."),
    all_: bool = typer.Option(False, "--all", help="Run every mapping in dependency order."),
    full: bool = typer.Option(False, "--full", help="Ignore watermarks and create uncoupled records."),
) -> None:
    """Run the passes of a mapping (ERP → CRM first, then CRM → ERP) and print the job log."""
    from lead2cash.integration.engine import run_all, run_mapping
    from lead2cash.integration.synclog import SyncJob

    if not mapping and not all_:
        raise typer.BadParameter("name a mapping or pass --all")
    sessions, client = _client()
    with client:
        if all_:
            jobs = [j for ids in run_all(sessions, client, full=full).values() for j in ids]
        else:
            jobs = run_mapping(sessions, client, mapping.upper(), full=full)
    table = Table("Mapping", "Direction", "Inserted", "Modified", "Unchanged", "Skipped", "Failed")
    failed = 0
    with sessions() as session:
        for job_id in jobs:
            job = session.get(SyncJob, job_id)
            table.add_row(job.mapping_name, str(job.direction), *(str(getattr(job, k)) for k in
                          ("inserted", "modified", "unchanged", "skipped", "failed")))  # fmt: skip
            failed += job.failed
            for error in job.errors[:20]:
                console.print(f"[red]{job.mapping_name}[/red] {error.source}: {error.message}")
    console.print(table)
    raise typer.Exit(1 if failed else 0)
