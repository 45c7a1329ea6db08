"""Choosing and opening a runner for a database: embedded on SQLite, procrastinate on PostgreSQL.

The ERP process (``run``), the ``worker`` command and the job commands all open the queue here, so the
choice of runner follows the database URL unless asked otherwise.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from sqlalchemy import Engine
from sqlalchemy.engine import make_url

from lead2cash.jobs.queue import BaseQueue

Runner = Literal["auto", "embedded", "procrastinate"]


@dataclass
class QueueOptions:
    workers: int = 2
    lease_seconds: float = 30.0
    heartbeat_seconds: float = 10.0
    tick_seconds: float = 1.0
    poll_seconds: float = 1.0


def runner_for(url: str, runner: Runner = "auto") -> str:
    if runner != "auto":
        return runner
    return "procrastinate" if make_url(url).get_backend_name() == "postgresql" else "embedded"


def make_queue(engine: Engine, sessions, url: str, runner: Runner = "auto", options: QueueOptions | None = None):
    """A queue on an open ERP database (schema at head); procrastinate's own tables are installed if missing."""
    options = options or QueueOptions()
    kind = runner_for(url, runner)
    if kind == "embedded":
        from lead2cash.jobs.sqlite_runner import EmbeddedQueue

        return EmbeddedQueue(
            sessions,
            workers=options.workers,
            lease_seconds=options.lease_seconds,
            tick_seconds=options.tick_seconds,
            poll_seconds=options.poll_seconds,
        )
    if kind == "procrastinate":
        from lead2cash.jobs.procrastinate_runner import ProcrastinateQueue

        queue = ProcrastinateQueue(
            sessions,
            url,
            concurrency=options.workers,
            stalled_seconds=options.lease_seconds,
            heartbeat_seconds=options.heartbeat_seconds,
            tick_seconds=options.tick_seconds,
            poll_seconds=options.poll_seconds,
        )
        queue.ensure_schema(engine)
        return queue
    raise ValueError(f"unknown runner '{runner}' (auto, embedded or procrastinate)")


def open_queue(url: str, runner: Runner = "auto", options: QueueOptions | None = None) -> tuple[Engine, BaseQueue]:
    from lead2cash.erp.database import open_database

    engine, sessions = open_database(url)
    return engine, make_queue(engine, sessions, url, runner, options)


def start_in_process(engine: Engine, sessions, url: str) -> BaseQueue:
    """Start background jobs inside the calling process (the ERP server): handler modules loaded, workers up."""
    from lead2cash.jobs.registry import import_modules

    import_modules()
    queue = make_queue(engine, sessions, url)
    queue.start()
    return queue
