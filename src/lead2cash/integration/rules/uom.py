"""UNIT OF MEASURE (R6): ERP units ↔ CRM unit groups holding exactly one unit.

A new unit group is named after the unit code, and its one unit (the group's base unit, same name,
quantity 1) is created with it under an id derived from the group's, so a repeated run recreates nothing.
A coupled group that holds more (or fewer) than one unit is refused with a message saying so: the ERP unit
cannot say which of them it means. ``base_units`` gives the CRM unit of ERP unit codes for the product and
price rules (``defaultuomid``, price list item ``uomid``).
"""

from __future__ import annotations

import uuid
from collections import defaultdict
from typing import Any

from sqlalchemy.orm import Session

from lead2cash.integration.dataverse import odata
from lead2cash.integration.engine.context import SyncContext
from lead2cash.integration.engine.record import ID_NAMESPACE
from lead2cash.integration.engine.transfer import TransferError, coupled_crm_ids
from lead2cash.integration.rules import EntityRule, register

KEY = "uom"


def unit_id(schedule_id: uuid.UUID | str) -> uuid.UUID:
    return uuid.uuid5(ID_NAMESPACE, f"uom/{schedule_id}")


def units_of_groups(ctx: SyncContext, schedule_ids: set[uuid.UUID]) -> dict[uuid.UUID, list[str]]:
    """CRM unit ids per unit group (one request per 100 groups)."""
    found: dict[uuid.UUID, list[str]] = defaultdict(list)
    ids = sorted(map(str, schedule_ids))
    for start in range(0, len(ids), 100):
        rows = ctx.client.query(
            "uoms", select=["uomid", "_uomscheduleid_value"],
            filter=odata.filter_in("_uomscheduleid_value", ids[start : start + 100]),
        )  # fmt: skip
        for row in rows:
            found[uuid.UUID(row["_uomscheduleid_value"])].append(row["uomid"])
    return found


def base_units(ctx: SyncContext, session: Session, codes: set[str]) -> dict[str, str]:
    """The CRM unit (uomid) of each coupled ERP unit code whose group holds exactly one unit."""
    groups = coupled_crm_ids(session, "unit_of_measure", "code", {c for c in codes if c})
    units = units_of_groups(ctx, set(groups.values())) if groups else {}
    return {code: units[g][0] for code, g in groups.items() if len(units.get(g, ())) == 1}


class UnitRule(EntityRule):
    mappings = ("UNIT OF MEASURE",)

    def prepare_erp(self, ctx: SyncContext, session: Session, records: list[Any]) -> None:
        groups = coupled_crm_ids(session, "unit_of_measure", "code", {r.code for r in records})
        ctx.scratch[KEY] = {"groups": groups, "units": units_of_groups(ctx, set(groups.values())) if groups else {}}

    def complete_crm(self, ctx: SyncContext, session: Session, record: Any, payload: dict, insert: bool) -> None:
        if insert:
            payload.setdefault("name", record.code)
            payload.setdefault("baseuomname", record.code)

    def check_erp(self, ctx: SyncContext, session: Session, record: Any) -> None:
        found = ctx.scratch.get(KEY, {})
        group = found.get("groups", {}).get(record.code)
        count = len(found.get("units", {}).get(group, ())) if group else 1
        if count != 1:
            raise TransferError(
                f"Unit of measure {record.code}: the coupled CRM unit group {group} has {count} units. Only unit "
                f"groups with exactly one unit can be synchronized; couple the unit to a group with one unit."
            )

    def after_crm_write(self, ctx: SyncContext, session: Session, written: list[tuple[Any, uuid.UUID, bool]]) -> None:
        new = [(record, group) for record, group, inserted in written if inserted]
        if not new:
            return
        existing = units_of_groups(ctx, {g for _, g in new})
        targets = []
        for record, group in new:
            if existing.get(group):
                continue
            key, ref = ctx.bind("uom", "uomscheduleid", "uomschedule", group)
            targets.append({"uomid": str(unit_id(group)), "name": record.code, "quantity": 1, key: ref})
        if targets:
            ctx.client.upsert_multiple("uoms", targets)


register(UnitRule())
