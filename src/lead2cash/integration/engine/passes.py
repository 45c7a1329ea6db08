"""Selection and watermarks: which records each pass reads, page by page, and how far it got.

ERP → CRM: records with ``row_version > watermark`` (and ≤ the counter's value when the pass started) that
pass the mapping's ERP filter, in keyset pages ordered by ``(row_version, id)``; then tombstones in the
same range (deletions, R14). Because the ERP hands out row versions in commit order, everything at or
below the start value is visible, so the watermark can move to the last row of each page — committed in
the page's transaction, with the couplings and job counters it covers. Failed, not skipped couplings are
retried first, whatever the watermark and filter (R15).

The selected pages are pipelined: the next page is read and decided (a read-only ERP transaction) while up
to two earlier pages' bulk writes (and the read-back of their versions) are in flight in worker threads;
then the oldest page's outcome is applied and committed. The engine's own work thus overlaps the CRM's,
and a crash still loses nothing — a page's couplings, counters and watermark commit only after its CRM
write, in page order. Mappings whose rule couples to existing CRM rows
by matching run their pages one by one, so two pages never claim the same CRM row.

CRM → ERP: change tracking — the stored delta link returns what changed since (rows and ``$deletedEntity``
ids); without one, the initial tracked read returns everything. The new delta link comes on the last page
and is committed with that page. Tables without change tracking fall back to ``modifiedon`` with an
overlap window (the CRM's clock has second precision; re-reading a few rows twice is harmless because
unchanged versions are recognised). An expired delta token restarts with a full read.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from concurrent.futures import Future, ThreadPoolExecutor, wait
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import and_, or_, select
from sqlalchemy.orm import Session

from lead2cash.erp.model.base import Tombstone
from lead2cash.erp.versioning import current_version
from lead2cash.integration.coupling_model import Coupling
from lead2cash.integration.dataverse import ChangeTrackingExpired, ChangeTrackingNotEnabled, odata
from lead2cash.integration.engine import faults
from lead2cash.integration.engine.context import SyncContext
from lead2cash.integration.engine.from_crm import crm_columns, receive_page
from lead2cash.integration.engine.joblog import begin_job, finish_job, write_page
from lead2cash.integration.engine.record import crm_rows_by_id, new_crm_id, to_restore_erp
from lead2cash.integration.engine.to_crm import Sent, ToCrmPage, decide_page, erp_deletions, matches_crm, send_page
from lead2cash.integration.mapping import filters
from lead2cash.integration.mapping.defaults import erp_model
from lead2cash.integration.mapping.enums import Direction, SyncResult
from lead2cash.integration.mapping.model import TableMapping

OVERLAP = timedelta(seconds=2)
TO, FROM = Direction.TO_CRM, Direction.FROM_CRM


@dataclass
class _InFlight:
    """A decided ERP → CRM page whose CRM write may still be running; its session is applied and closed later."""

    session: Session
    page: ToCrmPage
    future: Future | None
    last_version: int


def _mapping(session: Session, name: str) -> TableMapping:
    mapping = session.get(TableMapping, name)
    if mapping is None:
        raise LookupError(f"no integration table mapping named {name!r}")
    return mapping


def _retry_ids(session: Session, mapping: TableMapping, direction: Direction) -> list[Coupling]:
    result = Coupling.last_to_crm_result if direction is TO else Coupling.last_from_crm_result
    return list(
        session.scalars(
            select(Coupling).where(
                Coupling.erp_table == mapping.erp_table,
                Coupling.crm_entity == mapping.crm_entity,
                Coupling.skipped.is_(False),
                result == SyncResult.FAILURE,
            )
        )
    )


# --- ERP -> CRM ------------------------------------------------------------------------------------------


def pass_to_crm(
    ctx: SyncContext, name: str, *, full: bool = False, erp_ids: list[uuid.UUID] | None = None, force: bool = False
) -> uuid.UUID:
    """Run the ERP → CRM pass of mapping ``name``; returns its job id. ``erp_ids`` limits it to those records."""
    with ctx.sessions() as session, session.begin():
        mapping = _mapping(session, name)
        job_id = begin_job(session, name, TO)
        start = current_version(session.connection())
        watermark = 0 if full or erp_ids is not None else (mapping.erp_row_version_watermark or 0)
        retry = [] if erp_ids is not None else _retry_ids(session, mapping, TO)
    model = erp_model(mapping.erp_table)
    restore: list[uuid.UUID] = []

    def page(records_of, new_watermark: int | None = None, deletions: list[uuid.UUID] | None = None) -> None:
        with ctx.sessions() as session, session.begin():
            mapping = _mapping(session, name)
            if deletions is not None:
                result = erp_deletions(ctx, session, mapping, job_id, deletions)
            else:
                records = records_of(session)
                faults.reached("after_erp_read")
                result = send_page(ctx, session, mapping, job_id, records, full=full, force=force)
            restore.extend(result.restore_from_crm)
            write_page(session, job_id, result.log)
            if new_watermark is not None and erp_ids is None:
                mapping.erp_row_version_watermark = max(new_watermark, mapping.erp_row_version_watermark or 0)
            faults.reached("before_erp_commit")
        faults.reached("after_erp_commit")

    # (a) failed records first; couplings whose ERP record is gone are deletion conflicts
    if retry:
        ids = [c.erp_id for c in retry]
        for start_at in range(0, len(ids), ctx.page_size):
            chunk = ids[start_at : start_at + ctx.page_size]
            page(lambda s, chunk=chunk: list(s.scalars(select(model).where(model.id.in_(chunk)))))
            with ctx.sessions() as session:
                alive = set(session.scalars(select(model.id).where(model.id.in_(chunk))))
            if gone := [i for i in chunk if i not in alive]:
                page(None, deletions=gone)

    # (b) selected records, keyset pages: page N+1 is read and decided while page N's CRM write is in flight
    def decided(ids: list[uuid.UUID], last_version: int) -> _InFlight:
        session = ctx.sessions()
        try:
            with session.begin():  # reads only: deciding defers every ERP change to ``apply``
                mapping = _mapping(session, name)
                records = list(session.scalars(select(model).where(model.id.in_(ids))))
                faults.reached("after_erp_read")
                decided_page = decide_page(ctx, session, mapping, job_id, records, full=full, force=force)
        except BaseException:
            session.close()
            raise
        future = pool.submit(decided_page.send) if decided_page.writes else None
        return _InFlight(session, decided_page, future, last_version)

    def applied(page_in_flight: _InFlight) -> None:
        session, p = page_in_flight.session, page_in_flight.page
        try:
            sent = page_in_flight.future.result() if page_in_flight.future is not None else Sent()
            with session.begin():
                p.apply(sent)
                restore.extend(p.result.restore_from_crm)
                write_page(session, job_id, p.log)
                if erp_ids is None:
                    last = min(page_in_flight.last_version, start)
                    p.mapping.erp_row_version_watermark = max(last, p.mapping.erp_row_version_watermark or 0)
                faults.reached("before_erp_commit")
            faults.reached("after_erp_commit")
        finally:
            session.close()

    # up to two pages in flight at once (one page's read-back overlaps the next one's write); pages of matching
    # rules run one by one (no two claim one CRM row)
    depth = 0 if matches_crm(name) else 2
    with ThreadPoolExecutor(max_workers=depth or 1, thread_name_prefix="l2c-crm-send") as pool:
        in_flight: list[_InFlight] = []
        try:
            for ids, last_version in _erp_pages(ctx, mapping, model, watermark, start, erp_ids):
                in_flight.append(decided(ids, last_version))
                while len(in_flight) > depth:
                    applied(in_flight.pop(0))
            while in_flight:
                applied(in_flight.pop(0))
        finally:
            for left in in_flight:  # an earlier page failed: let the writes already sent finish, then stop
                if left.future is not None:
                    wait([left.future])
                left.session.close()
    # (c) deletions since the watermark
    if erp_ids is None:
        with ctx.sessions() as session:
            gone = list(
                session.scalars(
                    select(Tombstone.record_id).where(
                        Tombstone.table_name == mapping.erp_table,
                        Tombstone.row_version > watermark,
                        Tombstone.row_version <= start,
                    )
                )
            )
        for start_at in range(0, len(gone), ctx.page_size):
            page(None, deletions=gone[start_at : start_at + ctx.page_size])
    if restore:
        _restore_erp(ctx, name, restore)
    with ctx.sessions() as session, session.begin():
        if erp_ids is None:
            m = _mapping(session, name)
            m.erp_row_version_watermark = max(start, m.erp_row_version_watermark or 0)
        finish_job(session, job_id)
    faults.reached("after_watermark")
    return job_id


def _erp_pages(
    ctx: SyncContext, mapping: TableMapping, model, watermark: int, start: int, erp_ids
) -> Iterator[tuple[list[uuid.UUID], int]]:
    """Ids of the selected ERP records, a page at a time, keyset-ordered by (row_version, id), with the row
    version of the page's last record (the watermark once the page is committed)."""
    tree = mapping.erp_filter_tree()
    last: tuple[int, uuid.UUID] | None = None
    while True:
        with ctx.sessions() as session:
            stmt = select(model.id, model.row_version).where(model.row_version > watermark, model.row_version <= start)
            if tree is not None and erp_ids is None:
                stmt = stmt.where(filters.erp_condition(tree, model, session.bind.dialect.name))
            if erp_ids is not None:
                stmt = stmt.where(model.id.in_(erp_ids))
            if last is not None:
                stmt = stmt.where(
                    or_(model.row_version > last[0], and_(model.row_version == last[0], model.id > last[1]))
                )
            rows = session.execute(stmt.order_by(model.row_version, model.id).limit(ctx.page_size)).all()
        if not rows:
            return
        last = (rows[-1][1], rows[-1][0])
        yield [r[0] for r in rows], last[0]


def _restore_erp(ctx: SyncContext, name: str, crm_ids: list[uuid.UUID]) -> None:
    """Recreate deleted ERP records from their coupled CRM rows (deletion policy *Restore records*)."""
    with ctx.sessions() as session, session.begin():
        mapping = _mapping(session, name)
        job_id = begin_job(session, name, FROM)
        couplings = session.scalars(select(Coupling).where(Coupling.crm_entity == mapping.crm_entity,
                                                           Coupling.crm_id.in_(crm_ids)))  # fmt: skip
        for c in couplings:
            to_restore_erp(c)
        rows = list(crm_rows_by_id(ctx, mapping.crm_entity, crm_ids, crm_columns(ctx, mapping)).values())
        page = receive_page(ctx, session, mapping, job_id, rows, force=True, retry=True)
        write_page(session, job_id, page.log)
        finish_job(session, job_id)


# --- CRM -> ERP ------------------------------------------------------------------------------------------


def pass_from_crm(
    ctx: SyncContext, name: str, *, full: bool = False, crm_ids: list[uuid.UUID] | None = None, force: bool = False
) -> uuid.UUID:
    """Run the CRM → ERP pass of mapping ``name``; returns its job id. ``crm_ids`` limits it to those rows."""
    with ctx.sessions() as session, session.begin():
        mapping = _mapping(session, name)
        job_id = begin_job(session, name, FROM)
        retry = [] if crm_ids is not None else [c.crm_id for c in _retry_ids(session, mapping, FROM)]
        columns = crm_columns(ctx, mapping)
        delta = None if full else mapping.crm_delta_link
        since = None if full else mapping.crm_modified_watermark
    send_back: list[uuid.UUID] = []
    restore: list[uuid.UUID] = []

    def page(rows, deleted=(), *, delta_link=None, modified=None, retry_rows=False) -> None:
        faults.reached("after_crm_read")
        with ctx.sessions() as session, session.begin():
            mapping = _mapping(session, name)
            p = receive_page(ctx, session, mapping, job_id, rows, [uuid.UUID(str(d)) for d in deleted],
                             full=full, force=force, retry=retry_rows)  # fmt: skip
            send_back.extend(p.send_back)
            restore.extend(p.restore_to_crm)
            write_page(session, job_id, p.log)
            if delta_link is not None:
                mapping.crm_delta_link = delta_link
            if modified is not None:
                mapping.crm_modified_watermark = modified
            faults.reached("before_erp_commit")
        faults.reached("after_erp_commit")

    wanted = crm_ids if crm_ids is not None else retry
    if wanted:
        found = crm_rows_by_id(ctx, mapping.crm_entity, list(wanted), columns)
        page(list(found.values()), retry_rows=True)
    if crm_ids is None:
        entity = ctx.entity(mapping.crm_entity)
        if entity.change_tracking:
            _tracked(ctx, entity.entity_set, columns, delta, page)
        else:
            _by_modified_on(ctx, mapping, entity.entity_set, columns, since, page)
    if send_back or restore:
        erp_ids = list(dict.fromkeys(send_back + restore))
        with ctx.sessions() as session, session.begin():
            m = _mapping(session, name)
            for c in session.scalars(select(Coupling).where(Coupling.erp_table == m.erp_table,
                                                            Coupling.erp_id.in_(restore))):  # fmt: skip
                c.crm_id, c.crm_version = new_crm_id(m.erp_table, c.erp_id, c.crm_id), None
        pass_to_crm(ctx, name, erp_ids=erp_ids, force=True)
    with ctx.sessions() as session, session.begin():
        finish_job(session, job_id)
    faults.reached("after_watermark")
    return job_id


def _tracked(ctx: SyncContext, entity_set: str, columns: list[str], delta: str | None, page) -> None:
    try:
        for change in ctx.client.changes.pages(entity_set, select=columns, delta_link=delta, page_size=ctx.page_size):
            page(change.rows, change.deleted, delta_link=change.delta_link)
    except ChangeTrackingExpired:
        for change in ctx.client.changes.pages(entity_set, select=columns, page_size=ctx.page_size):
            page(change.rows, change.deleted, delta_link=change.delta_link)
    except ChangeTrackingNotEnabled:
        raise


def _by_modified_on(ctx, mapping: TableMapping, entity_set: str, columns: list[str], since: datetime | None, page):
    started = datetime.now().astimezone()
    tree = mapping.crm_filter_tree()
    parts = [filters.to_odata(tree)] if tree is not None else []
    if since is not None:
        parts.append(f"modifiedon ge {(since - OVERLAP).isoformat().replace('+00:00', 'Z')}")
    latest = since
    pages = ctx.client.pages(entity_set, select=columns, filter=" and ".join(parts) or None,
                             orderby=["modifiedon", odata_id(ctx, mapping)], page_size=ctx.page_size)  # fmt: skip
    for p in pages:  # one page in memory at a time; the watermark moves with the last page
        for row in p.rows:
            stamp = datetime.fromisoformat(str(row["modifiedon"]).replace("Z", "+00:00"))
            latest = stamp if latest is None or stamp > latest else latest
        last = p.next_link is None
        page(p.rows, modified=min(latest, started) if last and latest is not None else None)


def odata_id(ctx: SyncContext, mapping: TableMapping) -> str:
    return ctx.entity(mapping.crm_entity).id_attribute


__all__ = ["odata", "pass_from_crm", "pass_to_crm"]
