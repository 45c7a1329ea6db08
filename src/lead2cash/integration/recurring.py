"""One recurring job queue entry per integration table mapping, and the job that runs the mapping (J1).

As in the reference (§8.1), every mapping with a job interval gets an entry keyed by the mapping name:
handler ``integration.sync`` (the engine's ``run_mapping``), the mapping's interval and inactivity
timeout, 10 attempts 30 s apart, and the mapping's ERP table(s) as watched tables so an outbox event for
them wakes the entry. Mappings without an interval (OPPORTUNITY, POSTEDSALESLINE-INV: synchronized by
hand or with their header) get none, and an entry left from an earlier setup is removed.

Entries are created or refreshed by "Use default synchronization setup" and when the connection is
enabled; they are created *On Hold* while the connection is disabled (enabling sets them Ready, disabling
holds them: ``setup.service``). The serial key is the mapping name, the one the mapping's one-off jobs
(full synchronization, synchronize now) use, so the recurring run never overlaps them. The mapping's job
category is kept in the payload and the description; it is not a second serial key.

A run is *idle* when no pass inserted, modified, deleted, coupled, uncoupled or failed anything (unchanged
and skipped records do not count, as in the reference): the handler then returns ``Outcome.IDLE`` and
the entry goes on hold with inactivity timeout until a change wakes it.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from lead2cash.db import transaction
from lead2cash.integration.mapping.model import TableMapping
from lead2cash.integration.synclog import SyncJob
from lead2cash.jobs import EntrySpec, JobContext, Outcome, register_handler, scheduler
from lead2cash.jobs.model import JobQueueEntry

SYNC_JOB = "integration.sync"
#: ERP tables whose changes also concern a mapping beyond its own table (reference: sales lines count for orders)
EXTRA_WATCHED = {"SALESORDER-ORDER": ("sales_line",), "POSTEDSALESINV-INV": ("sales_invoice_line",)}
#: job counters that mean a run did something (unchanged and skipped do not)
ACTIVITY = ("inserted", "modified", "deleted", "coupled", "uncoupled", "failed")
PRODUCT = "Dynamics 365 Sales"


def entry_spec(mapping: TableMapping, *, on_hold: bool = False) -> EntrySpec | None:
    """The recurring entry a mapping should have, or None when it has no recurring job."""
    if mapping.is_temporary or mapping.job_interval_minutes is None:
        return None
    category = mapping.job_category or ""
    return EntrySpec(
        key=mapping.name,
        handler=SYNC_JOB,
        payload={"mapping": mapping.name, "category": category},
        description=f"{mapping.name} - {PRODUCT} synchronization job" + (f" (category {category})" if category else ""),
        interval_minutes=mapping.job_interval_minutes,
        inactivity_timeout_minutes=mapping.job_inactivity_timeout_minutes,
        max_attempts=10,
        rerun_delay_s=30,
        serial_key=mapping.name,
        watch_tables=(mapping.erp_table, *EXTRA_WATCHED.get(mapping.name, ())),
        on_hold=on_hold,
    )


def _connection_enabled(session: Session) -> bool:
    from lead2cash.integration.setup.model import SETUP_ID, ConnectionSetup

    setup = session.get(ConnectionSetup, SETUP_ID)
    return bool(setup is not None and setup.enabled)


def ensure_entries(session: Session, names: Iterable[str] | None = None) -> list[JobQueueEntry]:
    """Create or refresh the recurring entries of the mappings (all, or ``names``); returns those kept.

    New entries start Ready when the connection is enabled, On Hold otherwise; existing ones keep their
    status (a user's hold stays). The entry of a mapping that no longer has a recurring job is deleted;
    entries of other keys are left alone.
    """
    on_hold = not _connection_enabled(session)
    query = select(TableMapping).where(TableMapping.is_temporary.is_(False))
    if names is not None:
        query = query.where(TableMapping.name.in_(list(names)))
    kept: list[JobQueueEntry] = []
    for mapping in session.scalars(query.order_by(TableMapping.name)):
        spec = entry_spec(mapping, on_hold=on_hold)
        if spec is None:
            scheduler.delete_entry(session, mapping.name)
        else:
            kept.append(scheduler.ensure_entry(session, spec))
    session.flush()
    return kept


def use_default_setup(session: Session, names: Iterable[str] | None = None) -> list[TableMapping]:
    """ "Use default synchronization setup": the standard mappings and their recurring job queue entries."""
    from lead2cash.integration.mapping.defaults import use_default_setup as recreate

    mappings = recreate(session, names)
    ensure_entries(session, [m.name for m in mappings])
    return mappings


def was_idle(jobs: Iterable[SyncJob]) -> bool:
    return all(not any(getattr(job, name) for name in ACTIVITY) for job in jobs)


def sync_mapping(ctx: JobContext, payload: dict[str, Any]) -> Outcome | None:
    """The recurring run of one mapping: both passes through the engine, linked to this run's log row."""
    from lead2cash.integration import engine
    from lead2cash.integration.manual.crm import open_crm

    name = payload["mapping"]
    with open_crm(ctx.sessions) as crm:
        job_ids = engine.run_mapping(ctx.sessions, crm, name)
    with transaction(ctx.sessions) as session:
        if job_ids:
            session.execute(update(SyncJob).where(SyncJob.id.in_(job_ids)).values(run_id=ctx.run_id))
        jobs = [session.get(SyncJob, job_id) for job_id in job_ids]
        idle = was_idle(j for j in jobs if j is not None)
    for job_id in job_ids:
        ctx.link(job_id)
    return Outcome.IDLE if idle else None


register_handler(SYNC_JOB, sync_mapping)
