"""``lead2cash run`` (``./l2c run``): the whole system on one machine, with demo data, ready to look at.

Starts the CRM server (child process, its own SQLite database and certificate under ``<data dir>/crm``),
prepares the ERP database (migrations, demo data once, a fresh web service key for ADMIN), loads a few
CRM rows through the Web API, connects the two (``bootstrap.connect``), starts the job runner and the CRM
change watcher inside this process, starts the full synchronization once, prints where everything is and
serves the ERP API (with the integration's endpoints) until Ctrl-C, which stops everything it started.
A restart finds everything in place and only starts the processes again.
"""

from __future__ import annotations

import os
import threading
from pathlib import Path

import typer
from rich.console import Console

console = Console(highlight=False)
FINISHED = "full synchronization finished"


def _watch_full_sync(sessions, stop: threading.Event, interval: float = 2.0) -> None:
    """Print once when every full synchronization line has ended (finished or failed)."""
    from lead2cash.db import transaction
    from lead2cash.integration import fullsync

    while not stop.wait(interval):
        try:
            with transaction(sessions) as session:
                lines = fullsync.progress(session)
        except Exception:  # the database is busy: look again next time
            continue
        if lines and all(line["status"] in ("Finished", "Error") for line in lines):
            failed = [line["name"] for line in lines if line["status"] == "Error"]
            text = f"{FINISHED}: {len(lines) - len(failed)} lines finished"
            print(text + (f", failed: {', '.join(failed)}" if failed else ""), flush=True)
            return


def run(
    data_dir: Path = typer.Option(None, help="Where databases, keys and certificates live (default: L2C_DATA_DIR)."),
    host: str = typer.Option("127.0.0.1", help="Interface for the ERP and the CRM."),
    port: int = typer.Option(None, help="ERP API port (default: L2C_ERP_PORT, 8000)."),
    crm_port: int = typer.Option(None, help="CRM plain HTTP port (default: L2C_CRM_PORT, 8100)."),
    crm_https_port: int = typer.Option(None, help="CRM HTTPS port (default: L2C_CRM_HTTPS_PORT, 8443)."),
    crm_poll_seconds: float = typer.Option(10.0, help="How often the CRM is asked for changes."),
) -> None:
    """Start the ERP, the CRM server and the integration with demo data; print where to reach them."""
    import uvicorn

    from lead2cash.config import get_settings

    if data_dir is not None:
        os.environ["L2C_DATA_DIR"] = str(data_dir)
    get_settings.cache_clear()
    settings = get_settings()
    data = settings.data_dir.resolve()
    port = port or settings.erp_port
    from lead2cash.demo.crm_process import CrmProcess

    crm = CrmProcess(data / "crm", host, crm_port or settings.crm_port, crm_https_port or settings.crm_https_port)
    console.print(f"Starting the CRM server ({crm.url}) ...")
    crm.start()
    stop = threading.Event()
    queue = watcher = None
    try:
        engine, sessions, key = _prepare_erp(settings)
        access = _crm_access(crm)
        _load_crm_demo(sessions, access)
        _connect_and_sync(settings, sessions, access)  # before the runner starts: the lines hold their entries
        queue, watcher = _start_background(settings, engine, sessions, crm_poll_seconds)
        threading.Thread(target=_watch_full_sync, args=(sessions, stop), daemon=True, name="demo-progress").start()
        _print_where(settings, host, port, key, crm)
        from lead2cash.server import create_app

        uvicorn.run(create_app(sessions), host=host, port=port, log_level="warning")
    finally:
        stop.set()
        if watcher is not None:
            watcher.stop()
        if queue is not None:
            queue.stop()
        crm.stop()
        console.print("Stopped.")


def _prepare_erp(settings):
    from lead2cash.demo import bootstrap
    from lead2cash.erp.cli import ensure_admin
    from lead2cash.erp.database import open_database

    engine, sessions = open_database(settings.erp_database_url())
    counts = bootstrap.load_erp_demo(sessions)
    if counts:
        console.print(f"ERP demo data loaded: {counts}")
    return engine, sessions, ensure_admin(sessions)


def _crm_access(crm):
    from lead2cash.demo.bootstrap import CrmAccess

    creds = crm.credentials()
    return CrmAccess(
        url=crm.url, cert=str(crm.cert), client_id=creds["integration_client_id"],
        client_secret=creds["integration_client_secret"], admin_username=creds["admin_username"],
        admin_password=creds["admin_password"],
    )  # fmt: skip


def _load_crm_demo(sessions, access) -> None:
    from lead2cash.demo import bootstrap

    with access.admin_client() as admin:
        created = bootstrap.load_crm_demo(sessions, admin)
    if created:
        console.print(f"CRM demo data loaded through the Web API: {created} accounts and contacts")


def _start_background(settings, engine, sessions, poll_seconds: float):
    from lead2cash.integration.crm_watch import CrmChangeWatcher
    from lead2cash.jobs.runtime import start_in_process

    queue = start_in_process(engine, sessions, settings.erp_database_url())
    watcher = CrmChangeWatcher(sessions, queue.wake, interval=poll_seconds).start()
    return queue, watcher


def _connect_and_sync(settings, sessions, access) -> None:
    from lead2cash.demo import bootstrap

    if bootstrap.connect(sessions, settings.resolved_secret_key(), access):
        console.print("Integration set up: connected, solution deployed, default synchronization setup, enabled")
    if bootstrap.start_full_sync(sessions):
        console.print("Full synchronization started in the background")


def _print_where(settings, host: str, port: int, key: str, crm) -> None:
    base = f"http://{host}:{port}"
    env = "" if settings.data_dir == Path("data") else f"L2C_DATA_DIR={settings.data_dir} "
    console.rule("lead2cash is running (Ctrl-C stops everything)")
    print(f"ERP API:      {base}/api/v1   (interactive docs: {base}/docs)")
    print(f"ERP key:      {key}   (user ADMIN; send as 'Authorization: Bearer <key>')")
    print(f"CRM Web API:  {crm.url}/api/data/v9.2/   (certificate {crm.cert})")
    print(f"CRM accounts: {crm.credentials_file}   (administrator, integration client id and secret)")
    print(f"Data:         {settings.data_dir.resolve()}")
    print("Try:")
    print(f"  {env}./l2c fullsync status --watch          # the full synchronization, line by line")
    print(f"  {env}./l2c jobs list                        # one recurring job queue entry per mapping")
    print(f"  {env}./l2c setup show                       # connection and synchronization status")
    print(f"  curl -H 'Authorization: Bearer {key}' '{base}/api/v1/customers?limit=5'")
    print(f"  curl -H 'Authorization: Bearer {key}' {base}/api/v1/integration/full-sync")
    print(flush=True)
