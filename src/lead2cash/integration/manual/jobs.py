"""Background job handlers of the manual operations and the full synchronization.

- ``integration.sync_records``: synchronize chosen records in one direction (set up coupling with a sync,
  synchronize now, create in CRM / in the ERP, restore records) through the engine's ``sync_records``.
- ``integration.full_sync``: the full passes of one mapping (a *Full synchronization* review line), with
  the mapping flagged as running a full synchronization meanwhile.
- ``integration.couple_records``: match-based coupling of a mapping (a *Couple records* line), then the
  creation of the unmatched records and the synchronization of the coupled ones as the mapping says.

Each handler opens its own CRM client from the stored connection setup and keeps no database
transaction open while the CRM answers. The job queue's hold key (the mapping name) keeps the mapping's
recurring entry on hold while a full synchronization or a coupling job runs.
"""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import select

from lead2cash.db import transaction
from lead2cash.integration.coupling_model import Coupling
from lead2cash.integration.couplings import chunks
from lead2cash.integration.fullsync import COUPLE_JOB, FULL_SYNC_JOB
from lead2cash.integration.manual.crm import open_crm
from lead2cash.integration.manual.matching import match_in_steps
from lead2cash.integration.manual.schedule import SYNC_RECORDS
from lead2cash.integration.mapping.enums import Direction, LineStatus
from lead2cash.integration.mapping.model import TableMapping
from lead2cash.integration.synclog import FullSyncLine, SyncJob
from lead2cash.jobs import JobContext, register_handler
from lead2cash.sqltypes import utcnow


def _engine():
    from lead2cash.integration import engine

    return engine


def _counterparts(session, mapping: TableMapping, erp_ids: list[uuid.UUID], crm_ids: list[uuid.UUID]):
    """Coupled pairs among the given ids: (erp ids, crm ids) of the couplings, one query per page."""
    pairs: dict[uuid.UUID, uuid.UUID] = {}
    base = select(Coupling.erp_id, Coupling.crm_id).where(
        Coupling.erp_table == mapping.erp_table, Coupling.crm_entity == mapping.crm_entity
    )
    for page in chunks(erp_ids):
        pairs.update((e, c) for e, c in session.execute(base.where(Coupling.erp_id.in_(page))))
    for page in chunks(crm_ids):
        pairs.update((e, c) for e, c in session.execute(base.where(Coupling.crm_id.in_(page))))
    return pairs


def sync_records(ctx: JobContext, payload: dict[str, Any]) -> None:
    name, direction = payload["mapping"], Direction(payload["direction"])
    erp_ids = [uuid.UUID(i) for i in payload.get("erp_ids") or []]
    crm_ids = [uuid.UUID(i) for i in payload.get("crm_ids") or []]
    only_coupled = payload.get("only_coupled", True)
    with transaction(ctx.sessions) as session:
        mapping = session.get(TableMapping, name)
        if mapping is None:
            raise LookupError(f"no integration table mapping named {name!r}")
        pairs = _counterparts(session, mapping, erp_ids, crm_ids)
    by_crm = {c: e for e, c in pairs.items()}
    if direction is Direction.TO_CRM:
        send = [e for e in erp_ids if e in pairs or not only_coupled] + [by_crm[c] for c in crm_ids if c in by_crm]
        receive: list[uuid.UUID] = []
    else:
        receive = [c for c in crm_ids if c in by_crm or not only_coupled] + [pairs[e] for e in erp_ids if e in pairs]
        send = []
    if not send and not receive:
        return None
    with open_crm(ctx.sessions) as crm:
        jobs = _engine().sync_records(
            ctx.sessions, crm, name, erp_ids=list(dict.fromkeys(send)), crm_ids=list(dict.fromkeys(receive)),
            direction=direction,
        )  # fmt: skip
    for job_id in jobs:
        ctx.link(job_id)
    return None


def _mark(ctx: JobContext, name: str, *, running: bool) -> None:
    with transaction(ctx.sessions) as session:
        mapping = session.get(TableMapping, name)
        if mapping is not None:
            mapping.full_sync_running = running
            mapping.full_sync_started_at = utcnow() if running else mapping.full_sync_started_at
        line = session.get(FullSyncLine, name)
        if line is not None and running:
            line.status = LineStatus.IN_PROCESS


def _record_passes(ctx: JobContext, name: str, job_ids: list[uuid.UUID]) -> None:
    with transaction(ctx.sessions) as session:
        line = session.get(FullSyncLine, name)
        for job_id in job_ids:
            job = session.get(SyncJob, job_id)
            if line is not None and job is not None and job.direction is Direction.TO_CRM:
                line.to_crm_job_id = job_id
            elif line is not None and job is not None and job.direction is Direction.FROM_CRM:
                line.from_crm_job_id = job_id
            ctx.link(job_id)


def full_sync(ctx: JobContext, payload: dict[str, Any]) -> None:
    name = payload["mapping"]
    _mark(ctx, name, running=True)
    try:
        with open_crm(ctx.sessions) as crm:
            jobs = _engine().run_mapping(ctx.sessions, crm, name, full=True)
    finally:
        _mark(ctx, name, running=False)
    _record_passes(ctx, name, jobs)
    return None


def couple_records(ctx: JobContext, payload: dict[str, Any]) -> None:
    name = payload["mapping"]
    _mark(ctx, name, running=True)
    try:
        with open_crm(ctx.sessions) as crm:
            report = match_in_steps(ctx.sessions, crm, name, run_id=ctx.run_id, schedule=False)
            ctx.link(report.job_id)
            jobs: list[uuid.UUID] = []
            engine = _engine()
            if report.to_create:
                jobs += engine.sync_records(ctx.sessions, crm, name, erp_ids=report.to_create)
            if report.to_sync:
                if report.sync_direction is Direction.FROM_CRM:
                    with transaction(ctx.sessions) as session:
                        mapping = session.get(TableMapping, name)
                        crm_ids = list(_counterparts(session, mapping, report.to_sync, []).values())
                    jobs += engine.sync_records(ctx.sessions, crm, name, crm_ids=crm_ids, direction=Direction.FROM_CRM)
                else:
                    jobs += engine.sync_records(ctx.sessions, crm, name, erp_ids=report.to_sync)
    finally:
        _mark(ctx, name, running=False)
    _record_passes(ctx, name, jobs)
    return None


register_handler(SYNC_RECORDS, sync_records)
register_handler(FULL_SYNC_JOB, full_sync)
register_handler(COUPLE_JOB, couple_records)
