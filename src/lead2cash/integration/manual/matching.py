"""Match-based coupling (C5): couple uncoupled records in bulk to CRM rows with the same field values.

The criteria are the mapping's field rows flagged *use for matching*, grouped by *match priority* (0 first),
each compared case-insensitively unless flagged *case-sensitive*. A record is coupled only on a **unique**
match at some priority: no row, several rows, or a row already coupled make it try the next priority. A
blank ERP value never matches; it is left out of its priority's criteria.

Set-based on both sides: the CRM table (in the mapping's filter) is read once, a page at a time, into an
in-memory index of the compared values; the ERP records are read in keyset pages, and each page costs a
fixed number of queries (lookup conversion, dependency check, couplings) whatever its size. Option
mappings match the ERP code against the labels of the CRM choice column.
"""

from __future__ import annotations

import uuid
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from typing import Any

from sqlalchemy import exists, select
from sqlalchemy.orm import Session, sessionmaker

from lead2cash.db import transaction
from lead2cash.erp.errors import Conflict, ValidationFailed
from lead2cash.integration import couplings
from lead2cash.integration.coupling_model import Coupling, OptionCoupling
from lead2cash.integration.manual import crm as crm_side
from lead2cash.integration.manual import joblog
from lead2cash.integration.manual.schedule import schedule_sync
from lead2cash.integration.mapping import filters
from lead2cash.integration.mapping.defaults import erp_model
from lead2cash.integration.mapping.enums import Direction, FieldStatus, MappingKind, UpdateConflict
from lead2cash.integration.mapping.model import FieldMapping, TableMapping
from lead2cash.integration.option_couplings import Choice, couple_option, primary_option_set
from lead2cash.integration.synclog import SyncJob

PAGE = 500


@dataclass
class MatchReport:
    mapping: str
    job_id: uuid.UUID | None = None
    coupled: int = 0
    unmatched: int = 0
    failed: int = 0
    #: option mappings: codes left uncoupled because the CRM has no choice with their label (M14), not failures
    skipped: int = 0
    create_job_id: int | None = None
    sync_job_id: int | None = None
    messages: list[str] = field(default_factory=list)
    #: with ``schedule=False``: what the caller should create in the CRM and synchronize (and which way)
    to_create: list[uuid.UUID] = field(default_factory=list)
    to_sync: list[uuid.UUID] = field(default_factory=list)
    sync_direction: Direction | None = None

    def as_dict(self) -> dict:
        keep = ("mapping", "job_id", "coupled", "unmatched", "failed", "skipped", "create_job_id", "sync_job_id",
                "messages")  # fmt: skip
        return {k: (str(v) if isinstance(v, uuid.UUID) else v) for k, v in self.__dict__.items() if k in keep}


def criteria(mapping: TableMapping) -> list[FieldMapping]:
    rows = [
        r
        for r in mapping.field_mappings
        if r.use_for_matching and r.status is FieldStatus.ENABLED and r.erp_field and r.crm_attribute
    ]
    if not rows:
        raise ValidationFailed(
            f"{mapping.name} has no field marked for match-based coupling.",
            record=mapping.name,
            fix="Mark the fields to match on (use for matching, priority, case sensitivity).",
        )
    return rows


def _norm(value: Any, case_sensitive: bool) -> str | None:
    if value is None:
        return None
    if isinstance(value, bool):
        return str(value)
    if isinstance(value, (int, float, Decimal)):
        try:
            return str(Decimal(str(value)).normalize())
        except InvalidOperation:
            return str(value)
    text = str(value).strip()
    if not text:
        return None
    return text if case_sensitive else text.casefold()


def _crm_property(row: FieldMapping) -> str:
    return f"_{row.crm_attribute}_value" if row.crm_lookup_target else row.crm_attribute


class _Index:
    """The CRM side's compared values; per criteria subset a dict from value tuple to matching row ids."""

    def __init__(self, rows: list[FieldMapping]):
        self.rows = rows
        self.values: list[tuple[uuid.UUID, tuple]] = []
        self._by_subset: dict[tuple[int, ...], dict[tuple, list[uuid.UUID]]] = {}

    def add(self, crm_id: uuid.UUID, record: dict) -> None:
        vals = tuple(_norm(record.get(_crm_property(r)), r.case_sensitive_matching) for r in self.rows)
        self.values.append((crm_id, vals))

    def lookup(self, positions: tuple[int, ...], key: tuple) -> list[uuid.UUID]:
        index = self._by_subset.get(positions)
        if index is None:
            index = defaultdict(list)
            for crm_id, vals in self.values:
                picked = tuple(vals[p] for p in positions)
                if None not in picked:
                    index[picked].append(crm_id)
            self._by_subset[positions] = index
        return index.get(key, [])


def _erp_values(session: Session, mapping: TableMapping, rows: list[FieldMapping], records: list) -> list[tuple]:
    """Each record's compared values, lookups converted to the coupled CRM ids (one query per lookup row)."""
    converted: dict[int, dict[str, uuid.UUID]] = {}
    for i, row in enumerate(rows):
        if row.crm_lookup_target:
            target = couplings._reference_target(mapping.erp_table, row.erp_field)
            codes = {getattr(r, row.erp_field) for r in records}
            converted[i] = couplings.crm_ids_for_codes(session, target[0], target[1], codes) if target else {}
    out = []
    for record in records:
        vals = []
        for i, row in enumerate(rows):
            value = getattr(record, row.erp_field)
            if i in converted:
                value = converted[i].get(value) if value else None
            vals.append(_norm(value, row.case_sensitive_matching))
        out.append(tuple(vals))
    return out


def _uncoupled_pages(session: Session, mapping: TableMapping, erp_ids: list[uuid.UUID] | None):
    model = erp_model(mapping.erp_table)
    coupled = exists().where(Coupling.erp_table == mapping.erp_table, Coupling.erp_id == model.id)
    stmt = select(model).where(~coupled).order_by(model.id).limit(PAGE)
    tree = mapping.erp_filter_tree()
    if tree is not None:
        stmt = stmt.where(filters.erp_condition(tree, model, session.get_bind().dialect.name))
    if erp_ids is not None:
        for page in couplings.chunks(sorted(set(erp_ids))):
            yield list(session.scalars(stmt.where(model.id.in_(page)).limit(None)))
        return
    last = None
    while True:
        page = list(session.scalars(stmt if last is None else stmt.where(model.id > last)))
        if not page:
            return
        yield page
        last = page[-1].id


@dataclass
class CrmSide:
    """What match-based coupling needs from the CRM, read before any ERP transaction is opened."""

    rows: list[FieldMapping] | None = None  # record mappings: the criteria the index was built with
    index: _Index | None = None
    choices: dict[str | None, list[Choice]] | None = None  # option mappings: choices by normalized label


def read_crm(crm, mapping: TableMapping) -> CrmSide:
    """Read the mapping's CRM rows (or choices) into memory, a page per request; no database access."""
    if mapping.kind is MappingKind.OPTION:
        target = primary_option_set(mapping)
        case_sensitive = any(r.case_sensitive_matching for r in mapping.field_mappings if r.use_for_matching)
        by_label: dict[str | None, list[Choice]] = defaultdict(list)
        for choice in option_choices(crm, target.crm_entity, target.crm_attribute):
            by_label[_norm(choice.label, case_sensitive)].append(choice)
        return CrmSide(choices=by_label)
    rows = criteria(mapping)
    t = crm_side.table(crm, mapping)
    index = _Index(rows)
    for page in crm_side.iter_rows(crm, mapping, [_crm_property(r) for r in rows]):
        for record in page:
            index.add(crm_side.row_id(record, t), record)
    return CrmSide(rows=rows, index=index)


def match_in_steps(sessions: sessionmaker[Session], crm, mapping_name: str, **options) -> MatchReport:
    """``match_based_coupling`` without holding a database transaction while the CRM is read.

    The mapping is read in a short transaction, the CRM side with none open, and the coupling is done in
    a transaction of its own: a long CRM read never blocks the database's other writers.
    """
    with transaction(sessions) as session:
        mapping = crm_side.get_mapping(session, mapping_name)
        if mapping.kind is MappingKind.RECORD:
            criteria(mapping)
        # load the rows read_crm uses once the transaction is over (sessions keep loaded state on commit)
        for _ in (*mapping.field_mappings, *mapping.option_mappings):
            pass
    side = read_crm(crm, mapping)
    with transaction(sessions) as session:
        return couple_matches(session, mapping_name, side, **options)


def match_based_coupling(session: Session, crm, mapping_name: str, **options) -> MatchReport:
    """Couple the uncoupled records of a mapping (or the chosen ones) on a unique match; see the module doc.

    Options as for ``couple_matches``. Reads the CRM inside the caller's transaction; background jobs and
    the API use ``match_in_steps`` instead.
    """
    side = read_crm(crm, crm_side.get_mapping(session, mapping_name))
    return couple_matches(session, mapping_name, side, **options)


def couple_matches(
    session: Session,
    mapping_name: str,
    side: CrmSide,
    *,
    erp_ids: Iterable[uuid.UUID] | None = None,
    create_new: bool | None = None,
    sync_after: bool | None = None,
    run_id: uuid.UUID | None = None,
    schedule: bool = True,
) -> MatchReport:
    """Couple on the CRM side read by ``read_crm``: the ERP half of match-based coupling.

    ``create_new`` / ``sync_after`` default to the mapping's *create new in case of no match* and *synch.
    after bulk coupling*. Results go to a coupling job in the synchronization log. The creation and the
    synchronization are queued as one-off jobs; ``schedule=False`` leaves them to the caller instead
    (``to_create`` / ``to_sync`` of the report), for a background job that runs them itself.
    """
    mapping = crm_side.get_mapping(session, mapping_name)
    create_new = mapping.create_new_if_no_match if create_new is None else create_new
    sync_after = mapping.sync_after_bulk_coupling if sync_after is None else sync_after
    report = MatchReport(mapping.name)
    job = joblog.start(session, mapping.name, run_id=run_id)
    report.job_id = job.id
    if mapping.kind is MappingKind.OPTION:
        _match_options(session, side, mapping, report, erp_ids, job)
        joblog.finish(job, coupled=report.coupled, failed=report.failed, skipped=report.skipped)
        return report
    rows = criteria(mapping)
    if [r.id for r in rows] != [r.id for r in side.rows or []]:
        raise Conflict(f"{mapping.name}: the matching criteria changed while the CRM was read.",
                       record=mapping.name, fix="Run the match-based coupling again.")  # fmt: skip
    index = side.index
    priorities = sorted({r.match_priority for r in rows})
    unmatched: list[uuid.UUID] = []
    newly: list[uuid.UUID] = []
    taken: set[uuid.UUID] = set()
    for records in _uncoupled_pages(session, mapping, list(erp_ids) if erp_ids is not None else None):
        blocked = {}
        for problem in couplings.missing_references(session, mapping, records):
            blocked.setdefault(problem.record, []).append(problem.message)
        values = _erp_values(session, mapping, rows, records)
        candidates: list[list[uuid.UUID]] = []
        for vals in values:
            per_priority = []
            for p in priorities:
                positions = tuple(i for i, r in enumerate(rows) if r.match_priority == p and vals[i] is not None)
                if not positions:
                    continue
                hits = index.lookup(positions, tuple(vals[i] for i in positions))
                if len(hits) == 1:
                    per_priority.append(hits[0])
            candidates.append(per_priority)
        already = couplings.by_crm_ids(session, mapping.crm_entity, {c for cs in candidates for c in cs})
        pairs = []
        for record, cands in zip(records, candidates, strict=True):
            label = f"{type(record).label()} {record.key_value}"
            if label in blocked:
                report.failed += 1
                joblog.error(job, label, record.id, " ".join(blocked[label]))
                continue
            chosen = next((c for c in cands if c not in already and c not in taken), None)
            if chosen is None:
                unmatched.append(record.id)
                continue
            taken.add(chosen)
            pairs.append((record.id, chosen))
        if pairs:
            couplings.couple_many(session, mapping.erp_table, mapping.crm_entity, pairs)
            newly += [e for e, _ in pairs]
            report.coupled += len(pairs)
    report.unmatched = len(unmatched)
    if unmatched:
        if create_new and mapping.name != "SALESPEOPLE" and mapping.direction.includes(Direction.TO_CRM):
            report.to_create = unmatched
            if schedule:
                report.create_job_id = schedule_sync(
                    session, mapping, Direction.TO_CRM, erp_ids=unmatched, only_coupled=False
                )
            report.messages.append(f"{len(unmatched)} records without a unique match will be created in the CRM.")
        else:
            report.failed += len(unmatched)
            message = (
                f"Could not find a unique match in the CRM for {len(unmatched)} "
                f"{erp_model(mapping.erp_table).label()} records."
            )
            report.messages.append(message)
            joblog.error(job, mapping.name, None, message, detail=", ".join(map(str, unmatched[:50])))
    if sync_after and newly:
        report.to_sync, report.sync_direction = newly, _sync_direction(mapping)
        if schedule:
            report.sync_job_id = schedule_sync(session, mapping, report.sync_direction, erp_ids=newly)
    joblog.finish(job, coupled=report.coupled, failed=report.failed)
    return report


def _sync_direction(mapping: TableMapping) -> Direction:
    if mapping.direction is Direction.BOTH:
        return Direction.FROM_CRM if mapping.update_conflict is UpdateConflict.GET_FROM_CRM else Direction.TO_CRM
    return mapping.direction


def option_choices(crm, entity: str, attribute: str) -> list[Choice]:
    """The choices of a CRM choice column (value and user-localized label), from the metadata."""
    path = f"EntityDefinitions(LogicalName='{entity}')/Attributes/Microsoft.Dynamics.CRM.PicklistAttributeMetadata"
    out: list[Choice] = []
    for page in crm.pages(path, select=["LogicalName"], filter=f"LogicalName eq '{attribute}'", expand="OptionSet"):
        for attr in page.rows:
            for option in (attr.get("OptionSet") or {}).get("Options") or []:
                label = ((option.get("Label") or {}).get("UserLocalizedLabel") or {}).get("Label") or ""
                out.append(Choice(int(option["Value"]), label))
    return out


def _match_options(
    session: Session, side: CrmSide, mapping: TableMapping, report: MatchReport, erp_ids, job: SyncJob
) -> None:
    """Couple each uncoupled code to the one free choice with its label (M14: no option is created).

    A code the CRM has no choice for is *skipped*, not failed: it is no error of the run, customers using it
    are synchronized with the choice blank, and it is coupled by the first run after a choice gets its label.
    The job's message names each such code and that fix. A label that several free choices carry, or whose
    only choice is coupled to another code, is a failure with an error row: only a person can pick.
    """
    target = primary_option_set(mapping)
    column = f"{target.crm_entity}.{target.crm_attribute}"
    case_sensitive = any(r.case_sensitive_matching for r in mapping.field_mappings if r.use_for_matching)
    by_label = side.choices or {}
    model = erp_model(mapping.erp_table)
    done = exists().where(OptionCoupling.erp_table == mapping.erp_table, OptionCoupling.erp_id == model.id)
    stmt = select(model).where(~done).order_by(model.id)
    if erp_ids is not None:
        stmt = stmt.where(model.id.in_(list(erp_ids)))
    taken = set(
        session.scalars(
            select(OptionCoupling.option_value).where(
                OptionCoupling.crm_entity == target.crm_entity, OptionCoupling.crm_attribute == target.crm_attribute
            )
        )
    )
    notes: list[str] = []
    for record in session.scalars(stmt):
        code, label = record.key_value, f"{model.label()} {record.key_value}"
        labelled = by_label.get(_norm(code, case_sensitive), [])
        hits = [c for c in labelled if c.value not in taken]
        if len(hits) == 1:
            couple_option(session, mapping, record.id, hits[0])
            taken.add(hits[0].value)
            report.coupled += 1
            continue
        report.unmatched += 1
        if not labelled:
            report.skipped += 1
            notes.append(
                f"{label} has no choice labelled {code} in {column}: not coupled, and the choice is left blank on "
                f"the records that use it (M14). To couple it, give the choice the label {code} in the CRM and "
                f"run the {mapping.name} mapping."
            )
            continue
        report.failed += 1
        if hits:
            message = (f"{label}: {len(hits)} choices of {column} are labelled {code} "
                       f"({', '.join(str(c.value) for c in hits)}). Keep one label {code} in the CRM, then run the "
                       f"{mapping.name} mapping.")  # fmt: skip
        else:
            message = (f"{label}: the choice labelled {code} in {column} is already coupled to another code. "
                       f"Relabel one of them in the CRM, or delete the other coupling, then run the {mapping.name} "
                       "mapping.")  # fmt: skip
        joblog.error(job, label, record.id, message)
        report.messages.append(message)
    report.messages += notes
    job.message = "\n".join(notes)
