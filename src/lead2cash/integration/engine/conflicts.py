"""Update conflicts (R13) and the field-level three-way merge.

When both sides changed since the last synchronization, each field row is compared with the coupling's
snapshot (the canonical values both sides had then): a field changed on one side only flows to the other;
a field changed on both sides to *different* values is a conflict; changed on both sides to the same value
is already converged. Only real conflicts consult the mapping's policy: *None* fails the record naming the
fields, *Send update to integration* lets the ERP value win, *Get update from integration* the CRM value.
Deletion conflicts (the counterpart is gone, R14) are settled by ``deletion_action``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from lead2cash.integration.engine.transfer import Row
from lead2cash.integration.mapping.enums import DeletionConflict, Direction, UpdateConflict


class UpdateConflictError(ValueError):
    pass


@dataclass
class Merge:
    to_crm: set[str] = field(default_factory=set)  # row keys whose ERP value goes to the CRM
    to_erp: set[str] = field(default_factory=set)  # row keys whose CRM value goes to the ERP
    conflicts: list[Row] = field(default_factory=list)


def three_way(
    rows: list[Row],
    erp: dict[str, Any],
    crm: dict[str, Any],
    base: dict[str, Any] | None,
    policy: UpdateConflict,
    *,
    erp_label: str,
    crm_label: str,
) -> Merge:
    """Decide, field row by field row, which side's value wins; raise when a conflict must fail."""
    base = base or {}
    merge = Merge()
    for row in rows:
        key = row.key
        if row.erp_field is None or row.crm_attribute is None:
            continue
        sends, gets = row.direction.includes(Direction.TO_CRM), row.direction.includes(Direction.FROM_CRM)
        e, c, b = erp.get(key), crm.get(key), base.get(key)
        erp_changed, crm_changed = e != b, c != b
        if sends and erp_changed and (not crm_changed or not gets):
            merge.to_crm.add(key)
        elif gets and crm_changed and (not erp_changed or not sends):
            merge.to_erp.add(key)
        elif sends and gets and erp_changed and crm_changed and e != c:
            merge.conflicts.append(row)
    if merge.conflicts:
        if policy is UpdateConflict.SEND_TO_CRM:
            merge.to_crm |= {r.key for r in merge.conflicts}
        elif policy is UpdateConflict.GET_FROM_CRM:
            merge.to_erp |= {r.key for r in merge.conflicts}
        else:
            names = ", ".join(f"{r.erp_field} / {r.crm_attribute}" for r in merge.conflicts)
            raise UpdateConflictError(
                f"Cannot update {erp_label} / {crm_label}: the field(s) {names} are synchronized both ways and "
                f"were changed on both sides since the last synchronization. Choose which side wins "
                f"(synchronize now with send or get) or set the mapping's update conflict resolution."
            )
    return merge


def deletion_message(source: str, counterpart: str) -> str:
    return (
        f"{source} cannot be synchronized because it is coupled to a deleted {counterpart}. Delete the coupling, "
        f"restore the record, or set the mapping's deletion conflict resolution."
    )


def deletion_action(policy: DeletionConflict) -> str:
    """``fail``, ``uncouple`` or ``restore``."""
    return {
        DeletionConflict.NONE: "fail",
        DeletionConflict.REMOVE_COUPLING: "uncouple",
        DeletionConflict.RESTORE_RECORDS: "restore",
    }[policy]
