"""Per-record pieces shared by both passes: coupling bookkeeping, ERP writes, CRM reads by id.

``ErpWriter`` writes ERP records through the ERP's service layer (``erp.services.records``), so the ERP's own
validation runs on synchronized data exactly as on data typed by a user; every record is written inside
its own savepoint, so one refused record never takes its page down (R15). Couplings made here carry both
sides' versions and the snapshot of the canonical values just synchronized.
"""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy.orm import Session

from lead2cash.erp.errors import ErpError
from lead2cash.erp.services import records as erp_records
from lead2cash.integration.coupling_model import Coupling
from lead2cash.integration.dataverse import odata
from lead2cash.integration.engine.context import SyncContext
from lead2cash.integration.engine.transfer import TransferError
from lead2cash.integration.mapping.defaults import erp_model

#: namespace of the deterministic ids the engine gives new rows, so a repeated create finds its row
ID_NAMESPACE = uuid.UUID("5d1f6a52-3c0e-4f5b-9b8e-1c2a9e0d7f43")

NUMBER_SERIES = {
    "customer": "customer_nos",
    "contact": "contact_nos",
    "item": "item_nos",
    "resource": "resource_nos",
    "opportunity": "opportunity_nos",
}

BOOKKEEPING = ("versionnumber", "modifiedon", "_modifiedby_value")

#: ids per read by id: an ``In`` filter of 250 GUIDs makes a URL of about 11 KB, well under Dataverse's 32 KB
#: for a GET, and halves the requests (each costs the CRM more than the rows it returns) against 100
IDS_PER_READ = 250


def new_crm_id(erp_table: str, erp_id: uuid.UUID, generation: uuid.UUID | None = None) -> uuid.UUID:
    """The CRM GUID of the row created for an ERP record (restores use the deleted row's id as generation)."""
    return uuid.uuid5(ID_NAMESPACE, f"{erp_table}/{erp_id}/{generation or ''}")


#: the bits of a UUID that say its version and variant; a restore id keeps those of the deleted record's id
_VERSION_BITS = (0xF << 76) | (0x3 << 62)


def _restore_mask(crm_entity: str, crm_id: uuid.UUID) -> int:
    return uuid.uuid5(ID_NAMESPACE, f"restore/{crm_entity}/{crm_id}").int & ~_VERSION_BITS


def new_erp_id(crm_entity: str, crm_id: uuid.UUID, generation: uuid.UUID | None = None) -> uuid.UUID:
    """The SystemId of the ERP record created for a CRM row.

    A restore (deletion policy *Restore records*) passes the deleted record's id as ``generation``; the new
    id is that id masked with a key of the CRM row, so it differs from it (its tombstone stays a deletion)
    and still leads back to it (``restored_from``): the restore can read the deleted record's number from
    its tombstone even after a failed attempt, whichever pass made the id.
    """
    if generation is None:
        return uuid.uuid5(ID_NAMESPACE, f"{crm_entity}/{crm_id}/")
    return uuid.UUID(int=generation.int ^ _restore_mask(crm_entity, crm_id))


def restored_from(crm_entity: str, crm_id: uuid.UUID, erp_id: uuid.UUID) -> uuid.UUID:
    """The id of the deleted ERP record that ``erp_id`` restores (meaningful only when a tombstone has it)."""
    return uuid.UUID(int=erp_id.int ^ _restore_mask(crm_entity, crm_id))


def to_restore_erp(coupling: Coupling) -> None:
    """Point a coupling whose ERP record was deleted at the record its restore from the CRM row will create.

    The coupling stays (the same CRM row, its history); its ERP id becomes ``new_erp_id`` of the deleted one,
    so the CRM → ERP insert that follows reads the deleted record's number from its tombstone. A coupling
    already pointed there (its ERP version is unknown: a restore that failed, or a record never created) is
    left as it is, so asking twice never loses the way back to the tombstone.
    """
    if coupling.erp_row_version is not None:
        coupling.erp_id = new_erp_id(coupling.crm_entity, coupling.crm_id, coupling.erp_id)
        coupling.erp_row_version = None


def new_coupling(session: Session, erp_table: str, erp_id: uuid.UUID, crm_entity: str, crm_id: uuid.UUID) -> Coupling:
    coupling = Coupling(erp_table=erp_table, erp_id=erp_id, crm_entity=crm_entity, crm_id=crm_id, skipped=False)
    session.add(coupling)
    return coupling


def error_text(exc: BaseException) -> str:
    if isinstance(exc, ErpError):
        parts = [str(exc)]
        fix = getattr(exc, "fix", None)
        if fix and fix not in parts[0]:
            parts.append(fix)
        return " ".join(parts)
    return str(exc)


class ErpWriter:
    """Creates and changes ERP records of one table through the service layer, one savepoint each."""

    def __init__(self, session: Session, erp_table: str):
        self.session = session
        self.model = erp_model(erp_table)
        self.rtype = erp_records.RecordType(self.model, NUMBER_SERIES.get(erp_table))

    def create(self, values: dict[str, Any], erp_id: uuid.UUID) -> Any:
        try:
            with self.session.begin_nested():
                return erp_records.create(self.session, self.rtype, {**values, "id": erp_id})
        except (ErpError, ValueError) as exc:
            raise TransferError(error_text(exc)) from exc

    def create_many(self, items: list[tuple[dict[str, Any], uuid.UUID]]) -> list[Any]:
        """Create a page's new records at once (``erp.services.records.create_many``): per item the record,
        or the ``TransferError`` that refused it."""
        results = erp_records.create_many(self.session, self.rtype, [{**values, "id": i} for values, i in items])
        return [TransferError(error_text(r)) if isinstance(r, (ErpError, ValueError)) else r for r in results]

    def update(self, record: Any, changes: dict[str, Any]) -> Any:
        if not changes:
            return record
        try:
            with self.session.begin_nested():
                return erp_records.update(self.session, record, changes)
        except (ErpError, ValueError) as exc:
            self.session.refresh(record)
            raise TransferError(error_text(exc)) from exc


def crm_rows_by_id(ctx: SyncContext, crm_entity: str, ids: list[uuid.UUID], select: list[str]) -> dict[uuid.UUID, dict]:
    """Current CRM rows with these ids (absent = deleted), a few requests per page whatever its size."""
    entity = ctx.entity(crm_entity)
    found: dict[uuid.UUID, dict] = {}
    columns = sorted({entity.id_attribute, *select})
    for start in range(0, len(ids), IDS_PER_READ):
        chunk = [str(i) for i in ids[start : start + IDS_PER_READ]]
        for page in ctx.client.pages(
            entity.entity_set, select=columns, filter=odata.filter_in(entity.id_attribute, chunk)
        ):
            for row in page.rows:
                found[uuid.UUID(row[entity.id_attribute])] = row
    return found
