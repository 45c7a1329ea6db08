"""The scale-out runner: procrastinate workers on PostgreSQL, any number of them, on any machine.

Every job row is handed to one procrastinate job of the task ``lead2cash.run_job`` that carries the row's
id. Procrastinate provides the distribution: its *lock* (the job's serial key) keeps two jobs of one key
from running at once across all workers, its *queueing lock* (the dedup key) keeps a second copy out of the
queue, LISTEN/NOTIFY brings jobs to idle workers at once, and worker heartbeats expose workers that died.
The job row stays the record users see, and ``store`` still decides about attempts: a failed attempt is
retried by procrastinate at the time ``store`` chose, and the last one ends the procrastinate job as failed.

Each worker also runs a maintenance loop: jobs of workers whose heartbeat stopped (stalled) are given back
(the lost run counts as an attempt), rows that never reached procrastinate (a crash between the two
commits) are dispatched, and the scheduler ticks (entries due, outbox wake-ups). Two workers ticking at
once are harmless: the outbox watermark row is locked for the tick and dedup keys refuse duplicates.
"""

from __future__ import annotations

import asyncio
import contextlib
import threading
from collections.abc import Iterable
from datetime import timedelta

import procrastinate
from procrastinate import exceptions as pexc
from procrastinate.jobs import Status
from psycopg.conninfo import make_conninfo
from sqlalchemy import Engine, inspect, select, text, update
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session, sessionmaker

from lead2cash.db import transaction
from lead2cash.jobs import store
from lead2cash.jobs.model import Job, JobStatus
from lead2cash.jobs.queue import BaseQueue, log
from lead2cash.sqltypes import utcnow

TASK = "lead2cash.run_job"
QUEUE = "lead2cash"
SCHEMA_LOCK = 0x6C326373  # advisory lock key held while procrastinate's schema is installed
LOST = "the worker running this attempt stopped (no heartbeat)"


class RetryLater(Exception):
    """Raised to procrastinate when ``store`` schedules another attempt."""

    def __init__(self, retry_at, error: str):
        super().__init__(error)
        self.retry_at = retry_at


class JobDead(Exception):
    """Raised to procrastinate on the last allowed attempt: the procrastinate job ends as failed."""


class _StoreDecides(procrastinate.BaseRetryStrategy):
    def get_retry_decision(self, *, exception, job):
        if isinstance(exception, RetryLater):
            return procrastinate.RetryDecision(retry_at=exception.retry_at)
        return None


def conninfo(url: str) -> str:
    """A libpq connection string for a SQLAlchemy PostgreSQL URL, query options (search path …) included.

    Built as ``key=value`` pairs from the parsed URL: SQLAlchemy reads ``+`` in a query as a space, a libpq
    URI would not, so re-rendering the URL could change an ``options`` value.
    """
    parsed = make_url(url)
    parts = {
        "host": parsed.host,
        "port": parsed.port,
        "dbname": parsed.database,
        "user": parsed.username,
        "password": parsed.password,
    }
    parts.update({k: v if isinstance(v, str) else " ".join(v) for k, v in parsed.query.items()})
    return make_conninfo(**{k: v for k, v in parts.items() if v is not None})


class ProcrastinateQueue(BaseQueue):
    """Job runner on procrastinate (see the module docstring)."""

    def __init__(
        self,
        sessions: sessionmaker[Session],
        url: str,
        *,
        concurrency: int = 2,
        stalled_seconds: float = 30.0,
        heartbeat_seconds: float = 10.0,
        tick_seconds: float = 1.0,
        poll_seconds: float = 5.0,
        name: str | None = None,
    ):
        super().__init__(sessions, name=name)
        self.conninfo = conninfo(url)
        self.concurrency = concurrency
        self.stalled_seconds = stalled_seconds
        self.heartbeat_seconds = heartbeat_seconds
        self.tick_seconds = tick_seconds
        self.poll_seconds = poll_seconds
        self.app = procrastinate.App(connector=procrastinate.PsycopgConnector(conninfo=self.conninfo))
        self.app.task(name=TASK, queue=QUEUE, pass_context=True, retry=_StoreDecides())(self._task)
        self._deferrer: procrastinate.App | None = None
        self._defer_lock = threading.Lock()
        self._thread: threading.Thread | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._main: asyncio.Task | None = None
        self._started = threading.Event()

    # -- schema -------------------------------------------------------------------------------------------
    def ensure_schema(self, engine: Engine) -> bool:
        """Install procrastinate's tables in the database (schema of the search path) unless present.

        Workers starting together take turns (an advisory lock), so only the first one installs them.
        """
        with engine.connect() as conn:
            conn.execute(text("SELECT pg_advisory_lock(:key)"), {"key": SCHEMA_LOCK})
            try:
                if inspect(conn).has_table("procrastinate_jobs"):
                    return False
                self._sync_app().schema_manager.apply_schema()
                return True
            finally:
                conn.execute(text("SELECT pg_advisory_unlock(:key)"), {"key": SCHEMA_LOCK})
                conn.commit()

    # -- dispatching --------------------------------------------------------------------------------------
    def _sync_app(self) -> procrastinate.App:
        with self._defer_lock:
            if self._deferrer is None:
                connector = procrastinate.SyncPsycopgConnector(conninfo=self.conninfo, min_size=1, max_size=4)
                self._deferrer = procrastinate.App(connector=connector).open()
            return self._deferrer

    def _dispatch(self, job_ids: Iterable[int]) -> None:
        ids = list(job_ids)
        if not ids:
            return
        with self.sessions() as session:
            rows = session.execute(
                select(Job.id, Job.dedup_key, Job.serial_key, Job.run_after).where(
                    Job.id.in_(ids), Job.status == JobStatus.READY, Job.external_id.is_(None)
                )
            ).all()
        app = self._sync_app()
        for job_id, dedup_key, serial_key, run_after in rows:
            try:
                pid = app.configure_task(
                    TASK,
                    queue=QUEUE,
                    lock=serial_key,
                    queueing_lock=dedup_key or f"job:{job_id}",
                    schedule_at=run_after,
                ).defer(job_id=job_id)
            except pexc.AlreadyEnqueued:
                continue
            with transaction(self.sessions) as session:
                session.execute(
                    update(Job)
                    .where(Job.id == job_id, Job.external_id.is_(None))
                    .values(external_id=pid)
                    .execution_options(synchronize_session=False)
                )

    def undispatched(self, older_than: float = 2.0) -> list[int]:
        cutoff = utcnow() - timedelta(seconds=older_than)
        with self.sessions() as session:
            return list(
                session.scalars(
                    select(Job.id).where(
                        Job.status == JobStatus.READY, Job.external_id.is_(None), Job.created_at < cutoff
                    )
                )
            )

    # -- the task -----------------------------------------------------------------------------------------
    def _task(self, context: procrastinate.JobContext, job_id: int) -> None:
        pid = context.job.id
        with transaction(self.sessions) as session:
            claimed = session.scalar(
                update(Job)
                .where(
                    Job.id == job_id,
                    Job.status.in_((JobStatus.READY, JobStatus.RUNNING)),
                    Job.external_id.is_(None) | (Job.external_id == pid),
                )
                .values(
                    status=JobStatus.RUNNING,
                    attempts=Job.attempts + 1,
                    external_id=pid,
                    lease_owner=self.name,
                    started_at=utcnow(),
                )
                .returning(Job.id)
                .execution_options(synchronize_session=False)
            )
            if claimed is None:  # cancelled, already done, or a stray duplicate: nothing to run
                return
            ctx, payload = self._begin(session, job_id)
        failure, _ = self._execute(ctx, payload)
        if failure is None or failure.superseded:  # done, or already handed to another worker
            return
        with self.sessions() as session:
            error = session.scalar(select(Job.last_error).where(Job.id == job_id)) or "failed"
        if failure.dead:
            raise JobDead(error)
        raise RetryLater(failure.retry_at, error)

    # -- maintenance --------------------------------------------------------------------------------------
    async def recover_stalled(self) -> list[int]:
        """Give back the jobs of workers whose heartbeat stopped; returns the job rows concerned."""
        stalled = await self.app.job_manager.get_stalled_jobs(
            seconds_since_heartbeat=self.stalled_seconds, queue=QUEUE, task_name=TASK
        )
        recovered = []
        for pjob in stalled:
            job_id = pjob.task_kwargs.get("job_id")
            outcome = await asyncio.to_thread(self._fail_lost, job_id, pjob.id)
            try:
                if outcome == "retry":
                    retry_at = await asyncio.to_thread(self._run_after, job_id)
                    await self.app.job_manager.retry_job(pjob, retry_at=retry_at)
                else:
                    status = Status.SUCCEEDED if outcome == "succeeded" else Status.FAILED
                    await self.app.job_manager.finish_job(pjob, status=status, delete_job=False)
            except Exception as exc:  # another worker handled it first
                log.debug("stalled job %s already handled: %s", pjob.id, exc)
                continue
            recovered.append(job_id)
        if recovered:
            log.warning("recovered jobs of stopped workers: %s", recovered)
        return recovered

    def _fail_lost(self, job_id: int | None, pid: int) -> str:
        with transaction(self.sessions) as session:
            job = session.get(Job, job_id, with_for_update=True) if job_id is not None else None
            if job is None:
                return "failed"
            if job.status == JobStatus.SUCCEEDED:
                return "succeeded"
            if job.status != JobStatus.RUNNING or job.external_id != pid:
                return "retry" if job.status == JobStatus.READY else "failed"
            return "failed" if store.finish_failure(session, job_id, None, LOST).dead else "retry"

    def _run_after(self, job_id: int):
        with self.sessions() as session:
            return session.scalar(select(Job.run_after).where(Job.id == job_id)) or utcnow()

    def maintenance_once(self) -> None:
        """The synchronous part of maintenance: dispatch rows that never reached procrastinate, tick."""
        self._dispatch(self.undispatched())
        self.tick()

    async def _maintenance_loop(self, stopping: asyncio.Event) -> None:
        # Never cancelled mid-round: a query cut off by cancellation would leave its connection idle in a
        # transaction, holding locks until the process ends. It stops between rounds instead.
        while not stopping.is_set():
            try:
                await self.recover_stalled()
                await asyncio.to_thread(self.maintenance_once)
            except Exception:
                log.exception("job maintenance error")
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stopping.wait(), self.tick_seconds)

    # -- running workers ----------------------------------------------------------------------------------
    async def run_async(self, *, install_signal_handlers: bool = False) -> None:
        async with self.app.open_async():
            stopping = asyncio.Event()
            maintenance = asyncio.create_task(self._maintenance_loop(stopping))
            try:
                await self.app.run_worker_async(
                    queues=[QUEUE],
                    name=self.name,
                    concurrency=self.concurrency,
                    install_signal_handlers=install_signal_handlers,
                    update_heartbeat_interval=self.heartbeat_seconds,
                    stalled_worker_timeout=self.stalled_seconds,
                    fetch_job_polling_interval=self.poll_seconds,
                    shutdown_graceful_timeout=5.0,
                )
            finally:
                stopping.set()
                await asyncio.shield(maintenance)

    def run(self) -> None:
        """Run a worker in the foreground until SIGINT/SIGTERM (the ``worker`` command)."""
        asyncio.run(self.run_async(install_signal_handlers=True))

    def start(self) -> None:
        """Run a worker in a background thread of this process."""
        if self._thread is not None:
            return

        def main() -> None:
            self._loop = asyncio.new_event_loop()
            self._main = self._loop.create_task(self.run_async())
            self._started.set()
            try:
                self._loop.run_until_complete(self._main)
            except (asyncio.CancelledError, Exception):
                pass
            finally:
                self._loop.close()

        self._thread = threading.Thread(target=main, name="jobs-procrastinate", daemon=True)
        self._thread.start()
        self._started.wait(10)

    def stop(self, timeout: float = 10.0) -> None:
        if self._thread is not None and self._loop is not None and self._main is not None:
            self._loop.call_soon_threadsafe(self._main.cancel)
            self._thread.join(timeout)
        self._thread = None
        if self._deferrer is not None:
            self._deferrer.close()
            self._deferrer = None
