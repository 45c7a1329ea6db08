"""Synchronize now (C3) and create in the CRM / in the ERP (C2): manual synchronization of chosen records.

*Synchronize now* works on coupled records only. For each one it compares the versions recorded at the
last synchronization with the current ones on both sides (ERP ``row_version``, CRM ``versionnumber``) and
recommends a direction: *send* when only the ERP record changed, *get* when only the CRM row changed,
*merge* (each side's changes go to the other) when neither or — on a bidirectional mapping — both changed;
when both changed, merging is not offered and a warning says which newer data would be overwritten.
Records whose destination changed since the last synchronization are left out unless the caller confirms
the overwrite; skipped couplings are left out (retry them on the errors page). The synchronization itself
is queued as one-off jobs run by the engine.

*Create in CRM* / *create in ERP* queue the engine to insert and couple records that have no counterpart:
already coupled records are left out, and a coupling whose counterpart was deleted is removed first.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from dataclasses import dataclass, field
from enum import StrEnum

from sqlalchemy import select
from sqlalchemy.orm import Session

from lead2cash.erp.errors import ValidationFailed
from lead2cash.integration import couplings
from lead2cash.integration.coupling_model import Coupling
from lead2cash.integration.manual import crm as crm_side
from lead2cash.integration.manual.coupling import record_mapping
from lead2cash.integration.manual.schedule import schedule_sync
from lead2cash.integration.manual.sync_errors import CRM_CHUNK
from lead2cash.integration.mapping.defaults import erp_model
from lead2cash.integration.mapping.enums import Direction


class Action(StrEnum):
    SEND = "send"  # send data update to the CRM
    GET = "get"  # get data update from the CRM
    MERGE = "merge"  # each side's changes to the other


@dataclass
class RecordState:
    erp_id: uuid.UUID
    record: str
    crm_id: uuid.UUID | None = None
    coupled: bool = False
    skipped: bool = False
    crm_exists: bool = True
    erp_changed: bool = False
    crm_changed: bool = False
    recommendation: Action | None = None
    offered: list[Action] = field(default_factory=list)
    warning: str | None = None

    def as_dict(self) -> dict:
        out = {k: (str(v) if isinstance(v, uuid.UUID) else v) for k, v in self.__dict__.items()}
        out["recommendation"] = self.recommendation.value if self.recommendation else None
        out["offered"] = [a.value for a in self.offered]
        return out


def _crm_versions(crm, mapping, ids: list[uuid.UUID]) -> dict[uuid.UUID, int]:
    t = crm_side.table(crm, mapping)
    found: dict[uuid.UUID, int] = {}
    for page in couplings.chunks(ids, CRM_CHUNK):
        condition = " or ".join(f"{t.id_attribute} eq {i}" for i in page)
        for row in crm.query(t.entity_set, select=[t.id_attribute, "versionnumber"], filter=condition):
            found[crm_side.row_id(row, t)] = int(row.get("versionnumber") or 0)
    return found


def assess(session: Session, crm, mapping_name: str, erp_ids: Iterable[uuid.UUID]) -> list[RecordState]:
    """What *synchronize now* would do for each record: changed sides, recommendation, offers, warning."""
    mapping = record_mapping(session, mapping_name)
    model = erp_model(mapping.erp_table)
    ids = list(dict.fromkeys(erp_ids))
    records = {}
    for page in couplings.chunks(ids):
        records.update((r.id, r) for r in session.scalars(select(model).where(model.id.in_(page))))
    pairs = couplings.by_erp_ids(session, mapping.erp_table, ids)
    versions = _crm_versions(crm, mapping, [c.crm_id for c in pairs.values()])
    out = []
    for erp_id in ids:
        record = records.get(erp_id)
        state = RecordState(erp_id, f"{model.label()} {record.key_value}" if record else f"{model.label()} {erp_id}")
        c = pairs.get(erp_id)
        if record is None or c is None:
            state.warning = "not coupled: use set up coupling or create in the CRM" if record else "no such record"
            out.append(state)
            continue
        state.crm_id, state.coupled, state.skipped = c.crm_id, True, c.skipped
        state.crm_exists = c.crm_id in versions
        state.erp_changed = c.erp_row_version is None or record.row_version > c.erp_row_version
        state.crm_changed = state.crm_exists and (c.crm_version is None or versions[c.crm_id] > c.crm_version)
        _recommend(state, mapping.direction)
        out.append(state)
    return out


def _recommend(s: RecordState, direction: Direction) -> None:
    if s.skipped:
        s.warning = "the coupling is marked as skipped: retry it on the synchronization errors page"
        return
    if not s.crm_exists:
        s.warning = "the coupled CRM row no longer exists: restore or delete it on the synchronization errors page"
        return
    if direction is Direction.TO_CRM:
        s.offered, s.recommendation = [Action.SEND], Action.SEND
        if s.crm_changed:
            s.warning = "the CRM row changed since the last synchronization; sending overwrites the newer data"
    elif direction is Direction.FROM_CRM:
        s.offered, s.recommendation = [Action.GET], Action.GET
        if s.erp_changed:
            s.warning = "the ERP record changed since the last synchronization; getting overwrites the newer data"
    elif s.erp_changed and s.crm_changed:
        s.offered, s.recommendation = [Action.SEND, Action.GET], Action.SEND
        s.warning = "both sides changed since the last synchronization; the side not chosen will be overwritten"
    else:
        s.offered = [Action.SEND, Action.GET, Action.MERGE]
        s.recommendation = Action.SEND if s.erp_changed else Action.GET if s.crm_changed else Action.MERGE


@dataclass
class Scheduled:
    scheduled: list[str] = field(default_factory=list)
    left_out: dict[str, str] = field(default_factory=dict)
    jobs: list[int] = field(default_factory=list)

    def as_dict(self) -> dict:
        return {"scheduled": self.scheduled, "left_out": self.left_out, "jobs": self.jobs}


def synchronize_now(
    session: Session, crm, mapping_name: str, erp_ids: Iterable[uuid.UUID], action: Action, *,
    overwrite_newer: bool = False,
) -> Scheduled:  # fmt: skip
    """Queue the synchronization of the chosen coupled records (see the module docstring for what is left out)."""
    mapping = record_mapping(session, mapping_name)
    result = Scheduled()
    send: list[uuid.UUID] = []
    get: list[uuid.UUID] = []
    for s in assess(session, crm, mapping_name, erp_ids):
        if action not in s.offered:
            result.left_out[str(s.erp_id)] = s.warning or f"{action.value} is not possible for {s.record}"
            continue
        way = action
        if action is Action.MERGE:
            way = Action.SEND if s.erp_changed else Action.GET if s.crm_changed else None
            if way is None:
                result.left_out[str(s.erp_id)] = "unchanged on both sides since the last synchronization"
                continue
        newer = s.crm_changed if way is Action.SEND else s.erp_changed
        if newer and action is not Action.MERGE and not overwrite_newer:
            result.left_out[str(s.erp_id)] = s.warning or "the destination has newer data"
            continue
        (send if way is Action.SEND else get).append(s.erp_id)
        result.scheduled.append(str(s.erp_id))
    if send:
        result.jobs.append(schedule_sync(session, mapping, Direction.TO_CRM, erp_ids=send))
    if get:
        result.jobs.append(schedule_sync(session, mapping, Direction.FROM_CRM, erp_ids=get))
    return result


def _drop_broken(session: Session, crm, mapping, pairs: dict[uuid.UUID, Coupling]) -> set[uuid.UUID]:
    """Delete couplings whose CRM row is gone; returns the ERP ids freed."""
    alive = set(_crm_versions(crm, mapping, [c.crm_id for c in pairs.values()]))
    broken = [c for c in pairs.values() if c.crm_id not in alive]
    for c in broken:
        session.delete(c)
    session.flush()
    return {c.erp_id for c in broken}


def create_in_crm(session: Session, crm, mapping_name: str, erp_ids: Iterable[uuid.UUID]) -> Scheduled:
    """Queue the creation (and coupling) in the CRM of the chosen ERP records that have no CRM row."""
    mapping = record_mapping(session, mapping_name)
    if not mapping.direction.includes(Direction.TO_CRM):
        raise ValidationFailed(f"{mapping.name} does not synchronize to the CRM.", record=mapping.name,
                               fix="Create the records in the CRM and get them from there.")  # fmt: skip
    ids = list(dict.fromkeys(erp_ids))
    pairs = couplings.by_erp_ids(session, mapping.erp_table, ids)
    freed = _drop_broken(session, crm, mapping, pairs)
    result = Scheduled()
    todo = []
    for erp_id in ids:
        if erp_id in pairs and erp_id not in freed:
            result.left_out[str(erp_id)] = "already coupled"
        else:
            todo.append(erp_id)
    if todo:
        result.jobs.append(schedule_sync(session, mapping, Direction.TO_CRM, erp_ids=todo, only_coupled=False))
        result.scheduled = [str(i) for i in todo]
    return result


def create_in_erp(session: Session, mapping_name: str, crm_ids: Iterable[uuid.UUID]) -> Scheduled:
    """Queue the creation (and coupling) in the ERP of the chosen uncoupled CRM rows (C2)."""
    mapping = record_mapping(session, mapping_name)
    if not mapping.direction.includes(Direction.FROM_CRM):
        raise ValidationFailed(f"{mapping.name} does not synchronize from the CRM.", record=mapping.name,
                               fix="Create the records in the ERP and send them.")  # fmt: skip
    ids = list(dict.fromkeys(crm_ids))
    pairs = couplings.by_crm_ids(session, mapping.crm_entity, ids)
    model = erp_model(mapping.erp_table)
    alive = set()
    for page in couplings.chunks([c.erp_id for c in pairs.values()]):
        alive |= set(session.scalars(select(model.id).where(model.id.in_(page))))
    result = Scheduled()
    todo = []
    for crm_id in ids:
        c = pairs.get(crm_id)
        if c is not None and c.erp_id in alive:
            result.left_out[str(crm_id)] = "already coupled"
            continue
        if c is not None:
            session.delete(c)
        todo.append(crm_id)
    session.flush()
    if todo:
        result.jobs.append(schedule_sync(session, mapping, Direction.FROM_CRM, crm_ids=todo, only_coupled=False))
        result.scheduled = [str(i) for i in todo]
    return result
