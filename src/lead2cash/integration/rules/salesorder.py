"""SALESORDER-ORDER (M13, O6, O10) in the default sales-order mode: ERP orders → the CRM orders they came from.

After a submitted CRM order became an ERP order, the mapping keeps the CRM order informed about what the
ERP does with it (requested delivery date, last shipment date, amounts, addresses, terms …). What is
particular to this mapping, beyond its filter (orders, Released or Pending Prepayment):

* it works only while **sales-order integration** is on (S6: the setup names the ERP user who handles
  sales-order integration, which every order option requires). While it is off, every order is left alone
  and nothing is counted, so the recurring run is idle; changes made meanwhile are caught up by a full
  synchronization of the mapping once it is on again (the watermark moved past them);
* it **never creates** a CRM order: an ERP order without a coupling is left alone, also by a full
  synchronization and by "synchronize now" (the mapping's *sync only coupled records* covers only the
  recurring run);
* a **submitted CRM order is read-only** in Dynamics 365 Sales (only active orders are editable), so, as
  the reference does, the order is set Active just before the engine writes it and submitted again after
  the page was written — with its submit date and status reason kept. An order the CRM has closed
  (fulfilled, canceled, invoiced) is not changed any more: the record fails saying so.

The CRM states of a page's orders are read with one request per page (``prepare_erp``); reactivating is
one request per changed order, re-submitting one bulk update per page (``after_crm_write``, which the
engine calls only when at least one record of the page was written: the orders of a page whose writes all
failed stay Active until their retry is written — an order found Active is submitted after its write too).
"""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy.orm import Session

from lead2cash.integration.couplings import by_erp_ids
from lead2cash.integration.engine.context import SyncContext
from lead2cash.integration.engine.record import crm_rows_by_id
from lead2cash.integration.engine.transfer import TransferError
from lead2cash.integration.rules import EntityRule, register
from lead2cash.integration.setup.model import SETUP_ID, ConnectionSetup

KEY = "salesorder"
ERP_TABLE, ENTITY = "sales_header", "salesorder"
ACTIVE, SUBMITTED = 0, 1  # salesorder statecode
NEW, IN_PROGRESS = 1, 3  # the default status reasons of Active and Submitted
CLOSED = {2: "canceled", 3: "fulfilled", 4: "invoiced"}


def order_integration_on(session: Session) -> bool:
    """Sales-order integration is on when the setup names the ERP user who handles it (S6)."""
    setup = session.get(ConnectionSetup, SETUP_ID)
    return setup is not None and bool((setup.sales_order_user or "").strip())


class SalesOrderRule(EntityRule):
    mappings = ("SALESORDER-ORDER",)

    def ignore_erp(self, ctx: SyncContext, session: Session, records: list[Any]) -> set[uuid.UUID]:
        if not order_integration_on(session):
            return {r.id for r in records}
        coupled = by_erp_ids(session, ERP_TABLE, [r.id for r in records])
        return {r.id for r in records if r.id not in coupled}

    def prepare_erp(self, ctx: SyncContext, session: Session, records: list[Any]) -> None:
        couplings = by_erp_ids(session, ERP_TABLE, [r.id for r in records])
        crm_ids = {erp_id: c.crm_id for erp_id, c in couplings.items()}
        columns = ["statecode", "statuscode", "submitdate"]
        rows = crm_rows_by_id(ctx, ENTITY, list(crm_ids.values()), columns) if crm_ids else {}
        ctx.scratch[KEY] = {"crm_ids": crm_ids, "rows": rows, "reactivated": {}}

    def complete_crm(self, ctx: SyncContext, session: Session, record: Any, payload: dict, insert: bool) -> None:
        scratch = ctx.scratch[KEY]
        crm_id = scratch["crm_ids"].get(record.id)
        row = scratch["rows"].get(crm_id) if crm_id is not None else None
        if row is None:
            return  # the CRM order is gone: the engine's write finds out and treats it as deleted
        state = row.get("statecode")
        if state in CLOSED:
            raise TransferError(
                f"Sales order {record.no}: the CRM order it is coupled to ({crm_id}) is {CLOSED[state]}, and a "
                f"closed CRM order is not changed any more. Uncouple sales order {record.no} to stop "
                "synchronizing it."
            )
        if state == SUBMITTED:
            entity_set = ctx.entity(ENTITY).entity_set
            ctx.client.update(entity_set, str(crm_id), {"statecode": ACTIVE, "statuscode": NEW})
        # an order found Active is submitted too: it was submitted when it became an ERP order
        scratch["reactivated"][crm_id] = row

    def after_crm_write(self, ctx: SyncContext, session: Session, written: list[tuple[Any, uuid.UUID, bool]]) -> None:
        """Submit the orders set Active for this page again, whether or not their own write succeeded."""
        scratch = ctx.scratch.get(KEY)
        if not scratch or not scratch["reactivated"]:
            return
        entity = ctx.entity(ENTITY)
        targets = []
        for crm_id, row in scratch["reactivated"].items():
            submitted = row.get("statecode") == SUBMITTED
            target = {
                entity.id_attribute: str(crm_id),
                "statecode": SUBMITTED,
                "statuscode": row.get("statuscode") if submitted else IN_PROGRESS,
            }
            if submitted and row.get("submitdate"):
                target["submitdate"] = row["submitdate"]
            targets.append(target)
        scratch["reactivated"] = {}
        ctx.client.update_multiple(entity.entity_set, targets)


register(SalesOrderRule())
