"""Checks for a mapping a user edited: what would make its passes fail, named before the first run.

The same rules as Business Central's Integration Table Mapping page: an option mapping cannot be
bidirectional, a direction needs at least one enabled field row that can take part in it, "clear value on
failed sync" and "not null" exclude each other, a constant row writes into exactly one side, and every ERP
field and filter must exist on the ERP table. CRM attributes are checked at run time against the CRM's
own metadata (the integration reads it over HTTP), not here.
"""

from __future__ import annotations

from lead2cash.integration.mapping import filters
from lead2cash.integration.mapping.defaults import SetupError, erp_model
from lead2cash.integration.mapping.enums import Direction, FieldStatus, MappingKind
from lead2cash.integration.mapping.model import TableMapping


def problems(mapping: TableMapping) -> list[str]:
    """Everything wrong with ``mapping``, one sentence each (empty when it can run)."""
    found: list[str] = []
    try:
        model = erp_model(mapping.erp_table)
    except SetupError as exc:
        return [f"{mapping.name}: {exc}"]
    columns = model.__table__.columns
    if mapping.kind is MappingKind.OPTION and mapping.direction is Direction.BOTH:
        found.append(f"{mapping.name}: option mappings synchronize to or from the CRM, not both ways.")
    enabled = [f for f in mapping.field_mappings if f.status is FieldStatus.ENABLED]
    passes = [Direction.TO_CRM, Direction.FROM_CRM] if mapping.direction is Direction.BOTH else [mapping.direction]
    for direction in passes:
        if not any(f.direction.includes(direction) for f in enabled):
            found.append(f"{mapping.name}: no enabled field row synchronizes {direction.value.lower()}.")
    for row in mapping.field_mappings:
        label = f"{mapping.name} row {row.erp_field or '(constant)'} / {row.crm_attribute or '(constant)'}"
        if row.erp_field is not None and row.erp_field not in columns:
            found.append(f"{label}: {model.__name__} has no field {row.erp_field!r}.")
        if row.clear_value_on_failed_sync and row.not_null:
            found.append(f"{label}: 'clear value on failed sync' and 'not null' exclude each other.")
        if row.erp_field is None and row.crm_attribute is None:
            found.append(f"{label}: name an ERP field or a CRM attribute.")
        elif row.is_constant:
            if row.constant_value is None:
                found.append(f"{label}: a row with one side only writes a constant; enter the constant value.")
            wanted = Direction.TO_CRM if row.erp_field is None else Direction.FROM_CRM
            if row.direction is not wanted:
                found.append(f"{label}: a constant for the {'CRM' if row.erp_field is None else 'ERP'} "
                             f"is written {wanted.value.lower()} only.")  # fmt: skip
        if row.direction is Direction.BOTH and mapping.direction is not Direction.BOTH:
            continue  # behaves as the mapping's direction
        if row.status is FieldStatus.ENABLED and not (
            mapping.direction is Direction.BOTH or row.direction in (mapping.direction, Direction.BOTH)
        ):
            found.append(f"{label}: its direction ({row.direction.value}) is not used by a "
                         f"{mapping.direction.value} mapping.")  # fmt: skip
    for side, tree in (("ERP", mapping.erp_filter), ("CRM", mapping.crm_filter)):
        if tree is None:
            continue
        try:
            parsed = filters.from_json(tree)
            if side == "ERP":
                filters.check(parsed, model)
        except filters.FilterError as exc:
            found.append(f"{mapping.name}: {side} table filter: {exc}")
    return found
