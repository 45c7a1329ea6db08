"""``lead2cash jobs …`` (job queue entries and jobs as users see them) and the top-level ``worker`` command.

``worker`` runs jobs until stopped: on a PostgreSQL database it is a procrastinate worker (start as many
as you like, on any machine that reaches the database); on SQLite it runs the embedded runner's threads.
"""

from __future__ import annotations

import signal

import typer
from rich.console import Console
from rich.table import Table
from sqlalchemy import select

from lead2cash.config import get_settings

app = typer.Typer(no_args_is_help=True)
console = Console()

DB = typer.Option(None, "--database-url", help="Default: L2C_DATABASE_URL or SQLite in data_dir.")


def _url(database_url: str | None) -> str:
    return database_url or get_settings().erp_database_url()


def _sessions(database_url: str | None):
    from lead2cash.erp.database import open_database

    return open_database(_url(database_url))[1]


def _when(value) -> str:
    return value.strftime("%Y-%m-%d %H:%M:%S") if value else ""


@app.command("list")
def list_(
    all_jobs: bool = typer.Option(False, "--all", help="Also list finished jobs."),
    limit: int = typer.Option(30, min=1),
    database_url: str = DB,
):
    """Job queue entries (status, next run, last error) and recent jobs (dead ones with their error)."""
    from lead2cash.jobs.model import Job, JobQueueEntry, JobStatus

    with _sessions(database_url)() as session:
        entries = session.scalars(select(JobQueueEntry).order_by(JobQueueEntry.key)).all()
        query = select(Job).order_by(Job.id.desc()).limit(limit)
        if not all_jobs:
            query = query.where(Job.status != JobStatus.SUCCEEDED)
        jobs = session.scalars(query).all()
    table = Table(
        "Entry", "Status", "Every (min)", "Next run", "Attempts/rerun", "Last error", title="Job queue entries"
    )
    for e in entries:
        table.add_row(
            e.key,
            str(e.status),
            str(e.interval_minutes),
            _when(e.next_run_at),
            f"{e.max_attempts} / {e.rerun_delay_s}s",
            (e.last_error or "")[:80],
        )
    console.print(table)
    table = Table("Job", "Name", "Status", "Attempts", "Run after", "Serial key", "Last error", title="Jobs")
    for j in jobs:
        table.add_row(
            str(j.id),
            j.name,
            str(j.status),
            f"{j.attempts}/{j.max_attempts}",
            _when(j.run_after),
            j.serial_key or "",
            (j.last_error or "")[:80],
        )
    console.print(table)


@app.command()
def run(
    target: str = typer.Argument(..., help="An entry key (run it now) or a dead job's id (restart it)."),
    foreground: bool = typer.Option(False, help="Run pending jobs in this process (embedded runner) until idle."),
    database_url: str = DB,
):
    """Run a job queue entry now, or restart a dead job."""
    from lead2cash.jobs.runtime import open_queue

    _, queue = open_queue(_url(database_url))
    try:
        if target.isdigit():
            if not queue.retry(int(target)):
                console.print(f"[red]Job {target} is not dead; nothing to restart.[/red]")
                raise typer.Exit(1)
            console.print(f"Job {target} restarted.")
        else:
            try:
                job_id = queue.run_now(target)
            except LookupError as exc:
                console.print(f"[red]{exc}[/red]")
                raise typer.Exit(1) from None
            console.print(f"Entry {target}: job {job_id} queued.")
        if foreground and hasattr(queue, "run_until_idle"):
            from lead2cash.jobs.registry import import_modules

            import_modules()
            console.print(f"Ran {queue.run_until_idle()} job(s).")
    finally:
        queue.stop()


def _entry_command(action: str, key: str, database_url: str | None) -> None:
    from lead2cash.db import transaction
    from lead2cash.jobs import scheduler

    try:
        with transaction(_sessions(database_url)) as session:
            entry = getattr(scheduler, action)(session, key)
            status = entry.status
    except LookupError as exc:
        console.print(f"[red]{exc}[/red]")
        raise typer.Exit(1) from None
    console.print(f"Entry {key}: {status}")


@app.command()
def hold(key: str, database_url: str = DB):
    """Put a job queue entry on hold (its pending run is cancelled)."""
    _entry_command("hold", key, database_url)


@app.command()
def resume(key: str, database_url: str = DB):
    """Set an entry on hold or in error back to Ready."""
    _entry_command("resume", key, database_url)


@app.command()
def edit(
    key: str,
    interval: float = typer.Option(None, min=0.01, help="Minutes between runs."),
    inactivity_timeout: float = typer.Option(None, min=0.01, help="Minutes an idle entry sleeps."),
    max_attempts: int = typer.Option(None, min=1),
    rerun_delay: int = typer.Option(None, min=0, help="Seconds between attempts."),
    database_url: str = DB,
):
    """Change an entry's interval, inactivity timeout, maximum attempts or rerun delay."""
    from lead2cash.db import transaction
    from lead2cash.jobs import scheduler

    changes = {
        "interval_minutes": interval,
        "inactivity_timeout_minutes": inactivity_timeout,
        "max_attempts": max_attempts,
        "rerun_delay_s": rerun_delay,
    }
    try:
        with transaction(_sessions(database_url)) as session:
            scheduler.edit_entry(session, key, **{k: v for k, v in changes.items() if v is not None})
    except LookupError as exc:
        console.print(f"[red]{exc}[/red]")
        raise typer.Exit(1) from None
    console.print(f"Entry {key} updated.")


@app.command("log")
def log_(key: str = typer.Argument(None), limit: int = typer.Option(20, min=1), database_url: str = DB):
    """The log of runs (of one entry, or of all jobs)."""
    from lead2cash.jobs.model import JobQueueLog

    query = select(JobQueueLog).order_by(JobQueueLog.started_at.desc()).limit(limit)
    if key:
        query = query.where(JobQueueLog.entry_key == key)
    with _sessions(database_url)() as session:
        rows = session.scalars(query).all()
    table = Table("Started", "Finished", "Job", "Name", "Attempt", "Result", "Link", "Error", title="Job queue log")
    for r in rows:
        table.add_row(
            _when(r.started_at),
            _when(r.finished_at),
            str(r.job_id or ""),
            r.name,
            str(r.attempt),
            str(r.result),
            r.link or "",
            (r.error or "")[:80],
        )
    console.print(table)


def worker(
    database_url: str = DB,
    runner: str = typer.Option("auto", help="auto (by database), embedded or procrastinate."),
    concurrency: int = typer.Option(2, min=1, help="Jobs run at the same time by this worker."),
    import_module: list[str] = typer.Option([], "--import-module", help="Module registering job handlers."),
    lease_seconds: float = typer.Option(30.0, help="Lease (embedded) or stalled-worker timeout (procrastinate)."),
    heartbeat_seconds: float = typer.Option(10.0, help="Worker heartbeat interval (procrastinate)."),
    tick_seconds: float = typer.Option(1.0, help="How often schedules and outbox wake-ups are checked."),
    poll_seconds: float = typer.Option(1.0, help="Fallback polling interval for new jobs."),
):
    """Run background jobs until stopped (SIGINT/SIGTERM)."""
    from lead2cash.jobs.registry import import_modules, registered
    from lead2cash.jobs.runtime import QueueOptions, open_queue, runner_for

    import_modules(import_module)
    url = _url(database_url)
    options = QueueOptions(concurrency, lease_seconds, heartbeat_seconds, tick_seconds, poll_seconds)
    _, queue = open_queue(url, runner, options)  # type: ignore[arg-type]
    kind = runner_for(url, runner)  # type: ignore[arg-type]
    console.print(f"Worker {queue.name} ({kind}) handling: {', '.join(registered()) or 'no handlers'}")
    if kind == "procrastinate":
        queue.run()
        return
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: queue.stop(0))
    queue.start()
    queue.wait()


def register_top_level(root: typer.Typer) -> None:
    root.command("worker")(worker)
