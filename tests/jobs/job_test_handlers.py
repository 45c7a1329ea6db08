"""Small job handlers for the job queue tests, importable by in-process queues and by worker subprocesses.

Each handler leaves evidence in ``job_test_effect`` (created by ``create_tables``) in the same database, so a
test can see what ran, in which order, how often and when, whichever process ran it.
"""

from __future__ import annotations

import time
from pathlib import Path

from sqlalchemy import Column, Float, Integer, MetaData, String, Table, insert

from lead2cash.jobs import Outcome, register_handler

metadata = MetaData()
effect = Table(
    "job_test_effect",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("job_id", Integer, nullable=False),
    Column("handler", String(40), nullable=False),
    Column("tag", String(80), nullable=False, default=""),
    Column("attempt", Integer, nullable=False),
    Column("worker", String(200), nullable=False),
    Column("started", Float, nullable=False),
    Column("ended", Float, nullable=False),
)


def create_tables(engine) -> None:
    metadata.create_all(engine)


def _record(ctx, handler: str, tag: str, started: float) -> None:
    with ctx.sessions() as session, session.begin():
        session.execute(
            insert(effect).values(
                job_id=ctx.job_id,
                handler=handler,
                tag=tag,
                attempt=ctx.attempt,
                worker=ctx.worker,
                started=started,
                ended=time.time(),
            )
        )


def record(ctx, payload):
    """Record one effect; optionally announce the start in a file and wait for a release file first."""
    started = time.time()
    if started_file := payload.get("started_file"):
        Path(started_file).write_text(f"{ctx.attempt}\n")
    if release_file := payload.get("release_file"):
        while not Path(release_file).exists():
            time.sleep(0.05)
    time.sleep(payload.get("sleep", 0))
    _record(ctx, "record", payload.get("tag", ""), started)
    ctx.link(f"effect:{payload.get('tag', '')}")


def poison(ctx, payload):
    raise ValueError(f"cannot process {payload.get('what', 'this')}: malformed input")


def idle(ctx, payload):
    """A recurring entry's run that finds nothing to do (it still records that it ran)."""
    _record(ctx, "idle", payload.get("tag", ""), time.time())
    return Outcome.IDLE


def entry_status(ctx, payload):
    """Record the status the held entry has while this job runs."""
    from sqlalchemy import select

    from lead2cash.jobs.model import JobQueueEntry

    with ctx.sessions() as session:
        status = session.scalar(select(JobQueueEntry.status).where(JobQueueEntry.key == payload["key"]))
    _record(ctx, "entry_status", str(status), time.time())


register_handler("test.record", record)
register_handler("test.poison", poison)
register_handler("test.idle", idle)
register_handler("test.entry_status", entry_status)
