"""The *Coupled data synchronization errors* page (R15): couplings that need someone's attention.

Lists couplings that are skipped (the same error twice) or whose last attempt failed, with the last error,
the mapping, and whether each side still exists; and offers the page's actions: retry (un-skip, the next
scheduled run picks them up), retry all, synchronize (un-skip and queue a sync now), delete couplings,
restore records (recreate the missing side from the surviving one; a deleted ERP record comes back under its
old number, coupled to the same CRM row, as the engine's deletion policy restores it) and delete records
(delete the surviving side of a broken coupling). Existence is checked per page: one query per ERP table
and one CRM request per entity and chunk of ids.
"""

from __future__ import annotations

import uuid
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import and_, func, or_, select
from sqlalchemy.orm import Session

from lead2cash.erp.errors import ErpError, ValidationFailed
from lead2cash.erp.services import records as erp_records
from lead2cash.erp.services.records import decode_cursor, encode_cursor
from lead2cash.integration.coupling_model import Coupling
from lead2cash.integration.couplings import chunks
from lead2cash.integration.engine.record import to_restore_erp
from lead2cash.integration.manual.schedule import schedule_sync
from lead2cash.integration.mapping.defaults import erp_model
from lead2cash.integration.mapping.enums import Direction, SyncResult
from lead2cash.integration.mapping.model import TableMapping

CRM_CHUNK = 50  # ids per CRM existence request (keeps the URL short)


def _attention():
    failed = SyncResult.FAILURE
    return or_(Coupling.skipped.is_(True), Coupling.last_to_crm_result == failed,
               Coupling.last_from_crm_result == failed)  # fmt: skip


def mapping_for(session: Session, coupling: Coupling) -> TableMapping | None:
    return session.scalars(
        select(TableMapping).where(
            TableMapping.erp_table == coupling.erp_table,
            TableMapping.crm_entity == coupling.crm_entity,
            TableMapping.is_temporary.is_(False),
        )
    ).first()


def _erp_alive(session: Session, couplings: list[Coupling]) -> dict[uuid.UUID, str]:
    """ERP ids that still exist, with their description ("Customer 10000")."""
    alive: dict[uuid.UUID, str] = {}
    by_table: dict[str, list[uuid.UUID]] = defaultdict(list)
    for c in couplings:
        by_table[c.erp_table].append(c.erp_id)
    for table, ids in by_table.items():
        model = erp_model(table)
        key = getattr(model, model.__key__)
        for page in chunks(ids):
            for record_id, code in session.execute(select(model.id, key).where(model.id.in_(page))):
                alive[record_id] = f"{model.label()} {code}"
    return alive


def crm_alive(crm, rows: Iterable[tuple[str, uuid.UUID]]) -> set[uuid.UUID]:
    """Which of these (CRM entity, id) rows still exist: one request per entity and ``CRM_CHUNK`` ids."""
    alive: set[uuid.UUID] = set()
    by_entity: dict[str, list[uuid.UUID]] = defaultdict(list)
    for entity, crm_id in rows:
        by_entity[entity].append(crm_id)
    for entity, ids in by_entity.items():
        info = crm.metadata.table(entity)
        for page in chunks(ids, CRM_CHUNK):
            condition = " or ".join(f"{info.primary_id_attribute} eq {i}" for i in page)
            for row in crm.query(info.entity_set_name, select=[info.primary_id_attribute], filter=condition):
                alive.add(uuid.UUID(str(row[info.primary_id_attribute])))
    return alive


def _crm_alive(crm, couplings: list[Coupling]) -> set[uuid.UUID]:
    return crm_alive(crm, [(c.crm_entity, c.crm_id) for c in couplings])


def mark_crm_existence(crm, page: dict) -> dict:
    """Fill ``crm_exists`` of a page from ``list_errors(session)`` (for callers that closed the transaction)."""
    alive = crm_alive(crm, [(line["crm_entity"], uuid.UUID(line["crm_id"])) for line in page["lines"]])
    for line in page["lines"]:
        line["crm_exists"] = uuid.UUID(line["crm_id"]) in alive
    return page


def list_errors(
    session: Session, crm=None, *, mapping: str | None = None, limit: int = 100, after: str | None = None
) -> dict:
    """One page of couplings needing attention (skipped or failed), newest change first.

    Pages by key (``after`` = the ``next`` of the previous page), never by offset.

    With ``crm`` each line also says whether the CRM row still exists (``crm_exists``); without it that
    field is None.
    """
    stmt = select(Coupling).where(_attention())
    if mapping is not None:
        m = session.get(TableMapping, mapping)
        if m is None:
            raise ValidationFailed(f"There is no mapping {mapping!r}.", field="mapping", fix="Choose a mapping.")
        stmt = stmt.where(Coupling.erp_table == m.erp_table, Coupling.crm_entity == m.crm_entity)
    total = session.scalar(select(func.count()).select_from(stmt.subquery()))
    if after:
        last_at, last_id = decode_cursor(after)
        try:
            last_at, last_id = datetime.fromisoformat(last_at), int(last_id)
        except (TypeError, ValueError):
            raise ValidationFailed(
                "The paging cursor is not valid.",
                field="after",
                fix="Pass the 'next' value of the previous page unchanged.",
            ) from None
        stmt = stmt.where(
            or_(Coupling.modified_at < last_at, and_(Coupling.modified_at == last_at, Coupling.id < last_id))
        )
    rows = list(session.scalars(stmt.order_by(Coupling.modified_at.desc(), Coupling.id.desc()).limit(limit + 1)))
    next_cursor = None
    if len(rows) > limit:
        rows = rows[:limit]
        next_cursor = encode_cursor([rows[-1].modified_at.isoformat(), rows[-1].id])
    erp_alive = _erp_alive(session, rows)
    crm_alive = _crm_alive(crm, rows) if crm is not None else None
    names = {(m.erp_table, m.crm_entity): m.name for m in session.scalars(select(TableMapping))}
    lines = []
    for c in rows:
        lines.append({
            "coupling_id": c.id,
            "mapping": names.get((c.erp_table, c.crm_entity)),
            "erp_table": c.erp_table,
            "erp_id": str(c.erp_id),
            "erp_record": erp_alive.get(c.erp_id),
            "erp_exists": c.erp_id in erp_alive,
            "crm_entity": c.crm_entity,
            "crm_id": str(c.crm_id),
            "crm_exists": None if crm_alive is None else c.crm_id in crm_alive,
            "skipped": c.skipped,
            "pending": _pending(c),
            "last_to_crm_result": c.last_to_crm_result.value if c.last_to_crm_result else None,
            "last_from_crm_result": c.last_from_crm_result.value if c.last_from_crm_result else None,
            "last_error": c.last_error,
            "last_job_id": str(c.last_to_crm_job_id or c.last_from_crm_job_id or "") or None,
        })  # fmt: skip
    return {"total": total, "next": next_cursor, "lines": lines}


def _pending(c: Coupling) -> bool:
    """A failed first insert: the engine keeps a coupling to a counterpart that was never created."""
    return c.crm_version is None or c.erp_row_version is None


def _chosen(session: Session, coupling_ids: Iterable[int]) -> list[Coupling]:
    ids = list(dict.fromkeys(coupling_ids))
    if not ids:
        raise ValidationFailed("No couplings chosen.", field="coupling_ids", fix="Choose one or more lines.")
    found = []
    for page in chunks(ids):
        found += session.scalars(select(Coupling).where(Coupling.id.in_(page)))
    return found


def retry(session: Session, coupling_ids: Iterable[int]) -> int:
    """Clear *skipped*: the next scheduled run retries these couplings (they still show their failure)."""
    rows = _chosen(session, coupling_ids)
    for c in rows:
        c.skipped = False
    return len(rows)


def retry_all(session: Session, mapping: str | None = None) -> int:
    stmt = select(Coupling).where(Coupling.skipped.is_(True))
    if mapping is not None:
        m = session.get(TableMapping, mapping)
        stmt = stmt.where(Coupling.erp_table == m.erp_table, Coupling.crm_entity == m.crm_entity) if m else stmt
    rows = list(session.scalars(stmt))
    for c in rows:
        c.skipped = False
    return len(rows)


def _failed_direction(c: Coupling, mapping: TableMapping) -> Direction:
    if mapping.direction is not Direction.BOTH:
        return mapping.direction
    return Direction.FROM_CRM if c.last_from_crm_result is SyncResult.FAILURE else Direction.TO_CRM


@dataclass
class ActionReport:
    done: int = 0
    jobs: list[int] = field(default_factory=list)
    failed: list[str] = field(default_factory=list)

    def as_dict(self) -> dict:
        return {"done": self.done, "jobs": self.jobs, "failed": self.failed}


def synchronize(session: Session, coupling_ids: Iterable[int], direction: Direction | None = None) -> ActionReport:
    """Un-skip and queue a synchronization of the chosen couplings now (in the failed direction by default)."""
    report = ActionReport()
    groups: dict[tuple[str, Direction], list[uuid.UUID]] = defaultdict(list)
    mappings: dict[str, TableMapping] = {}
    for c in _chosen(session, coupling_ids):
        mapping = mapping_for(session, c)
        if mapping is None:
            report.failed.append(f"{c.erp_table} {c.erp_id}: no mapping synchronizes this table any more.")
            continue
        way = direction or _failed_direction(c, mapping)
        if not mapping.direction.includes(way) or way is Direction.BOTH:
            report.failed.append(f"{mapping.name} does not synchronize {way.value}.")
            continue
        c.skipped = False
        mappings[mapping.name] = mapping
        groups[(mapping.name, way)].append(c.erp_id)
        report.done += 1
    for (name, way), ids in groups.items():
        report.jobs.append(schedule_sync(session, mappings[name], way, erp_ids=ids))
    return report


def delete_couplings(session: Session, coupling_ids: Iterable[int]) -> int:
    rows = _chosen(session, coupling_ids)
    for c in rows:
        session.delete(c)
    session.flush()
    return len(rows)


def _broken(session: Session, crm, coupling_ids: Iterable[int]):
    rows = _chosen(session, coupling_ids)
    erp_alive, crm_alive = _erp_alive(session, rows), _crm_alive(crm, rows)
    return [(c, c.erp_id in erp_alive, c.crm_id in crm_alive) for c in rows]


def restore_records(session: Session, crm, coupling_ids: Iterable[int]) -> ActionReport:
    """For couplings whose counterpart is gone: recreate the missing side from the surviving one (queued).

    A deleted ERP record is restored the way the engine's deletion policy restores it: the coupling stays,
    pointed at the restored record's id (``engine.record.to_restore_erp``), and the queued CRM → ERP
    synchronization recreates the record under the number read from its tombstone. A deleted CRM row is
    created again from the ERP record under a new GUID, with a new coupling.
    """
    report = ActionReport()
    for c, erp_ok, crm_ok in _broken(session, crm, coupling_ids):
        mapping = mapping_for(session, c)
        if erp_ok == crm_ok or mapping is None:
            report.failed.append(f"{c.erp_table} {c.erp_id}: " + ("both sides exist." if erp_ok else
                                 "neither side exists." if mapping else "no mapping."))  # fmt: skip
            continue
        way = Direction.TO_CRM if erp_ok else Direction.FROM_CRM
        if not mapping.direction.includes(way):
            report.failed.append(f"{mapping.name} cannot recreate the missing side ({way.value}).")
            continue
        if erp_ok:  # a new CRM row (a new GUID) for the ERP record
            session.delete(c)
            session.flush()
            report.jobs.append(schedule_sync(session, mapping, way, only_coupled=False, erp_ids=[c.erp_id]))
        else:  # the ERP record comes back under its old number, coupled to the same CRM row (R14)
            to_restore_erp(c)
            c.skipped = False
            if c.last_to_crm_result is SyncResult.FAILURE:  # the deletion conflict this settles
                c.last_to_crm_result = None
            session.flush()
            report.jobs.append(schedule_sync(session, mapping, way, crm_ids=[c.crm_id]))
        report.done += 1
    return report


def delete_records(session: Session, crm, coupling_ids: Iterable[int]) -> ActionReport:
    """For couplings whose counterpart is gone: delete the surviving record and the coupling."""
    report = ActionReport()
    for c, erp_ok, crm_ok in _broken(session, crm, coupling_ids):
        if erp_ok and crm_ok:
            report.failed.append(f"{c.erp_table} {c.erp_id}: both sides exist; delete the coupling instead.")
            continue
        if (erp_ok and c.crm_version is None) or (crm_ok and c.erp_row_version is None):
            report.failed.append(f"{c.erp_table} {c.erp_id}: the other side was never created (its first "
                                 "synchronization failed); retry it or delete the coupling.")  # fmt: skip
            continue
        try:
            with session.begin_nested():
                if erp_ok:
                    erp_records.delete(session, session.get(erp_model(c.erp_table), c.erp_id))
                session.delete(c)
                session.flush()
        except ErpError as exc:
            report.failed.append(exc.message)
            continue
        if crm_ok:
            crm.delete(crm.metadata.table(c.crm_entity).entity_set_name, str(c.crm_id), missing_ok=True)
        report.done += 1
    return report
