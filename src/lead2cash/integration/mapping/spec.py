"""Plain descriptions of mappings and field rows, from which mapping rows are created.

The standard setup (``standard``) is written with these, so it reads like the reference's field lists:
``both("name", "name")``, ``to_crm("salesperson_code", "ownerid", lookup="systemuser", not_null=True)``.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from lead2cash.integration.mapping import filters
from lead2cash.integration.mapping.enums import DeletionConflict, Direction, MappingKind, UpdateConflict


@dataclass(frozen=True)
class FieldSpec:
    erp: str | None
    crm: str | None
    direction: Direction
    constant: str | None = None
    lookup: str | None = None
    validate: bool = True
    clear_on_failed_sync: bool = False
    not_null: bool = False
    enabled: bool = True
    match: bool = False


def both(erp: str, crm: str, **kw) -> FieldSpec:
    return FieldSpec(erp, crm, Direction.BOTH, **kw)


def to_crm(erp: str, crm: str, **kw) -> FieldSpec:
    return FieldSpec(erp, crm, Direction.TO_CRM, **kw)


def from_crm(erp: str, crm: str, **kw) -> FieldSpec:
    return FieldSpec(erp, crm, Direction.FROM_CRM, **kw)


def constant_to_crm(crm: str, value: str) -> FieldSpec:
    """Write a constant into a CRM attribute (no ERP field)."""
    return FieldSpec(None, crm, Direction.TO_CRM, constant=value)


def constant_to_erp(erp: str, value: str) -> FieldSpec:
    """Write a constant into an ERP field (no CRM attribute)."""
    return FieldSpec(erp, None, Direction.FROM_CRM, constant=value)


def owner() -> FieldSpec:
    """The CRM owner is the user coupled to the record's salesperson (R2); blank salesperson: keep owner."""
    return to_crm("salesperson_code", "ownerid", lookup="systemuser", not_null=True)


def address(erp_prefix: str, crm_prefix: str, direction: Direction = Direction.TO_CRM) -> list[FieldSpec]:
    """Name and address block of posted documents (ship-to / bill-to)."""
    parts = [
        ("name", "name"),
        ("address", "line1"),
        ("address_2", "line2"),
        ("city", "city"),
        ("post_code", "postalcode"),
        ("county", "stateorprovince"),
        ("country_region_code", "country"),
    ]
    return [FieldSpec(f"{erp_prefix}_{e}", f"{crm_prefix}_{c}", direction) for e, c in parts]


@dataclass(frozen=True)
class MappingSpec:
    name: str
    erp_table: str
    crm_entity: str
    direction: Direction
    fields: tuple[FieldSpec, ...]
    erp_filter: filters.Filter | None = None
    crm_filter: filters.Filter | None = None
    dependencies: tuple[str, ...] = ()
    sync_only_coupled: bool = True
    update_conflict: UpdateConflict = UpdateConflict.NONE
    deletion_conflict: DeletionConflict = DeletionConflict.NONE
    job_interval_minutes: int | None = 30
    job_inactivity_timeout_minutes: int = 720
    job_category: str = ""
    create_new_if_no_match: bool = False
    sync_after_bulk_coupling: bool = False
    kind: MappingKind = MappingKind.RECORD
    #: option mappings: (crm_entity, crm_attribute) of every option set it manages, the primary one first
    option_sets: tuple[tuple[str, str], ...] = ()
    crm_id_attribute: str = field(default="")

    @property
    def id_attribute(self) -> str:
        if self.crm_id_attribute:
            return self.crm_id_attribute
        return self.option_sets[0][1] if self.kind is MappingKind.OPTION else f"{self.crm_entity}id"


@dataclass(frozen=True)
class Omitted:
    """A reference field row the standard setup leaves out, and why (shown in the setup's documentation)."""

    mapping: str
    row: str
    reason: str
