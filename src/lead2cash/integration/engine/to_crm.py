"""The ERP → CRM pass of one mapping: select by row version, decide per record, write per page in bulk.

Selection (``passes.erp_pages``) hands over pages of ERP records; a page goes through three steps:

1. ``decide`` (ERP reads, and a CRM read for bidirectional changes) — for each record:

   * uncoupled → *insert* (or ignored when the mapping synchronizes only coupled records, outside a full
     sync); the CRM GUID is derived from the ERP SystemId, so repeating the create after a crash overwrites
     the row it made instead of making a second one;
   * coupled but never written (a pending or just-matched coupling) → written in full (upsert);
   * coupled and unchanged since the last sync (same row version, no earlier failure) → *unchanged*;
   * changed → only the fields whose canonical value differs from the snapshot are sent; on a bidirectional
     mapping the CRM row is read first (one request per page) to see whether it changed too — then the
     three-way merge decides field by field (``conflicts``) — or was deleted (deletion conflict, R14).

   Deciding changes nothing in the ERP database: what a decision means for couplings is kept as deferred
   steps, so a page can be decided in a transaction of its own while the previous page's write is still
   in flight (``passes`` pipelines the pages that way).
2. ``send`` (CRM only, safe in a worker thread) — ``UpsertMultiple`` for inserts and ``UpdateMultiple`` for
   changes (never re-creates a row a user deleted); a failing chunk is retried record by record to isolate
   the bad ones; then the CRM versions just written are read back, so our own write is never mistaken for
   a user's change (R1).
3. ``apply`` (ERP only) — couplings, merged ERP values, failures and counters, committed by the caller
   together with the watermark in one ERP transaction.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import insert, select
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
from lead2cash.integration.mapping.enums import Direction, SyncResult
from lead2cash.integration.mapping.model import TableMapping
from lead2cash.integration.rules import EntityRule, rule_for

TO, FROM = Direction.TO_CRM, Direction.FROM_CRM


@dataclass
class _Write:
    record: Any
    coupling: Coupling | None  # None: a new coupling is made when the write is applied
    crm_id: uuid.UUID
    payload: dict
    insert: bool
    snapshot: dict
    erp_changes: dict = field(default_factory=dict)


@dataclass
class Sent:
    """What the CRM side of a page did: plain data, made without touching the ERP session."""

    count: int = 0  # how many of the page's writes were sent
    bad: dict[int, str] = field(default_factory=dict)  # write index -> error ("deleted": the row is gone)
    versions: dict[uuid.UUID, dict] = field(default_factory=dict)  # CRM bookkeeping columns after the write


@dataclass
class PageResult:
    log: PageLog
    restore_from_crm: list[uuid.UUID] = field(default_factory=list)  # CRM ids whose ERP record is to be restored


def matches_crm(mapping_name: str) -> bool:
    """Whether the mapping's rule couples uncoupled records to existing CRM rows (pages then run one by one,
    so two pages never claim the same CRM row)."""
    return type(rule_for(mapping_name)).match_crm is not EntityRule.match_crm


class ToCrmPage:
    """One page of ERP records on its way to the CRM: ``decide``, then ``send``, then ``apply``."""

    def __init__(self, ctx: SyncContext, session: Session, mapping: TableMapping, job_id: uuid.UUID, full: bool):
        self.ctx, self.session, self.mapping, self.job_id, self.full = ctx, session, mapping, job_id, full
        self.rule = rule_for(mapping.name)
        self.result = PageResult(PageLog())
        self.log = self.result.log
        self.writes: list[_Write] = []
        self.crm = ctx.entity(mapping.crm_entity)
        self.later: list[Callable[[], None]] = []  # coupling changes decided, applied with the page
        self.scratch: dict[str, Any] = {}  # what the rule looked up for this page

    def fail(
        self, record: Any, coupling: Coupling | None, message: str, detail: str = "", crm_id: uuid.UUID | None = None
    ) -> None:
        if crm_id is None:
            crm_id = coupling.crm_id if coupling is not None else new_crm_id(self.mapping.erp_table, record.id)
        self.log.count("failed")
        self.log.failures.append(
            Failure(
                f"{record.label()} {record.key_value}",
                record.id,
                f"{self.mapping.crm_entity} {crm_id}",
                crm_id,
                message,
                detail,
            )
        )

        def mark() -> None:  # a pending coupling carries the failure, so the record is retried (R2, R15)
            target = coupling or new_coupling(
                self.session, self.mapping.erp_table, record.id, self.mapping.crm_entity, crm_id
            )
            mark_failed(target, TO, self.job_id, message)

        self.later.append(mark)

    def _settle(self) -> None:
        steps, self.later = self.later, []
        for step in steps:
            step()

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
        claimed: set[uuid.UUID] = set()
        for record in records:
            coupling = couplings.get(record.id)
            if coupling is not None and coupling.skipped:
                self.log.count("skipped")
                continue
            if coupling is None:
                crm_id = matched.get(record.id)
                if crm_id is not None and crm_id not in taken and crm_id not in claimed:
                    claimed.add(crm_id)
                    self.log.count("coupled")
                    self._full_write(record, None, crm_id)
                elif m.sync_only_coupled and not self.full and not force:
                    continue  # not counted, as in the reference
                else:
                    self._full_write(record, None)
            elif coupling.crm_version is None:
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
        self.log.notes.extend(self.to_crm.notes)  # e.g. option codes left blank (M14)
        self.scratch = dict(self.ctx.scratch)

    def _full_write(self, record: Any, coupling: Coupling | None, crm_id: uuid.UUID | None = None) -> None:
        if crm_id is None:
            crm_id = coupling.crm_id if coupling is not None else new_crm_id(self.mapping.erp_table, record.id)
        try:
            self.rule.check_erp(self.ctx, self.session, record)
            values = self.to_crm.erp_values(record)
            payload = self.to_crm.to_crm(record, values=values)
            # never written to the CRM yet (or to be restored under a new id)
            insert = coupling is None or coupling.crm_version is None or coupling.crm_id != crm_id
            self.rule.complete_crm(self.ctx, self.session, record, payload, insert)
        except TransferError as exc:
            self.fail(record, coupling, str(exc), crm_id=crm_id)
            return
        self.writes.append(_Write(record, coupling, crm_id, payload, True, values))

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
        crm_version = crm_side[0].get("versionnumber") if crm_side is not None else None
        if not payload and not erp_changes:
            self.log.count("unchanged")
            row_version = record.row_version

            def unchanged() -> None:
                coupling.erp_row_version, coupling.synced_values = row_version, snapshot
                if crm_side is not None:
                    coupling.crm_version = crm_version
                mark_success(coupling, TO, self.job_id)

            self.later.append(unchanged)
            return
        write = _Write(record, coupling, coupling.crm_id, payload, False, snapshot, erp_changes)
        if crm_side is not None and not payload:
            self.later.append(lambda: setattr(coupling, "crm_version", crm_version))
        self.writes.append(write)

    def _deleted_in_crm(self, record: Any, coupling: Coupling) -> None:
        action = deletion_action(self.mapping.deletion_conflict)
        if action == "uncouple":
            self.log.count("uncoupled")
            self.later.append(lambda: self.session.delete(coupling))
        elif action == "restore":
            crm_id = new_crm_id(self.mapping.erp_table, record.id, coupling.crm_id)

            def recouple() -> None:
                coupling.crm_id, coupling.crm_version, coupling.synced_values = crm_id, None, None

            self.later.append(recouple)
            self._full_write(record, coupling, crm_id)
        else:
            label = f"{record.label()} {record.key_value}"
            self.fail(record, coupling, deletion_message(label, f"{self.mapping.crm_entity} row"))

    # --- send (CRM only) ------------------------------------------------------------------------------

    def send(self) -> Sent:
        """Write the decided payloads to the CRM and read back their versions; touches no ERP state."""
        writes = list(self.writes)
        sent = Sent(len(writes))
        id_attr = self.crm.id_attribute
        inserts = [(i, w) for i, w in enumerate(writes) if w.insert]
        updates = [(i, w) for i, w in enumerate(writes) if not w.insert and w.payload]
        for group, bulk, single in (
            (inserts, self.ctx.client.upsert_multiple, self.ctx.client.upsert),
            (updates, self.ctx.client.update_multiple, self.ctx.client.update),
        ):
            if not group:
                continue
            targets = [{**w.payload, id_attr: str(w.crm_id)} for _, w in group]
            try:
                bulk(self.crm.entity_set, targets)
            except BulkWriteError as exc:
                for position in exc.failed_positions:  # isolate the bad records of failed chunks
                    i, w = group[position]
                    try:
                        single(self.crm.entity_set, str(w.crm_id), w.payload)
                    except NotFound:
                        sent.bad[i] = "deleted"
                    except DataverseError as one:
                        sent.bad[i] = error_text(one)
        faults.reached("after_crm_write")
        written = [w.crm_id for i, w in enumerate(writes) if i not in sent.bad and w.payload]
        if written:
            sent.versions = crm_rows_by_id(self.ctx, self.mapping.crm_entity, written, list(BOOKKEEPING))
        return sent

    # --- apply (ERP only) -----------------------------------------------------------------------------

    def apply(self, sent: Sent) -> None:
        """Record in the ERP session what was decided and what the CRM did with the page's writes."""
        saved, self.ctx.scratch = self.ctx.scratch, self.scratch
        try:
            self._settle()
            writes = self.writes[: sent.count]
            for i, w in enumerate(writes):
                if sent.bad.get(i) == "deleted" and w.coupling is not None:
                    self._deleted_in_crm(w.record, w.coupling)
                elif i in sent.bad:
                    self.fail(w.record, w.coupling, f"Writing to the CRM failed: {sent.bad[i]}", crm_id=w.crm_id)
            self._confirm([w for i, w in enumerate(writes) if i not in sent.bad], sent.versions)
            self._settle()
        finally:
            self.ctx.scratch = saved

    def _moved_since_decided(self, writes: list[_Write]) -> set[uuid.UUID]:
        """Records changed in the ERP after they were decided on (their merge is redone by the next run)."""
        merging = {w.record.id: w.record.row_version for w in writes if w.erp_changes}
        if not merging:
            return set()
        model = type(next(w.record for w in writes if w.erp_changes))
        now = self.session.execute(select(model.id, model.row_version).where(model.id.in_(list(merging))))
        return {erp_id for erp_id, version in now if version != merging[erp_id]}

    def _confirm(self, written: list[_Write], versions: dict[uuid.UUID, dict]) -> None:
        m = self.mapping
        moved = self._moved_since_decided(written)
        writer = ErpWriter(self.session, m.erp_table)
        done: list[tuple[Any, uuid.UUID, bool]] = []
        new_couplings: list[dict] = []  # inserted as one statement, not one ORM object each
        ours = str(self.ctx.integration_user_id)
        for w in written:
            if w.record.id in moved:
                continue  # the coupling keeps its old versions: the next run merges again
            if w.erp_changes and w.coupling is not None:
                try:
                    writer.update(w.record, w.erp_changes)
                except TransferError as exc:
                    self.fail(w.record, w.coupling, str(exc))
                    continue
            row = versions.get(w.crm_id)
            crm_version = w.coupling.crm_version if w.coupling is not None else None
            if row is not None and str(row.get("_modifiedby_value")) == ours:
                crm_version = row.get("versionnumber")
            elif row is not None and w.insert:
                crm_version = 0  # written, but someone changed it since: read it back next time
            if w.coupling is None:
                new_couplings.append(
                    {
                        "erp_table": m.erp_table, "erp_id": w.record.id, "crm_entity": m.crm_entity,
                        "crm_id": w.crm_id, "crm_version": crm_version, "erp_row_version": w.record.row_version,
                        "synced_values": w.snapshot, "last_to_crm_result": SyncResult.SUCCESS,
                        "last_to_crm_job_id": self.job_id, "skipped": False,
                    }
                )  # fmt: skip
            else:
                w.coupling.crm_version = crm_version
                w.coupling.erp_row_version = w.record.row_version
                w.coupling.synced_values = w.snapshot
                mark_success(w.coupling, TO, self.job_id)
            self.log.count("inserted" if w.insert else "modified")
            done.append((w.record, w.crm_id, w.insert))
        if new_couplings:  # a plain executemany: the ORM's bulk path costs more than the rows themselves
            self.session.connection().execute(insert(Coupling.__table__), new_couplings)
        if self.writes:  # also when every write failed: a rule may have to undo what it prepared
            self.rule.after_crm_write(self.ctx, self.session, done)


def decide_page(
    ctx: SyncContext, session: Session, mapping: TableMapping, job_id: uuid.UUID, records: list[Any], *,
    full: bool = False, force: bool = False,
) -> ToCrmPage:  # fmt: skip
    """Decide one page of ERP records (reads only); ``send`` and ``apply`` it afterwards."""
    page = ToCrmPage(ctx, session, mapping, job_id, full)
    page.decide(records, force=force)
    return page


def send_page(
    ctx: SyncContext, session: Session, mapping: TableMapping, job_id: uuid.UUID, records: list[Any], *,
    full: bool = False, force: bool = False,
) -> PageResult:  # fmt: skip
    """Decide, write and record one page of ERP records; the caller commits the session afterwards."""
    page = decide_page(ctx, session, mapping, job_id, records, full=full, force=force)
    page.apply(page.send() if page.writes else Sent())
    return page.result


def erp_deletions(
    ctx: SyncContext, session: Session, mapping: TableMapping, job_id: uuid.UUID, erp_ids: list[uuid.UUID]
) -> PageResult:
    """ERP records deleted since the watermark (tombstones) whose CRM row is still coupled (R14)."""
    page = ToCrmPage(ctx, session, mapping, job_id, False)
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
