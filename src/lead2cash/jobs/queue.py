"""The ``JobQueue`` port: one contract, two runners (embedded on SQLite, procrastinate on PostgreSQL).

Contract, whichever runner is behind it:

- ``enqueue(spec)``: a job with a *dedup key* is not queued twice while a copy is still pending (the pending
  copy's id is returned); jobs with the same *serial key* never run at the same time; a job with
  dependencies waits until they have all succeeded (chains, e.g. full synchronization lines).
- Execution is at-least-once: a claimed job holds a lease renewed by heartbeats; when its worker dies the
  lease runs out and the job runs again, which counts as an attempt. A failed attempt is retried after the
  rerun delay; after ``max_attempts`` the job is *dead*, with its last error, until someone restarts it.
- Periodic schedules are job queue entries (``scheduler``): ``tick`` queues due entries and turns outbox
  events into wake-ups; ``wake(key)`` wakes one entry (for example when the CRM reports changes).

``BaseQueue`` holds what both runners share: enqueuing, entry commands and running one claimed attempt of
a job through its registered handler. A runner supplies how jobs are claimed, how leases are kept and how
newly runnable jobs reach the workers (``_dispatch``).
"""

from __future__ import annotations

import logging
import os
import socket
import uuid
from collections.abc import Iterable
from typing import Protocol

from sqlalchemy.orm import Session, sessionmaker

from lead2cash.db import transaction
from lead2cash.jobs import registry, scheduler, store
from lead2cash.jobs.model import Job, JobQueueEntry
from lead2cash.jobs.registry import JobContext, Outcome
from lead2cash.jobs.store import Failure, JobSpec

log = logging.getLogger("lead2cash.jobs")


class JobQueue(Protocol):
    sessions: sessionmaker[Session]

    def enqueue(self, spec: JobSpec) -> int: ...

    def wake(self, key: str) -> bool: ...

    def tick(self) -> list[int]: ...

    def start(self) -> None: ...

    def stop(self, timeout: float = 10.0) -> None: ...


def worker_name(prefix: str = "worker") -> str:
    return f"{prefix}@{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:6]}"


def error_text(exc: BaseException) -> str:
    return f"{type(exc).__name__}: {exc}"


class BaseQueue:
    """Shared behaviour of both runners (see the module docstring)."""

    def __init__(self, sessions: sessionmaker[Session], *, name: str | None = None):
        self.sessions = sessions
        self.name = name or worker_name()

    # -- what a runner supplies ---------------------------------------------------------------------------
    def _dispatch(self, job_ids: Iterable[int]) -> None:
        """Newly runnable jobs exist (queued, released, woken): make sure workers will pick them up."""

    # -- enqueuing and entry commands ---------------------------------------------------------------------
    def enqueue(self, spec: JobSpec) -> int:
        with transaction(self.sessions) as session:
            job_id, created = store.enqueue(session, spec)
        if created:
            self._dispatch([job_id])
        return job_id

    def tick(self) -> list[int]:
        """Queue due entries and wake entries for outbox events; returns the jobs created."""
        with transaction(self.sessions) as session:
            created = scheduler.tick(session)
        if created:
            self._dispatch(created)
        return created

    def wake(self, key: str) -> bool:
        with transaction(self.sessions) as session:
            woken = scheduler.wake(session, key)
        if woken:
            self.tick()
        return woken

    def run_now(self, key: str) -> int:
        with transaction(self.sessions) as session:
            job_id = scheduler.run_now(session, key)
        self._dispatch([job_id])
        return job_id

    def retry(self, job_id: int) -> bool:
        with transaction(self.sessions) as session:
            done = store.retry_dead(session, job_id)
            if done:
                session.get(Job, job_id).external_id = None
        if done:
            self._dispatch([job_id])
        return done

    # -- running one attempt ------------------------------------------------------------------------------
    def _begin(self, session: Session, job_id: int) -> tuple[JobContext, dict]:
        """Record the start of an attempt of the claimed (running) job, in the claim's transaction."""
        job = session.get(Job, job_id)
        run_id = store.start_run(session, job, self.name)
        entry = session.get(JobQueueEntry, job.entry_id) if job.entry_id else None
        ctx = JobContext(
            job_id=job.id,
            run_id=run_id,
            name=job.name,
            attempt=job.attempts,
            entry_key=entry.key if entry is not None else job.hold_key,
            sessions=self.sessions,
            worker=self.name,
        )
        return ctx, dict(job.payload or {})

    def _execute(self, ctx: JobContext, payload: dict) -> tuple[Failure | None, list[int]]:
        """Run the handler outside any transaction; record how the attempt ended. Returns (failure, released)."""
        try:
            outcome = registry.handler(ctx.name)(ctx, payload)
        except Exception as exc:
            log.warning("job %s (%s) attempt %s failed: %s", ctx.job_id, ctx.name, ctx.attempt, exc)
            with transaction(self.sessions) as session:
                return store.finish_failure(session, ctx.job_id, ctx.run_id, error_text(exc)), []
        with transaction(self.sessions) as session:
            released = store.finish_success(
                session, ctx.job_id, ctx.run_id, idle=outcome == Outcome.IDLE, links=ctx.links
            )
        if released:
            self._dispatch(released)
        return None, released
