"""The CRM → ERP pass of one mapping, page by page of changed CRM rows (and deletions).

``receive_page`` gets the rows a change-tracking delta (or the ``modifiedon`` fallback) returned, and the
ids the delta reported deleted. Per row:

* not in the mapping's CRM filter, or left out by the entity rule → ignored (not counted);
* changed last by the integration user → ignored (R1, bidirectional scheduled runs): it is our own write;
* uncoupled → *insert* into the ERP through the service layer (its validation runs), coupled at once;
* coupled, same ``versionnumber`` as last synchronized and no earlier failure → *unchanged*;
* changed → the fields that differ from the ERP record are written; when the ERP record changed too (a
  bidirectional mapping), the three-way merge decides field by field and may send ERP values back;
* coupled to a deleted ERP record → deletion conflict policy (R14). *Restore records* recreates the record
  under its old number (customer ``no``, contact ``no``, item ``no``, salesperson ``code`` …), read from the
  ERP's tombstone of the deleted record: the ERP wrote it there itself when the record was deleted, whereas
  the CRM row may carry no number (contacts) or one the mapping does not synchronize (``accountnumber`` is
  shipped disabled) or that a CRM user changed since, and the coupling's snapshot holds only mapped fields.
  The restored record has a new SystemId (``record.new_erp_id``) that leads back to the tombstone, so a
  restore that failed — its number was taken meanwhile: the record fails naming the number and the fix,
  the coupling stays — finds the number again when it is retried.

Deleted CRM rows coupled to ERP records are settled by the deletion policy when they are reported: fail
(shown on the errors page), remove the coupling, or restore the CRM row from the ERP record.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from lead2cash.erp.model.base import Tombstone
from lead2cash.integration.coupling_model import Coupling
from lead2cash.integration.couplings import by_crm_ids
from lead2cash.integration.engine.conflicts import UpdateConflictError, deletion_action, deletion_message, three_way
from lead2cash.integration.engine.context import SyncContext
from lead2cash.integration.engine.joblog import Failure, PageLog, failed, mark_failed, mark_success
from lead2cash.integration.engine.record import ErpWriter, new_coupling, new_erp_id, restored_from, to_restore_erp
from lead2cash.integration.engine.transfer import Converter, TransferError
from lead2cash.integration.mapping import filters
from lead2cash.integration.mapping.defaults import erp_model
from lead2cash.integration.mapping.enums import Direction
from lead2cash.integration.mapping.model import TableMapping
from lead2cash.integration.rules import rule_for

TO, FROM = Direction.TO_CRM, Direction.FROM_CRM


def filter_view(row: dict) -> dict:
    """A CRM row as the CRM filter's property names see it (``x_account/accountid`` → ``_x_value``)."""

    class View(dict):
        def __missing__(self, key: str) -> Any:
            if "/" in key:
                nav = key.split("/")[0]
                base = nav.rsplit("_", 1)[0] if f"_{nav}_value" not in row else nav
                return row.get(f"_{base}_value")
            return row.get(f"_{key}_value")

    return View(row)


def crm_columns(ctx: SyncContext, mapping: TableMapping) -> list[str]:
    """Everything the pass reads: field rows, filter fields, bookkeeping, rule extras."""
    entity = ctx.entity(mapping.crm_entity)
    names = {entity.id_attribute, "versionnumber", "modifiedon", "_modifiedby_value"}
    for row in mapping.field_mappings:
        if row.crm_attribute and row.crm_attribute in entity.attributes:
            names.add(entity.attributes[row.crm_attribute].read_name)
    tree = mapping.crm_filter_tree()
    for name in filters.fields(tree) if tree is not None else ():
        base = name.split("/")[0]
        if base in entity.attributes:
            names.add(entity.attributes[base].read_name)
        elif base.rsplit("_", 1)[0] in entity.attributes:
            names.add(entity.attributes[base.rsplit("_", 1)[0]].read_name)
    names |= set(rule_for(mapping.name).crm_columns(ctx))
    return sorted(names)


@dataclass
class _Insert:
    """A new ERP record decided for a CRM row, created with the rest of its page."""

    crm_id: uuid.UUID
    coupling: Coupling | None
    changes: dict
    erp_id: uuid.UUID
    version: int | None
    values: dict
    label: str


class _Page:
    def __init__(self, ctx: SyncContext, session: Session, mapping: TableMapping, job_id: uuid.UUID, full: bool):
        self.ctx, self.session, self.mapping, self.job_id, self.full = ctx, session, mapping, job_id, full
        self.rule = rule_for(mapping.name)
        self.log = PageLog()
        self.entity = ctx.entity(mapping.crm_entity)
        self.model = erp_model(mapping.erp_table)
        self.writer = ErpWriter(session, mapping.erp_table)
        self.restore_to_crm: list[uuid.UUID] = []
        self.send_back: list[uuid.UUID] = []  # ERP ids with merged values for the CRM
        self.deleted_keys: dict[uuid.UUID, str] = {}  # numbers of deleted ERP records, by their old id
        self.inserts: list[_Insert] = []  # new records of the page, created together by ``create_inserts``

    def fail(self, crm_id: uuid.UUID, coupling: Coupling | None, message: str, label: str) -> None:
        if coupling is None:
            erp_id = new_erp_id(self.mapping.crm_entity, crm_id)
            coupling = new_coupling(self.session, self.mapping.erp_table, erp_id, self.mapping.crm_entity, crm_id)
            coupling.erp_row_version = None
        mark_failed(coupling, FROM, self.job_id, message)
        self.log.count("failed")
        self.log.failures.append(
            Failure(label, crm_id, f"{self.model.label()} {coupling.erp_id}", coupling.erp_id, message)
        )

    def receive(self, rows: list[dict], *, force: bool = False, retry: bool = False) -> None:
        m, s = self.mapping, self.session
        tree = m.crm_filter_tree()
        if tree is not None and not retry:
            rows = [r for r in rows if filters.matches(tree, filter_view(r))]
        ignored = self.rule.ignore_crm(self.ctx, s, rows)
        ours = str(self.ctx.integration_user_id)
        skip_own = m.direction is Direction.BOTH and not self.full and not force and not retry
        rows = [r for r in rows if r[self.entity.id_attribute] not in ignored]
        if skip_own:
            rows = [r for r in rows if str(r.get("_modifiedby_value")) != ours]
        ids = [uuid.UUID(r[self.entity.id_attribute]) for r in rows]
        couplings = by_crm_ids(s, m.crm_entity, ids)
        erp_ids = [c.erp_id for c in couplings.values()]
        records = {r.id: r for r in s.scalars(select(self.model).where(self.model.id.in_(erp_ids)))} if erp_ids else {}
        self.deleted_keys = self._deleted_keys([c for c in couplings.values() if c.erp_id not in records])
        self.conv = Converter(self.ctx, s, m, FROM).prepare_crm(rows)
        self.rule.prepare_crm(self.ctx, s, rows)
        self.to_crm = Converter(self.ctx, s, m, TO, self.rule).prepare_erp(list(records.values()))
        for crm_id, row in zip(ids, rows, strict=True):
            coupling = couplings.get(crm_id)
            label = f"{m.crm_entity} {crm_id}"
            if coupling is not None and coupling.skipped:
                self.log.count("skipped")
                continue
            if coupling is None and m.sync_only_coupled and not self.full and not force:
                continue
            try:
                self._one(crm_id, row, coupling, records.get(coupling.erp_id) if coupling else None, force, label)
            except (TransferError, UpdateConflictError) as exc:
                self.fail(crm_id, coupling, str(exc), label)
        self.create_inserts()

    def _one(self, crm_id, row, coupling, record, force, label) -> None:
        m = self.mapping
        version = row.get("versionnumber")
        if coupling is not None and coupling.erp_row_version is not None and record is None:
            return self._erp_deleted(crm_id, row, coupling, label)
        synced = coupling is not None and coupling.erp_row_version is not None
        if synced and not (force or failed(coupling, FROM) or version != coupling.crm_version):
            self.log.count("unchanged")
            return None
        values = self.conv.crm_values(row, label=label)
        if record is None:  # insert (or a pending coupling whose ERP record was never made): with the page
            changes = self.conv.erp_changes(None, values)
            if coupling is not None:
                self._restored_number(crm_id, coupling, changes, label)
            self.rule.complete_erp(self.ctx, self.session, row, changes, True)
            erp_id = coupling.erp_id if coupling is not None else new_erp_id(m.crm_entity, crm_id)
            self.inserts.append(_Insert(crm_id, coupling, changes, erp_id, version, values, label))
            return None
        base = coupling.synced_values or {}
        both_changed = (
            m.direction is Direction.BOTH and not force and coupling.erp_row_version is not None
            and record.row_version != coupling.erp_row_version
        )  # fmt: skip
        if both_changed:
            erp = self.to_crm.erp_values(record)
            rows = self.conv.rows + [r for r in self.to_crm.rows if r not in self.conv.rows]
            merge = three_way(rows, erp, values, base, m.update_conflict,
                              erp_label=f"{record.label()} {record.key_value}", crm_label=label)  # fmt: skip
            changes = self.conv.erp_changes(record, values, merge.to_erp)
            snapshot = {**base, **erp, **{k: values[k] for k in merge.to_erp if k in values}}
            if merge.to_crm:
                self.send_back.append(record.id)
        else:
            changes = self.conv.erp_changes(record, values)
            snapshot = {**base, **values}
        if changes:
            self.rule.complete_erp(self.ctx, self.session, row, changes, False)
        if not changes:
            self._done(coupling, record, version, snapshot, "unchanged")
            return None
        self.writer.update(record, changes)
        self._done(coupling, record, version, snapshot, "modified")
        return None

    def create_inserts(self) -> None:
        """Create the page's new ERP records in one batch, then couple them (a refused one fails alone)."""
        inserts, self.inserts = self.inserts, []
        if not inserts:
            return
        m = self.mapping
        created = self.writer.create_many([(i.changes, i.erp_id) for i in inserts])
        for item, record in zip(inserts, created, strict=True):
            if isinstance(record, TransferError):
                self.fail(item.crm_id, item.coupling, str(record), item.label)
                continue
            coupling = item.coupling or new_coupling(self.session, m.erp_table, record.id, m.crm_entity, item.crm_id)
            snapshot = {**(coupling.synced_values or {}), **item.values}
            self._done(coupling, record, item.version, snapshot, "inserted", flush=False)

    def _deleted_keys(self, couplings: list[Coupling]) -> dict[uuid.UUID, str]:
        """Tombstoned numbers these couplings could restore: their ERP id, or the id their restore id leads to."""
        if not couplings or self.model.__key__ not in self.model.__table__.c:
            return {}
        ids = {c.erp_id for c in couplings} | {restored_from(c.crm_entity, c.crm_id, c.erp_id) for c in couplings}
        rows = self.session.execute(
            select(Tombstone.record_id, Tombstone.record_key)
            .where(Tombstone.table_name == self.mapping.erp_table, Tombstone.record_id.in_(ids))
            .order_by(Tombstone.row_version)
        )
        return dict(rows.all())

    def _restored_number(self, crm_id: uuid.UUID, coupling: Coupling, changes: dict, label: str) -> None:
        """A restore recreates the deleted record under its old number, unless another record has it now."""
        number = self.deleted_keys.get(restored_from(self.mapping.crm_entity, crm_id, coupling.erp_id))
        if number is None:
            return
        key, what = self.model.__key__, self.model.label().lower()
        if self.session.scalar(select(self.model.id).where(getattr(self.model, key) == number)) is not None:
            raise TransferError(
                f"Cannot restore the deleted {what} {number} from {label}: {key} {number} is now used by another "
                f"{what}. Free the number (delete that {what} if it duplicates the deleted one) and retry, or "
                f"couple the {self.mapping.crm_entity} to that {what}, or delete this coupling to create the "
                f"{what} again with a new number."
            )
        changes[key] = number

    def _done(
        self, coupling: Coupling, record: Any, version: int | None, snapshot: dict, action: str, *, flush: bool = True
    ) -> None:
        if flush:  # the record's new row version is given at flush
            self.session.flush()
        coupling.erp_row_version = record.row_version
        coupling.crm_version = version
        coupling.synced_values = snapshot
        mark_success(coupling, FROM, self.job_id)
        self.log.count(action)

    def _erp_deleted(self, crm_id: uuid.UUID, row: dict, coupling: Coupling, label: str) -> None:
        action = deletion_action(self.mapping.deletion_conflict)
        if action == "uncouple":
            self.session.delete(coupling)
            self.log.count("uncoupled")
        elif action == "restore":
            to_restore_erp(coupling)
            self._one(crm_id, row, coupling, None, True, label)
        else:
            self.fail(crm_id, coupling, deletion_message(label, f"{self.model.label().lower()} record"), label)

    def deleted(self, crm_ids: list[uuid.UUID]) -> None:
        """CRM rows deleted since the last read (R14: detected when they happen)."""
        couplings = by_crm_ids(self.session, self.mapping.crm_entity, crm_ids)
        action = deletion_action(self.mapping.deletion_conflict)
        for crm_id, coupling in couplings.items():
            if coupling.erp_row_version is None and coupling.crm_version is None:
                self.session.delete(coupling)
            elif action == "uncouple":
                self.session.delete(coupling)
                self.log.count("uncoupled")
            elif action == "restore" and self.mapping.direction.includes(TO):
                self.restore_to_crm.append(coupling.erp_id)
            else:
                record = self.session.get(self.model, coupling.erp_id)
                source = (
                    f"{self.model.label()} {record.key_value}" if record else f"{self.model.label()} {coupling.erp_id}"
                )
                message = deletion_message(source, f"{self.mapping.crm_entity} row")
                mark_failed(coupling, TO, self.job_id, message)
                self.log.count("failed")
                self.log.failures.append(Failure(f"{self.mapping.crm_entity} {crm_id} (deleted)", crm_id, source,
                                                 coupling.erp_id, message))  # fmt: skip


def receive_page(
    ctx: SyncContext, session: Session, mapping: TableMapping, job_id: uuid.UUID, rows: list[dict],
    deleted: list[uuid.UUID] = (), *, full: bool = False, force: bool = False, retry: bool = False,
) -> _Page:  # fmt: skip
    """Apply one page of CRM changes to the ERP; the caller commits the session afterwards."""
    page = _Page(ctx, session, mapping, job_id, full)
    if rows:
        page.receive(rows, force=force, retry=retry)
    if deleted:
        page.deleted(list(deleted))
    return page
