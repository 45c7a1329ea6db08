"""``lead2cash fullsync review|start|status``: the full synchronization review from the command line.

``review`` creates or refreshes the lines and prints them; ``start`` queues the lines in dependency order
(``--run`` also runs the jobs in this process, for a single-machine setup without a worker); ``status``
shows each line's job and pass status and counts, and with ``--watch`` follows them with progress bars
until every started line has finished or failed.
"""

from __future__ import annotations

import json
import time

import typer
from rich.console import Console
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from lead2cash.config import get_settings
from lead2cash.erp.errors import ErpError

app = typer.Typer(no_args_is_help=True, help="Full synchronization: review lines, start them, follow progress.")
console = Console()
DB = typer.Option(None, "--database-url", help="ERP database; default: L2C_DATABASE_URL or SQLite in data_dir.")
DONE = ("Finished", "Error")
STYLE = {"Finished": "green", "Error": "red", "In process": "cyan", "Ready": "yellow", "Success": "green"}


def _url(database_url: str | None) -> str:
    return database_url or get_settings().erp_database_url()


def _sessions(database_url: str | None):
    from lead2cash.erp.database import open_database

    return open_database(_url(database_url))


def _lines(sessions) -> list[dict]:
    from lead2cash.db import transaction
    from lead2cash.integration import fullsync

    with transaction(sessions) as session:
        return fullsync.progress(session)


def _counts(p: dict) -> str:
    counts = p.get("counts") or {}
    return ", ".join(f"{k} {v}" for k, v in counts.items() if v) or "-"


def _styled(text: str) -> str:
    style = STYLE.get(text)
    return f"[{style}]{text}[/{style}]" if style and text else (text or "-")


def _table(lines: list[dict]) -> Table:
    table = Table("line", "depends on", "recommendation", "status", "to CRM", "from CRM")
    for p in lines:
        table.add_row(
            p["name"],
            ", ".join(p["dependencies"]),
            p["recommendation"] or "",
            _styled(p["status"]) + (f" [yellow]({p['problem']})[/yellow]" if p.get("problem") else ""),
            f"{_styled(p['to_crm']['status'])} {_counts(p['to_crm'])}",
            f"{_styled(p['from_crm']['status'])} {_counts(p['from_crm'])}",
        )
    return table


@app.command()
def review(
    reset: bool = typer.Option(False, "--reset", help="Delete every line and generate them again."),
    as_json: bool = typer.Option(False, "--json"),
    database_url: str = DB,
):
    """Create or refresh the review lines (recommendations from counts on both sides) and print them."""
    from lead2cash.db import transaction
    from lead2cash.integration import fullsync
    from lead2cash.integration.dataverse.errors import DataverseError
    from lead2cash.integration.manual.crm import open_crm

    _, sessions = _sessions(database_url)
    try:
        with open_crm(sessions) as crm:
            counts = fullsync.count_both_sides(sessions, crm)
        with transaction(sessions) as session:
            fullsync.generate(session, None, reset=reset, counts=counts)
    except (ErpError, DataverseError) as exc:
        console.print(f"[red]{exc}[/red]")
        raise typer.Exit(1) from exc
    lines = _lines(sessions)
    print(json.dumps(lines, indent=2)) if as_json else console.print(_table(lines))


def _follow(sessions, *, interval: float = 1.0, timeout: float | None = None) -> list[dict]:
    """Progress bars per started line until all are finished or failed."""
    columns = (
        TextColumn("{task.description:<22}"),
        BarColumn(),
        TextColumn("{task.fields[state]}"),
        TimeElapsedColumn(),
    )
    deadline = time.monotonic() + timeout if timeout else None
    with Progress(*columns, console=console) as bars:
        tasks: dict[str, int] = {}
        while True:
            lines = [p for p in _lines(sessions) if p["status"]]
            for p in lines:
                if p["name"] not in tasks:
                    tasks[p["name"]] = bars.add_task(p["name"], total=1, state="")
                state = f"{p['status']}  to CRM: {_counts(p['to_crm'])}  from CRM: {_counts(p['from_crm'])}"
                bars.update(tasks[p["name"]], completed=1 if p["status"] in DONE else 0, state=state)
            if all(p["status"] in DONE for p in lines) or (deadline and time.monotonic() > deadline):
                return lines
            time.sleep(interval)


@app.command()
def start(
    names: list[str] = typer.Argument(None, help="Only these lines (default: every line not started)."),
    run: bool = typer.Option(False, "--run", help="Run the jobs in this process and follow them to the end."),
    wait: bool = typer.Option(False, "--wait", help="Follow the progress until every line is done."),
    database_url: str = DB,
):
    """Start the lines not started yet, in dependency order, as background jobs."""
    from lead2cash.db import transaction
    from lead2cash.integration import fullsync

    engine, sessions = _sessions(database_url)
    try:
        with transaction(sessions) as session:
            if session.query(fullsync.FullSyncLine).count() == 0:
                raise ErpError("There are no review lines yet.", fix="Run 'lead2cash fullsync review' first.")
            started = fullsync.start(session, names or None)
    except ErpError as exc:
        console.print(f"[red]{exc}[/red]")
        raise typer.Exit(1) from exc
    console.print(f"Started {len(started)} line(s): {', '.join(line.name for line in started) or '-'}")
    if run:
        from lead2cash.jobs.registry import import_modules
        from lead2cash.jobs.runtime import make_queue

        import_modules()
        queue = make_queue(engine, sessions, _url(database_url))
        queue.start()  # workers in this process, whichever runner the database calls for
        try:
            lines = _follow(sessions, interval=0.2)
        finally:
            queue.stop()
    elif wait:
        lines = _follow(sessions)
    else:
        return
    if any(p["status"] == "Error" for p in lines):
        raise typer.Exit(1)


@app.command()
def status(
    watch: bool = typer.Option(False, "--watch", help="Follow with progress bars until every line is done."),
    as_json: bool = typer.Option(False, "--json"),
    database_url: str = DB,
):
    """Each line's job status, to-CRM and from-CRM pass status and counts."""
    _, sessions = _sessions(database_url)
    if watch:
        _follow(sessions)
        return
    lines = _lines(sessions)
    print(json.dumps(lines, indent=2)) if as_json else console.print(_table(lines))
