"""Couple, uncouple and look up couplings in bulk (the binder of the synchronization).

Every look-up is set-based: one query per page of ids (``WHERE erp_id IN (...)``), never one per record, so
the cost of a page does not depend on how many couplings exist. One-to-one is enforced twice: here, with a
message that names both records, and by the database's two unique constraints, which also settle a race
between two workers (the loser gets a ``CouplingError`` too, not a stray ``IntegrityError``).

Coupling never changes data on either side, and uncoupling never deletes data (C4). Before a record is
coupled or sent, ``missing_references`` names the couplings it depends on that do not exist yet (C6):
"Salesperson JR is not coupled to a CRM row (mapping SALESPEOPLE)".
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass

from sqlalchemy import delete, insert, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from lead2cash.integration.coupling_model import Coupling, OptionCoupling
from lead2cash.integration.mapping.defaults import erp_model
from lead2cash.integration.mapping.enums import Direction, FieldStatus, MappingKind
from lead2cash.integration.mapping.model import TableMapping

PAGE = 500

#: code fields that refer to a mapped table without a database foreign key (the sales code of a price
#: line is a customer no. or a price group code depending on its sales type)
CODE_REFERENCES: dict[tuple[str, str], tuple[str, str]] = {
    ("sales_price", "sales_code"): ("customer_price_group", "code"),
}


class CouplingError(ValueError):
    """A coupling that cannot be made or found; the message names the records involved."""


@dataclass(frozen=True)
class MissingCoupling:
    record: str  # the record that needs the coupling ("Customer 10000")
    field: str  # its field holding the reference
    table: str  # the referenced ERP table
    code: str  # the referenced record's key
    mapping: str | None  # the mapping that would couple it

    @property
    def message(self) -> str:
        target = erp_model(self.table).label()
        via = f" (mapping {self.mapping})" if self.mapping else ""
        return (
            f"{self.record}: {target} {self.code} ({self.field}) is not coupled to a CRM row{via}. "
            f"Couple or synchronize it first."
        )


def chunks(values: Iterable, size: int = PAGE) -> Iterator[list]:
    page: list = []
    for value in values:
        page.append(value)
        if len(page) == size:
            yield page
            page = []
    if page:
        yield page


def _describe(erp_table: str, erp_id: uuid.UUID, session: Session) -> str:
    model = erp_model(erp_table)
    record = session.get(model, erp_id)
    return f"{model.label()} {record.key_value}" if record is not None else f"{model.label()} {erp_id}"


# --- look-ups --------------------------------------------------------------------------------------------


def by_erp_ids(session: Session, erp_table: str, erp_ids: Iterable[uuid.UUID]) -> dict[uuid.UUID, Coupling]:
    """Couplings of the given ERP records, keyed by ERP id (uncoupled ids are absent)."""
    found: dict[uuid.UUID, Coupling] = {}
    for page in chunks(set(erp_ids)):
        rows = session.scalars(select(Coupling).where(Coupling.erp_table == erp_table, Coupling.erp_id.in_(page)))
        found.update((c.erp_id, c) for c in rows)
    return found


def by_crm_ids(session: Session, crm_entity: str, crm_ids: Iterable[uuid.UUID]) -> dict[uuid.UUID, Coupling]:
    """Couplings of the given CRM rows, keyed by CRM id (uncoupled ids are absent)."""
    found: dict[uuid.UUID, Coupling] = {}
    for page in chunks(set(crm_ids)):
        rows = session.scalars(select(Coupling).where(Coupling.crm_entity == crm_entity, Coupling.crm_id.in_(page)))
        found.update((c.crm_id, c) for c in rows)
    return found


def crm_ids_for_codes(session: Session, erp_table: str, key_field: str, codes: Iterable[str]) -> dict[str, uuid.UUID]:
    """CRM ids coupled to the ERP records with these codes (``salesperson.code`` → systemuserid)."""
    model = erp_model(erp_table)
    key = getattr(model, key_field)
    found: dict[str, uuid.UUID] = {}
    for page in chunks({c for c in codes if c}):
        rows = session.execute(
            select(key, Coupling.crm_id)
            .join(Coupling, (Coupling.erp_id == model.id) & (Coupling.erp_table == erp_table))
            .where(key.in_(page))
        )
        found.update((code, crm_id) for code, crm_id in rows)
    return found


def codes_for_crm_ids(
    session: Session, erp_table: str, key_field: str, crm_entity: str, crm_ids: Iterable[uuid.UUID]
) -> dict[uuid.UUID, str]:
    """The reverse: ERP codes of the records coupled to these CRM rows."""
    model = erp_model(erp_table)
    key = getattr(model, key_field)
    found: dict[uuid.UUID, str] = {}
    for page in chunks(set(crm_ids)):
        rows = session.execute(
            select(Coupling.crm_id, key)
            .join(model, model.id == Coupling.erp_id)
            .where(Coupling.erp_table == erp_table, Coupling.crm_entity == crm_entity, Coupling.crm_id.in_(page))
        )
        found.update((crm_id, code) for crm_id, code in rows)
    return found


# --- couple / uncouple -----------------------------------------------------------------------------------


def _drop_stale(session: Session, couplings: list[Coupling]) -> set[uuid.UUID]:
    """Delete couplings whose ERP record no longer exists; returns their CRM ids (now free)."""
    freed: set[uuid.UUID] = set()
    for table in {c.erp_table for c in couplings}:
        model = erp_model(table)
        ids = [c.erp_id for c in couplings if c.erp_table == table]
        alive = set()
        for page in chunks(ids):
            alive |= set(session.scalars(select(model.id).where(model.id.in_(page))))
        for coupling in couplings:
            if coupling.erp_table == table and coupling.erp_id not in alive:
                session.delete(coupling)
                freed.add(coupling.crm_id)
    session.flush()
    return freed


def _refuse_taken(session: Session, erp_table: str, crm_entity: str, pairs: Sequence[tuple[uuid.UUID, uuid.UUID]]):
    erp_taken = by_erp_ids(session, erp_table, [e for e, _ in pairs])
    crm_taken = by_crm_ids(session, crm_entity, [c for _, c in pairs])
    wanted_erp = {crm_id: erp_id for erp_id, crm_id in pairs}
    # a coupling left behind by a deleted ERP record does not block its CRM row (it is removed first)
    elsewhere = [c for c in crm_taken.values() if wanted_erp.get(c.crm_id) != c.erp_id]
    for crm_id in _drop_stale(session, elsewhere) if elsewhere else ():
        del crm_taken[crm_id]
    wanted = set(pairs)
    problems: list[str] = []
    for erp_id, crm_id in pairs:
        mine = erp_taken.get(erp_id)
        if mine is not None and mine.crm_id != crm_id:
            problems.append(
                f"{_describe(erp_table, erp_id, session)} is already coupled to {crm_entity} {mine.crm_id}."
            )
        theirs = crm_taken.get(crm_id)
        if theirs is not None and theirs.erp_id != erp_id:
            problems.append(
                f"{crm_entity} {crm_id} is already coupled to {_describe(theirs.erp_table, theirs.erp_id, session)}."
            )
    seen_erp: dict[uuid.UUID, uuid.UUID] = {}
    seen_crm: dict[uuid.UUID, uuid.UUID] = {}
    for erp_id, crm_id in wanted:
        if seen_erp.setdefault(erp_id, crm_id) != crm_id or seen_crm.setdefault(crm_id, erp_id) != erp_id:
            problems.append(
                f"{_describe(erp_table, erp_id, session)} / {crm_entity} {crm_id}: coupled twice in one request."
            )
    if problems:
        raise CouplingError(" ".join(sorted(set(problems))))
    return erp_taken


def couple_many(
    session: Session, erp_table: str, crm_entity: str, pairs: Iterable[tuple[uuid.UUID, uuid.UUID]]
) -> list[Coupling]:
    """Couple ERP records to CRM rows, all or none. Pairs already coupled to each other are kept as they are.

    Raises ``CouplingError`` naming every record that is coupled elsewhere; a concurrent coupling that wins
    the race is reported the same way (the database refuses the second one).
    """
    pairs = list(dict.fromkeys(pairs))
    existing = _refuse_taken(session, erp_table, crm_entity, pairs)
    model = erp_model(erp_table)
    missing_records = set()
    for page in chunks({e for e, _ in pairs}):
        present = set(session.scalars(select(model.id).where(model.id.in_(page))))
        missing_records |= set(page) - present
    if missing_records:
        listed = ", ".join(sorted(map(str, missing_records))[:5])
        raise CouplingError(f"no {model.label()} with id {listed}: only existing records can be coupled.")
    new = [
        {"erp_table": erp_table, "erp_id": e, "crm_entity": crm_entity, "crm_id": c}
        for e, c in pairs
        if e not in existing
    ]
    if new:
        try:
            with session.begin_nested():
                session.execute(insert(Coupling), new)  # one executemany, not one INSERT per coupling
        except IntegrityError as exc:
            raise CouplingError(
                f"another coupling of these {model.label()} records or {crm_entity} rows was made at the same "
                "time; refresh and try again."
            ) from exc
    made = by_erp_ids(session, erp_table, [row["erp_id"] for row in new]) if new else {}
    return [existing.get(e) or made[e] for e, _ in pairs]


def couple(session: Session, erp_table: str, erp_id: uuid.UUID, crm_entity: str, crm_id: uuid.UUID) -> Coupling:
    """Couple one ERP record to one CRM row (C1)."""
    return couple_many(session, erp_table, crm_entity, [(erp_id, crm_id)])[0]


def uncouple_erp(session: Session, erp_table: str, erp_ids: Iterable[uuid.UUID]) -> int:
    """Delete the couplings of these ERP records (their data stays). Returns how many were deleted."""
    count = 0
    for page in chunks(set(erp_ids)):
        result = session.execute(delete(Coupling).where(Coupling.erp_table == erp_table, Coupling.erp_id.in_(page)))
        count += result.rowcount
    return count


def uncouple_crm(session: Session, crm_entity: str, crm_ids: Iterable[uuid.UUID]) -> int:
    """Delete the couplings of these CRM rows (their data stays)."""
    count = 0
    for page in chunks(set(crm_ids)):
        result = session.execute(delete(Coupling).where(Coupling.crm_entity == crm_entity, Coupling.crm_id.in_(page)))
        count += result.rowcount
    return count


def uncouple_mapping(session: Session, mapping: TableMapping) -> int:
    """Delete every coupling of a mapping (option couplings for an option mapping)."""
    if mapping.kind is MappingKind.OPTION:
        stmt = delete(OptionCoupling).where(OptionCoupling.erp_table == mapping.erp_table)
    else:
        stmt = delete(Coupling).where(
            Coupling.erp_table == mapping.erp_table, Coupling.crm_entity == mapping.crm_entity
        )
    return session.execute(stmt).rowcount


# --- dependencies (C6) -----------------------------------------------------------------------------------


def _reference_target(erp_table: str, field: str) -> tuple[str, str] | None:
    if (erp_table, field) in CODE_REFERENCES:
        return CODE_REFERENCES[(erp_table, field)]
    column = erp_model(erp_table).__table__.columns.get(field)
    for fk in column.foreign_keys if column is not None else ():
        return fk.column.table.name, fk.column.name
    return None


def missing_references(session: Session, mapping: TableMapping, records: Sequence) -> list[MissingCoupling]:
    """References of ``records`` (ERP rows of ``mapping``) to mapped tables whose records are not coupled.

    Looks at the enabled field rows that send an ERP reference to the CRM (and may not be cleared on
    failure): the referenced record must be coupled. Codes of option mappings (payment terms …) never
    block: a code without a CRM option is left blank in the CRM (M14). One query per referenced table and
    page, whatever the number of records.
    """
    mapped = {m.erp_table: m for m in session.scalars(select(TableMapping).where(TableMapping.is_temporary.is_(False)))}
    problems: list[MissingCoupling] = []
    for row in mapping.field_mappings:
        if row.status is not FieldStatus.ENABLED or row.erp_field is None or row.crm_attribute is None:
            continue
        if not row.direction.includes(Direction.TO_CRM) or row.clear_value_on_failed_sync:
            continue
        target = _reference_target(mapping.erp_table, row.erp_field)
        if target is None or target[0] not in mapped or mapped[target[0]].kind is MappingKind.OPTION:
            continue
        table, key = target
        wanted = {getattr(r, row.erp_field) for r in records} - {None, ""}
        coupled = set(crm_ids_for_codes(session, table, key, wanted))
        for record in records:
            code = getattr(record, row.erp_field)
            if code and code not in coupled:
                label = f"{type(record).label()} {record.key_value}"
                problems.append(MissingCoupling(label, row.erp_field, table, code, mapped[table].name))
    return problems


def require_references(session: Session, mapping: TableMapping, records: Sequence) -> None:
    """Raise ``CouplingError`` naming every missing coupling ``records`` depend on."""
    problems = missing_references(session, mapping, records)
    if problems:
        raise CouplingError(" ".join(p.message for p in problems))
