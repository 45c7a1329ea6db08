"""The ERP → CRM pass of one mapping: select by row version, decide per record, write per page in bulk.

Selection (``passes.erp_pages``) hands over pages of ERP records; ``send_page`` decides for each one:

* uncoupled → *insert* (or ignored when the mapping synchronizes only coupled records, outside a full
  sync); the CRM GUID is derived from the ERP SystemId, so repeating the create after a crash overwrites
  the row it made instead of making a second one;
* coupled but never written (a pending or just-matched coupling) → written in full (upsert);
* coupled and unchanged since the last sync (same row version, no earlier failure) → *unchanged*;
* changed → only the fields whose canonical value differs from the snapshot are sent; on a bidirectional
  mapping the CRM row is read first (one request per page) to see whether it changed too — then the
  three-way merge decides field by field (``conflicts``) — or was deleted (deletion conflict, R14).

Writes go out as ``UpsertMultiple`` (inserts) and ``UpdateMultiple`` (changes; never re-creates a row a user
deleted). A failing chunk is retried record by record to isolate the bad ones. Then the CRM versions just
written are read back (so our own write is never mistaken for a user's change, R1), and couplings, merged
ERP values, job counters and the watermark are committed in one ERP transaction.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy.orm import Session

from lead2cash.integration.coupling_model import Coupling
from lead2cash.integration.couplings import by_crm_ids, by_erp_ids
from lead2cash.integration.dataverse import BulkWriteError, DataverseError, NotFound
from lead2cash.integration.engine import faults
from lead2cash.integration.engine.conflicts import UpdateConflictError, deletion_action, deletion_message, three_way
from lead2cash.integration.engine.context import SyncContext
from lead2cash.integration.engine.joblog import Failure, PageLog, failed, mark_failed, mark_success
from lead2cash.integration.engine.record import (
    BOOKKEEPING,
    ErpWriter,
    crm_rows_by_id,
    error_text,
    new_coupling,
    new_crm_id,
)
from lead2cash.integration.engine.transfer import Converter, TransferError
from lead2cash.integration.mapping.enums import Direction
from lead2cash.integration.mapping.model import TableMapping
from lead2cash.integration.rules import rule_for

TO, FROM = Direction.TO_CRM, Direction.FROM_CRM


@dataclass
class _Write:
    record: Any
    coupling: Coupling
    payload: dict
    insert: bool
    snapshot: dict
    erp_changes: dict = field(default_factory=dict)


@dataclass
class PageResult:
    log: PageLog
    restore_from_crm: list[uuid.UUID] = field(default_factory=list)  # CRM ids whose ERP record is to be restored


class _Page:
    def __init__(self, ctx: SyncContext, session: Session, mapping: TableMapping, job_id: uuid.UUID, full: bool):
        self.ctx, self.session, self.mapping, self.job_id, self.full = ctx, session, mapping, job_id, full
        self.rule = rule_for(mapping.name)
        self.result = PageResult(PageLog())
        self.log = self.result.log
        self.writes: list[_Write] = []
        self.crm = ctx.entity(mapping.crm_entity)

    def fail(self, record: Any, coupling: Coupling | None, message: str, detail: str = "") -> None:
        if coupling is None:  # a pending coupling carries the failure, so the record is retried (R2, R15)
            crm_id = new_crm_id(self.mapping.erp_table, record.id)
            coupling = new_coupling(self.session, self.mapping.erp_table, record.id, self.mapping.crm_entity, crm_id)
        mark_failed(coupling, TO, self.job_id, message)
        self.log.count("failed")
        self.log.failures.append(
            Failure(
                f"{record.label()} {record.key_value}",
                record.id,
                f"{self.mapping.crm_entity} {coupling.crm_id}",
                coupling.crm_id,
                message,
                detail,
            )
        )

    # --- decide ---------------------------------------------------------------------------------------

    def decide(self, records: list[Any], *, force: bool = False) -> None:
        m, s = self.mapping, self.session
        ignored = self.rule.ignore_erp(self.ctx, s, records)
        records = [r for r in records if r.id not in ignored]
        couplings = by_erp_ids(s, m.erp_table, [r.id for r in records])
        uncoupled = [r for r in records if r.id not in couplings]
        matched = self.rule.match_crm(self.ctx, s, uncoupled) if uncoupled else {}
        taken = by_crm_ids(s, m.crm_entity, matched.values()) if matched else {}
        self.to_crm = Converter(self.ctx, s, m, TO, self.rule).prepare_erp(records)
        self.rule.prepare_erp(self.ctx, s, records)
        check_crm: list[tuple[Any, Coupling]] = []
        for record in records:
            coupling = couplings.get(record.id)
            if coupling is not None and coupling.skipped:
                self.log.count("skipped")
                continue
            if coupling is None:
                crm_id = matched.get(record.id)
                if crm_id is not None and crm_id not in taken:
                    coupling = new_coupling(s, m.erp_table, record.id, m.crm_entity, crm_id)
                    self.log.count("coupled")
                elif m.sync_only_coupled and not self.full and not force:
                    continue  # not counted, as in the reference
                else:
                    coupling = None
            if coupling is None or coupling.crm_version is None:
                self._full_write(record, coupling)
            elif force or failed(coupling, TO) or record.row_version != coupling.erp_row_version:
                if m.direction is Direction.BOTH:
                    check_crm.append((record, coupling))
                else:
                    self._changed(record, coupling, None)
            else:
                self.log.count("unchanged")
        if check_crm:
            self._check_crm_side(check_crm)

    def _full_write(self, record: Any, coupling: Coupling | None) -> None:
        try:
            self.rule.check_erp(self.ctx, self.session, record)
            values = self.to_crm.erp_values(record)
            payload = self.to_crm.to_crm(record, values=values)
            insert = coupling is None or coupling.crm_version is None  # never written to the CRM yet
            self.rule.complete_crm(self.ctx, self.session, record, payload, insert)
        except TransferError as exc:
            self.fail(record, coupling, str(exc))
            return
        if coupling is None:
            crm_id = new_crm_id(self.mapping.erp_table, record.id)
            coupling = new_coupling(self.session, self.mapping.erp_table, record.id, self.mapping.crm_entity, crm_id)
        self.writes.append(_Write(record, coupling, payload, True, values))

    def _check_crm_side(self, pairs: list[tuple[Any, Coupling]]) -> None:
        from_crm = Converter(self.ctx, self.session, self.mapping, FROM)
        columns = sorted(
            {
                self.crm.attributes[r.crm_attribute].read_name
                for r in from_crm.rows
                if r.crm_attribute in self.crm.attributes
            }
            | set(BOOKKEEPING)
        )
        rows = crm_rows_by_id(self.ctx, self.mapping.crm_entity, [c.crm_id for _, c in pairs], columns)
        from_crm.prepare_crm(list(rows.values()))
        for record, coupling in pairs:
            row = rows.get(coupling.crm_id)
            if row is None:
                self._deleted_in_crm(record, coupling)
            elif row.get("versionnumber") != coupling.crm_version:
                self._changed(record, coupling, (row, from_crm))
            else:
                self._changed(record, coupling, None)

    def _changed(self, record: Any, coupling: Coupling, crm_side: tuple[dict, Converter] | None) -> None:
        base = coupling.synced_values or {}
        erp = self.to_crm.erp_values(record)
        label = f"{record.label()} {record.key_value}"
        try:
            self.rule.check_erp(self.ctx, self.session, record)
            erp_changes: dict = {}
            if crm_side is None:
                keys = {k for k, v in erp.items() if base.get(k) != v}
                snapshot = {**base, **erp}
            else:
                row, from_crm = crm_side
                crm = from_crm.crm_values(row, label=label)
                rows = self.to_crm.rows + [r for r in from_crm.rows if r not in self.to_crm.rows]
                merge = three_way(
                    rows, erp, crm, base, self.mapping.update_conflict,
                    erp_label=label, crm_label=f"{self.mapping.crm_entity} {coupling.crm_id}",
                )  # fmt: skip
                keys = merge.to_crm
                erp_changes = from_crm.erp_changes(record, crm, merge.to_erp)
                snapshot = {**base, **erp, **{k: crm[k] for k in merge.to_erp if k in crm}}
            payload = self.to_crm.to_crm(record, keys, erp) if keys else {}
            if payload:
                self.rule.complete_crm(self.ctx, self.session, record, payload, False)
        except (TransferError, UpdateConflictError) as exc:
            self.fail(record, coupling, str(exc))
            return
        if not payload and not erp_changes:
            self.log.count("unchanged")
            coupling.erp_row_version, coupling.synced_values = record.row_version, snapshot
            if crm_side is not None:
                coupling.crm_version = crm_side[0].get("versionnumber")
            mark_success(coupling, TO, self.job_id)
            return
        write = _Write(record, coupling, payload, False, snapshot, erp_changes)
        if crm_side is not None and not payload:
            coupling.crm_version = crm_side[0].get("versionnumber")
        self.writes.append(write)

    def _deleted_in_crm(self, record: Any, coupling: Coupling) -> None:
        action = deletion_action(self.mapping.deletion_conflict)
        if action == "uncouple":
            self.session.delete(coupling)
            self.log.count("uncoupled")
        elif action == "restore":
            coupling.crm_id = new_crm_id(self.mapping.erp_table, record.id, coupling.crm_id)
            coupling.crm_version, coupling.synced_values = None, None
            self._full_write(record, coupling)
        else:
            label = f"{record.label()} {record.key_value}"
            self.fail(record, coupling, deletion_message(label, f"{self.mapping.crm_entity} row"))

    # --- write ----------------------------------------------------------------------------------------

    def write(self) -> None:
        id_attr = self.crm.id_attribute
        inserts = [w for w in self.writes if w.insert]
        updates = [w for w in self.writes if not w.insert and w.payload]
        bad: dict[int, str] = {}
        for group, bulk, single in (
            (inserts, self.ctx.client.upsert_multiple, self.ctx.client.upsert),
            (updates, self.ctx.client.update_multiple, self.ctx.client.update),
        ):
            if not group:
                continue
            targets = [{**w.payload, id_attr: str(w.coupling.crm_id)} for w in group]
            try:
                bulk(self.crm.entity_set, targets)
            except BulkWriteError as exc:
                for position in exc.failed_positions:  # isolate the bad records of failed chunks
                    w = group[position]
                    try:
                        single(self.crm.entity_set, str(w.coupling.crm_id), w.payload)
                    except NotFound:
                        bad[id(w)] = "deleted"
                    except DataverseError as one:
                        bad[id(w)] = error_text(one)
        faults.reached("after_crm_write")
        written = [w for w in self.writes if id(w) not in bad]
        for w in self.writes:
            if bad.get(id(w)) == "deleted":
                self._deleted_in_crm(w.record, w.coupling)
            elif id(w) in bad:
                self.fail(w.record, w.coupling, f"Writing to the CRM failed: {bad[id(w)]}")
        self._confirm(written)

    def _confirm(self, written: list[_Write]) -> None:
        sent = [w for w in written if w.payload]
        versions = crm_rows_by_id(
            self.ctx, self.mapping.crm_entity, [w.coupling.crm_id for w in sent], list(BOOKKEEPING)
        )
        writer = ErpWriter(self.session, self.mapping.erp_table)
        done: list[tuple[Any, uuid.UUID, bool]] = []
        for w in written:
            if w.erp_changes:
                try:
                    writer.update(w.record, w.erp_changes)
                except TransferError as exc:
                    self.fail(w.record, w.coupling, str(exc))
                    continue
            row = versions.get(w.coupling.crm_id)
            if row is not None and str(row.get("_modifiedby_value")) == str(self.ctx.integration_user_id):
                w.coupling.crm_version = row.get("versionnumber")
            elif row is not None and w.insert:
                w.coupling.crm_version = 0  # written, but someone changed it since: read it back next time
            w.coupling.erp_row_version = w.record.row_version
            w.coupling.synced_values = w.snapshot
            mark_success(w.coupling, TO, self.job_id)
            self.log.count("inserted" if w.insert else "modified")
            done.append((w.record, w.coupling.crm_id, w.insert))
        if done:
            self.rule.after_crm_write(self.ctx, self.session, done)


def send_page(
    ctx: SyncContext, session: Session, mapping: TableMapping, job_id: uuid.UUID, records: list[Any], *,
    full: bool = False, force: bool = False,
) -> PageResult:  # fmt: skip
    """Decide and write one page of ERP records; the caller commits the session afterwards."""
    page = _Page(ctx, session, mapping, job_id, full)
    page.decide(records, force=force)
    if page.writes:
        page.write()
    return page.result


def erp_deletions(
    ctx: SyncContext, session: Session, mapping: TableMapping, job_id: uuid.UUID, erp_ids: list[uuid.UUID]
) -> PageResult:
    """ERP records deleted since the watermark (tombstones) whose CRM row is still coupled (R14)."""
    page = _Page(ctx, session, mapping, job_id, False)
    couplings = by_erp_ids(session, mapping.erp_table, erp_ids)
    action = deletion_action(mapping.deletion_conflict)
    for coupling in couplings.values():
        if coupling.crm_version is None:  # never written to the CRM: nothing there to keep
            session.delete(coupling)
        elif action == "uncouple":
            session.delete(coupling)
            page.log.count("uncoupled")
        elif action == "restore" and mapping.direction.includes(FROM):
            page.result.restore_from_crm.append(coupling.crm_id)
        else:
            message = deletion_message(f"{mapping.crm_entity} {coupling.crm_id}", f"{mapping.erp_table} record")
            mark_failed(coupling, TO, job_id, message)
            page.log.count("failed")
            page.log.failures.append(
                Failure(f"{mapping.erp_table} {coupling.erp_id} (deleted)", coupling.erp_id,
                        f"{mapping.crm_entity} {coupling.crm_id}", coupling.crm_id, message)
            )  # fmt: skip
    return page.result
