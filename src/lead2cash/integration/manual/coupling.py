"""Set up and delete couplings by hand (C1, C4), refusing couplings whose dependencies are missing (C6).

"Set up coupling" pairs one ERP record with a CRM row the user picks by id or by name, and can schedule a
synchronization of the pair right away in a chosen direction (a one-off background job, so the page
returns at once). Re-coupling a record to another row replaces its coupling; a row already coupled to
another record is refused with both records named. Deleting couplings — one, a selection or a whole
mapping — never deletes data on either side.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from lead2cash.erp.errors import Conflict, NotFound, ValidationFailed
from lead2cash.integration import couplings
from lead2cash.integration.coupling_model import Coupling
from lead2cash.integration.manual import crm as crm_side
from lead2cash.integration.manual.schedule import schedule_sync
from lead2cash.integration.mapping.defaults import erp_model
from lead2cash.integration.mapping.enums import Direction, MappingKind
from lead2cash.integration.mapping.model import TableMapping
from lead2cash.integration.option_couplings import uncouple_options


@dataclass
class CouplingResult:
    mapping: str
    erp_id: uuid.UUID
    erp_record: str
    crm_id: uuid.UUID
    crm_row: str
    replaced: uuid.UUID | None = None
    job_id: int | None = None

    def as_dict(self) -> dict:
        return {
            "mapping": self.mapping,
            "erp_id": str(self.erp_id),
            "erp_record": self.erp_record,
            "crm_id": str(self.crm_id),
            "crm_row": self.crm_row,
            "replaced_crm_id": str(self.replaced) if self.replaced else None,
            "sync_job_id": self.job_id,
        }


def record_mapping(session: Session, name: str) -> TableMapping:
    mapping = crm_side.get_mapping(session, name)
    if mapping.kind is not MappingKind.RECORD:
        raise ValidationFailed(
            f"{name} is an option mapping: its records are coupled to choices, not rows.",
            record=name,
            fix="Use match-based coupling for option mappings.",
        )
    return mapping


def erp_record(session: Session, mapping: TableMapping, erp_id: uuid.UUID):
    model = erp_model(mapping.erp_table)
    record = session.get(model, erp_id)
    if record is None:
        raise NotFound(
            f"There is no {model.label()} with id {erp_id}.", record=model.label(), fix="Pick an existing record."
        )
    return record


def check_dependencies(session: Session, mapping: TableMapping, records: list) -> None:
    """C6: a record can only be coupled when the records it refers to are coupled (the message names them)."""
    problems = couplings.missing_references(session, mapping, records)
    if problems:
        raise Conflict(
            " ".join(p.message for p in problems),
            record=mapping.name,
            fix="Couple or synchronize the named records first.",
        )


def set_up_coupling(
    session: Session,
    crm,
    mapping_name: str,
    erp_id: uuid.UUID,
    *,
    crm_id: uuid.UUID | None = None,
    crm_name: str | None = None,
    sync: Direction | None = None,
) -> CouplingResult:
    """Couple one ERP record to the CRM row picked by id or unique name (C1); optionally schedule a sync.

    ``sync`` is ``TO_CRM`` (send the ERP record), ``FROM_CRM`` (get the CRM row) or None (couple only); it
    must be a direction the mapping allows. The CRM is read before anything is written.
    """
    mapping = record_mapping(session, mapping_name)
    if sync is not None and (sync is Direction.BOTH or not mapping.direction.includes(sync)):
        raise ValidationFailed(
            f"{mapping.name} synchronizes {mapping.direction.value}; it cannot {sync.value}.",
            record=mapping.name,
            field="sync",
            fix="Choose a direction the mapping allows, or none.",
        )
    row = crm_side.find_row(crm, mapping, crm_id=crm_id, name=crm_name)
    t = crm_side.table(crm, mapping)
    target = crm_side.row_id(row, t)
    record = erp_record(session, mapping, erp_id)
    check_dependencies(session, mapping, [record])
    replaced = None
    current = couplings.by_erp_ids(session, mapping.erp_table, [erp_id]).get(erp_id)
    if current is not None and current.crm_id != target:
        replaced = current.crm_id
        couplings.uncouple_erp(session, mapping.erp_table, [erp_id])
        session.flush()
    try:
        couplings.couple(session, mapping.erp_table, erp_id, mapping.crm_entity, target)
    except couplings.CouplingError as exc:
        raise Conflict(str(exc), record=mapping.name, fix="Delete the other coupling first.") from exc
    result = CouplingResult(
        mapping.name, erp_id, f"{type(record).label()} {record.key_value}", target, crm_side.describe(row, t), replaced
    )
    if sync is not None:
        result.job_id = schedule_sync(session, mapping, sync, erp_ids=[erp_id])
    return result


def delete_couplings(
    session: Session, mapping_name: str, *, erp_ids: Iterable[uuid.UUID] | None = None, whole_mapping: bool = False
) -> int:
    """Delete the couplings of the given ERP records, or of the whole mapping (C4). Data stays on both sides."""
    mapping = crm_side.get_mapping(session, mapping_name)
    if whole_mapping:
        return couplings.uncouple_mapping(session, mapping)
    ids = list(erp_ids or [])
    if not ids:
        raise ValidationFailed(
            f"{mapping.name}: no records chosen.",
            record=mapping.name,
            field="erp_ids",
            fix="Choose the records to uncouple, or uncouple the whole mapping.",
        )
    if mapping.kind is MappingKind.OPTION:
        return uncouple_options(session, mapping.erp_table, ids)
    return couplings.uncouple_erp(session, mapping.erp_table, ids)


def delete_couplings_by_id(session: Session, coupling_ids: Iterable[int]) -> int:
    """Delete couplings by their own ids (the errors page works on coupling rows)."""
    rows = session.scalars(select(Coupling).where(Coupling.id.in_(list(coupling_ids)))).all()
    for row in rows:
        session.delete(row)
    session.flush()
    return len(rows)
