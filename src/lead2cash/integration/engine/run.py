"""Entry points of the synchronization engine: run a mapping, or synchronize chosen records.

``run_mapping`` is what the recurring job of a mapping and ``lead2cash sync run`` call: the ERP → CRM pass
first, then the CRM → ERP pass, as the mapping's direction allows (reference §4.1). ``full=True`` is the
full synchronization of a mapping: watermarks are ignored and uncoupled records are created on the other
side even when the mapping normally synchronizes only coupled records. ``sync_records`` synchronizes a
selection now (manual "synchronize now"): it writes whatever the records' state, in the chosen direction.

Both return the ids of the ``SyncJob`` rows they wrote (one per pass), whose counters and errors tell what
happened. Neither raises for a record that fails; they raise only when the run as a whole cannot start
(unknown mapping, CRM unreachable).
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from lead2cash.integration.engine.context import SyncContext
from lead2cash.integration.engine.passes import pass_from_crm, pass_to_crm
from lead2cash.integration.mapping.enums import Direction, MappingKind
from lead2cash.integration.mapping.model import TableMapping

TO, FROM = Direction.TO_CRM, Direction.FROM_CRM

#: the order in which ``--all`` runs the standard mappings (R8, R11, C6: what others refer to goes first)
ORDER = (
    "SALESPEOPLE",
    "CURRENCY",
    "UNIT OF MEASURE",
    "CUSTOMER",
    "CONTACT",
    "ITEM-PRODUCT",
    "RESOURCE-PRODUCT",
    "CUSTPRCGRP-PRICE",
    "SALESPRC-PRODPRICE",
    "OPPORTUNITY",
    "POSTEDSALESINV-INV",
)


def _context(sessions: sessionmaker[Session], client: Any, ctx: SyncContext | None, page_size: int) -> SyncContext:
    return ctx if ctx is not None else SyncContext.open(sessions, client, page_size=page_size)


def run_mapping(
    sessions: sessionmaker[Session],
    client: Any,
    mapping_name: str,
    *,
    full: bool = False,
    ctx: SyncContext | None = None,
    page_size: int = 500,
) -> list[uuid.UUID]:
    """Run both passes of one mapping (ERP → CRM first); returns the job ids."""
    ctx = _context(sessions, client, ctx, page_size)
    with sessions() as session:
        mapping = session.get(TableMapping, mapping_name)
        if mapping is None:
            raise LookupError(f"no integration table mapping named {mapping_name!r}")
        direction, kind = mapping.direction, mapping.kind
    if kind is MappingKind.OPTION:
        # M14: an ERP code is coupled to the existing choice with its label; a code without one is left
        # uncoupled and the choice stays blank on the accounts (no options are created in the CRM)
        from lead2cash.integration.manual.matching import match_in_steps

        report = match_in_steps(sessions, client, mapping_name, schedule=False)
        return [report.job_id] if report.job_id else []
    jobs: list[uuid.UUID] = []
    if direction.includes(TO):
        jobs.append(pass_to_crm(ctx, mapping_name, full=full))
    if direction.includes(FROM):
        jobs.append(pass_from_crm(ctx, mapping_name, full=full))
    return jobs


def run_all(sessions: sessionmaker[Session], client: Any, *, full: bool = False, page_size: int = 500) -> dict:
    """Run every record mapping in dependency order; ``{mapping name: job ids}``."""
    ctx = SyncContext.open(sessions, client, page_size=page_size)
    with sessions() as session:
        names = list(session.scalars(select(TableMapping.name).where(TableMapping.is_temporary.is_(False))))
    ordered = [n for n in ORDER if n in names] + sorted(n for n in names if n not in ORDER)
    return {name: run_mapping(sessions, client, name, full=full, ctx=ctx) for name in ordered}


def sync_records(
    sessions: sessionmaker[Session],
    client: Any,
    mapping_name: str,
    *,
    erp_ids: Iterable[uuid.UUID] = (),
    crm_ids: Iterable[uuid.UUID] = (),
    direction: Direction = TO,
    ctx: SyncContext | None = None,
) -> list[uuid.UUID]:
    """Synchronize the given records now, overwriting the other side (ERP → CRM with ``TO_CRM``).

    ``erp_ids`` are sent (created when uncoupled); ``crm_ids`` are fetched and applied to the ERP. Change
    detection and conflict checks are bypassed, as for the reference's manual synchronization.
    """
    ctx = _context(sessions, client, ctx, 500)
    jobs: list[uuid.UUID] = []
    erp_ids, crm_ids = list(erp_ids), list(crm_ids)
    if direction is TO and erp_ids:
        jobs.append(pass_to_crm(ctx, mapping_name, erp_ids=erp_ids, force=True))
    if direction is FROM and crm_ids:
        jobs.append(pass_from_crm(ctx, mapping_name, crm_ids=crm_ids, force=True))
    return jobs
