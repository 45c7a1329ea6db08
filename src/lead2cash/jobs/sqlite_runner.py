"""The embedded runner: worker threads inside the ERP process, claiming jobs from the ERP's SQLite database.

A claim is one ``UPDATE … RETURNING`` that picks the oldest ready job whose serial key has no running job,
marks it running, counts the attempt and gives it a lease. SQLite serializes writers (every transaction
starts with ``BEGIN IMMEDIATE``), so two claims can never take the same job or two jobs of one serial key,
even from separate processes on the same file. A housekeeping thread renews the leases of the jobs this
process runs (the heartbeat), requeues jobs whose lease ran out (their worker died; the lost run counts as
an attempt, and the last allowed attempt leaves the job dead) and ticks the scheduler. Transactions stay
short: the handler runs outside any transaction of the runner. The same runner also works on PostgreSQL
(foreground runs, tests), where claims take turns through a transaction-scoped advisory lock.
"""

from __future__ import annotations

import threading
import time
from datetime import timedelta

from sqlalchemy import exists, select, text, update
from sqlalchemy.orm import Session, aliased, sessionmaker

from lead2cash.db import transaction
from lead2cash.jobs import store
from lead2cash.jobs.model import Job, JobStatus
from lead2cash.jobs.queue import BaseQueue, log
from lead2cash.jobs.registry import JobContext
from lead2cash.sqltypes import utcnow

CLAIM_LOCK = 0x6C32636C
_BUSY = aliased(Job)  # built once so the claim statement is cached
LOST = "the worker running this attempt stopped (its lease expired without a heartbeat)"


class EmbeddedQueue(BaseQueue):
    """In-process job runner on the ERP database (see the module docstring)."""

    def __init__(
        self,
        sessions: sessionmaker[Session],
        *,
        workers: int = 2,
        lease_seconds: float = 30.0,
        tick_seconds: float = 1.0,
        poll_seconds: float = 1.0,
        name: str | None = None,
    ):
        super().__init__(sessions, name=name)
        self.workers = workers
        self.lease = timedelta(seconds=lease_seconds)
        self.tick_seconds = tick_seconds
        self.poll_seconds = poll_seconds
        self._stop = threading.Event()
        self._work = threading.Event()
        self._threads: list[threading.Thread] = []
        self._running: set[int] = set()
        self._lock = threading.Lock()

    # -- claiming -----------------------------------------------------------------------------------------
    def claim(self) -> tuple[JobContext, dict] | None:
        """Take the next runnable job (running, attempt counted, leased to this process, its run logged)."""
        now = utcnow()
        busy = _BUSY
        serial_busy = exists().where(
            busy.status == JobStatus.RUNNING, busy.serial_key == Job.serial_key, busy.serial_key.is_not(None)
        )
        candidate = (
            select(Job.id)
            .where(Job.status == JobStatus.READY, Job.run_after <= now, ~serial_busy)
            .order_by(Job.run_after, Job.id)
            .limit(1)
            .scalar_subquery()
        )
        with transaction(self.sessions) as session:
            if session.get_bind().dialect.name == "postgresql":
                # the same runner on PostgreSQL (foreground runs, tests): claims take turns, as on SQLite
                session.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": CLAIM_LOCK})
            job_id = session.scalar(
                update(Job)
                .where(Job.id == candidate, Job.status == JobStatus.READY)
                .values(
                    status=JobStatus.RUNNING,
                    attempts=Job.attempts + 1,
                    lease_owner=self.name,
                    lease_until=now + self.lease,
                    started_at=now,
                )
                .returning(Job.id)
                .execution_options(synchronize_session=False)
            )
            if job_id is None:
                return None
            with self._lock:
                self._running.add(job_id)
            return self._begin(session, job_id)

    def run_one(self) -> bool:
        """Claim and run one job in the calling thread; False when nothing was runnable."""
        claimed = self.claim()
        if claimed is None:
            return False
        ctx, payload = claimed
        try:
            self._execute(ctx, payload)
        finally:
            with self._lock:
                self._running.discard(ctx.job_id)
        return True

    def run_until_idle(self, *, timeout: float = 60.0) -> int:
        """Foreground processing (command line, tests): tick and run jobs until nothing is runnable now."""
        deadline = time.monotonic() + timeout
        ran = 0
        self.housekeeping()
        while time.monotonic() < deadline and self.run_one():
            ran += 1
            self.housekeeping()
        return ran

    # -- leases and scheduling ----------------------------------------------------------------------------
    def heartbeat(self) -> None:
        with self._lock:
            mine = list(self._running)
        if not mine:
            return
        with transaction(self.sessions) as session:
            session.execute(
                update(Job)
                .where(Job.id.in_(mine), Job.status == JobStatus.RUNNING, Job.lease_owner == self.name)
                .values(lease_until=utcnow() + self.lease)
                .execution_options(synchronize_session=False)
            )

    def requeue_expired(self) -> list[int]:
        """Jobs whose lease ran out go back to ready (or dead on their last attempt); returns their ids."""
        with transaction(self.sessions) as session:
            expired = store.expired_leases(session)
            for job_id in expired:
                store.finish_failure(session, job_id, None, LOST)
        if expired:
            log.warning("requeued jobs with expired leases: %s", expired)
            self._work.set()
        return expired

    def housekeeping(self) -> None:
        self.heartbeat()
        self.requeue_expired()
        self.tick()

    def _dispatch(self, job_ids) -> None:
        self._work.set()

    # -- threads ------------------------------------------------------------------------------------------
    def start(self) -> None:
        if self._threads:
            return
        self._stop.clear()
        self._threads = [threading.Thread(target=self._housekeeping_loop, name="jobs-housekeeping", daemon=True)]
        self._threads += [
            threading.Thread(target=self._worker_loop, name=f"jobs-worker-{i}", daemon=True)
            for i in range(self.workers)
        ]
        for thread in self._threads:
            thread.start()

    def stop(self, timeout: float = 10.0) -> None:
        self._stop.set()
        self._work.set()
        for thread in self._threads:
            thread.join(timeout)
        self._threads = []

    def wait(self) -> None:
        """Block until ``stop`` (the ``worker`` command)."""
        while not self._stop.wait(1.0):
            pass

    def _worker_loop(self) -> None:
        while not self._stop.is_set():
            try:
                if self.run_one():
                    continue
            except Exception:  # a database hiccup must not kill the worker thread
                log.exception("job worker error")
            self._work.wait(self.poll_seconds)
            self._work.clear()

    def _housekeeping_loop(self) -> None:
        beat = min(self.tick_seconds, self.lease.total_seconds() / 3)
        while not self._stop.wait(beat):
            try:
                self.housekeeping()
            except Exception:
                log.exception("job housekeeping error")
