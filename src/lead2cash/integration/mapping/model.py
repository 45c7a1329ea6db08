"""Integration table mappings, field mappings, option mappings and transformation rules (ERP database).

A mapping is data a user can read and change on the Integration Table Mappings page: which ERP table pairs
with which CRM table, which way data flows, which records take part (filters as JSON trees, see
``filters``), how conflicts are settled, and one ``FieldMapping`` row per transferred field. The
synchronization state that must survive "Use default synchronization setup" (couplings, job logs) lives
in other tables and refers to mappings by ERP table / CRM entity or by name, never by foreign key.

Watermarks are on the mapping because they describe how far its passes have read: the ERP ``row_version``
already sent, and the CRM change-tracking delta link (or a ``modifiedon`` watermark where the CRM table is
not change-tracked). The engine commits them in the same transaction as the couplings they cover.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    CheckConstraint,
    Enum,
    ForeignKey,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from lead2cash.erp.model.base import Base
from lead2cash.erp.model.columns import flag, option
from lead2cash.integration.mapping import filters
from lead2cash.integration.mapping.enums import (
    DeletionConflict,
    Direction,
    FieldStatus,
    MappingKind,
    TransformationKind,
    UpdateConflict,
)
from lead2cash.sqltypes import UTCDateTime, utcnow

NAME = 20  # mapping names are codes, as in Business Central (Code20)


def optional_option(enum: type[StrEnum]) -> Any:
    """A nullable option field (stored as its text value, like ``columns.option``)."""
    values = lambda e: [m.value for m in e]  # noqa: E731
    kind = Enum(enum, native_enum=False, length=32, values_callable=values, validate_strings=True)
    return mapped_column(kind, nullable=True)


class TableMapping(Base):
    __tablename__ = "table_mapping"

    name: Mapped[str] = mapped_column(String(NAME), primary_key=True)
    kind: Mapped[MappingKind] = option(MappingKind, MappingKind.RECORD)
    erp_table: Mapped[str] = mapped_column(String(64), nullable=False, index=True)
    crm_entity: Mapped[str] = mapped_column(String(64), nullable=False)
    crm_id_attribute: Mapped[str] = mapped_column(String(64), nullable=False)
    crm_modified_attribute: Mapped[str] = mapped_column(String(64), nullable=False, default="modifiedon")
    direction: Mapped[Direction] = option(Direction, Direction.BOTH)
    #: filter trees as JSON (``filters.to_json``); NULL = every record
    erp_filter: Mapped[dict | None] = mapped_column(JSON(none_as_null=True), nullable=True)
    crm_filter: Mapped[dict | None] = mapped_column(JSON(none_as_null=True), nullable=True)
    sync_only_coupled: Mapped[bool] = flag(True)
    update_conflict: Mapped[UpdateConflict] = option(UpdateConflict, UpdateConflict.NONE)
    deletion_conflict: Mapped[DeletionConflict] = option(DeletionConflict, DeletionConflict.NONE)
    #: mapping names, separated by "|", that a full synchronization must finish first
    dependency_filter: Mapped[str] = mapped_column(String(250), nullable=False, default="")
    create_new_if_no_match: Mapped[bool] = flag()
    sync_after_bulk_coupling: Mapped[bool] = flag()
    disable_event_reschedule: Mapped[bool] = flag()
    #: recurring job: minutes between runs (NULL = no recurring job), idle timeout, category (runs serialized)
    job_interval_minutes: Mapped[int | None] = mapped_column(Integer, nullable=True)
    job_inactivity_timeout_minutes: Mapped[int] = mapped_column(Integer, nullable=False, default=720)
    job_category: Mapped[str] = mapped_column(String(20), nullable=False, default="")
    # watermarks
    erp_row_version_watermark: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    crm_delta_link: Mapped[str | None] = mapped_column(Text, nullable=True)
    crm_modified_watermark: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    # temporary child mappings (manual synchronization, full synchronization)
    parent_name: Mapped[str | None] = mapped_column(String(NAME), nullable=True)
    is_temporary: Mapped[bool] = flag()
    full_sync_running: Mapped[bool] = flag()
    full_sync_started_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    user_defined: Mapped[bool] = flag()
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False, default=utcnow)
    modified_at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False, default=utcnow, onupdate=utcnow)

    field_mappings: Mapped[list[FieldMapping]] = relationship(
        back_populates="table_mapping",
        order_by="FieldMapping.id",
        cascade="all, delete-orphan",
        passive_deletes=True,
    )
    option_mappings: Mapped[list[OptionMapping]] = relationship(
        back_populates="table_mapping", cascade="all, delete-orphan", passive_deletes=True
    )

    @property
    def dependencies(self) -> list[str]:
        return [n for n in self.dependency_filter.split("|") if n]

    def erp_filter_tree(self) -> filters.Filter | None:
        return filters.from_json(self.erp_filter) if self.erp_filter else None

    def crm_filter_tree(self) -> filters.Filter | None:
        return filters.from_json(self.crm_filter) if self.crm_filter else None

    def fields_for(self, direction: Direction) -> list[FieldMapping]:
        """Enabled field rows taking part in a pass in ``direction`` (TO_CRM or FROM_CRM), in row order."""
        return [f for f in self.field_mappings if f.status is FieldStatus.ENABLED and f.direction.includes(direction)]


class FieldMapping(Base):
    """One transferred field. No ERP field = a constant written to the CRM; no CRM attribute = the reverse."""

    __tablename__ = "field_mapping"
    __table_args__ = (
        CheckConstraint("erp_field IS NOT NULL OR crm_attribute IS NOT NULL", name="has_a_field"),
        CheckConstraint("NOT (clear_value_on_failed_sync AND not_null)", name="clear_or_not_null"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    table_mapping_name: Mapped[str] = mapped_column(
        String(NAME),
        ForeignKey("table_mapping.name", ondelete="CASCADE", onupdate="CASCADE"),
        nullable=False,
        index=True,
    )
    #: the ERP model attribute (``salesperson_code``)
    erp_field: Mapped[str | None] = mapped_column(String(64), nullable=True)
    #: the CRM attribute logical name (``ownerid``); for lookups the target entity is ``crm_lookup_target``
    crm_attribute: Mapped[str | None] = mapped_column(String(64), nullable=True)
    crm_lookup_target: Mapped[str | None] = mapped_column(String(64), nullable=True)
    direction: Mapped[Direction] = option(Direction, Direction.BOTH)
    constant_value: Mapped[str | None] = mapped_column(String(100), nullable=True)
    validate_erp: Mapped[bool] = flag(True)
    validate_crm: Mapped[bool] = flag()
    clear_value_on_failed_sync: Mapped[bool] = flag()
    #: only write a lookup when it resolves to a value (keep the destination's value otherwise)
    not_null: Mapped[bool] = flag()
    status: Mapped[FieldStatus] = option(FieldStatus, FieldStatus.ENABLED)
    transformation_rule: Mapped[str | None] = mapped_column(
        String(20), ForeignKey("transformation_rule.code", onupdate="CASCADE"), nullable=True
    )
    transformation_direction: Mapped[Direction | None] = optional_option(Direction)
    use_for_matching: Mapped[bool] = flag()
    case_sensitive_matching: Mapped[bool] = flag()
    match_priority: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    user_defined: Mapped[bool] = flag()

    table_mapping: Mapped[TableMapping] = relationship(back_populates="field_mappings")

    @property
    def key(self) -> str:
        """This row's key in a coupling's ``synced_values`` snapshot."""
        return f"{self.erp_field or ''}|{self.crm_attribute or ''}"

    @property
    def is_constant(self) -> bool:
        return self.erp_field is None or self.crm_attribute is None

    def __repr__(self) -> str:
        arrow = {Direction.TO_CRM: "->", Direction.FROM_CRM: "<-", Direction.BOTH: "<->"}[self.direction]
        return f"<FieldMapping {self.table_mapping_name}: {self.erp_field} {arrow} {self.crm_attribute}>"


class OptionMapping(Base):
    """A CRM choice column whose options an option mapping (PAYMENT TERMS …) manages.

    The ``is_primary`` row is the option set the mapping synchronizes with (account ``paymenttermscode``); the
    other rows are document columns that carry the same choices (quote / order / invoice payment terms)
    and are matched by label when a document is transferred.
    """

    __tablename__ = "option_mapping"
    __table_args__ = (UniqueConstraint("crm_entity", "crm_attribute"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    table_mapping_name: Mapped[str] = mapped_column(
        String(NAME),
        ForeignKey("table_mapping.name", ondelete="CASCADE", onupdate="CASCADE"),
        nullable=False,
        index=True,
    )
    crm_entity: Mapped[str] = mapped_column(String(64), nullable=False)
    crm_attribute: Mapped[str] = mapped_column(String(64), nullable=False)
    is_primary: Mapped[bool] = flag()

    table_mapping: Mapped[TableMapping] = relationship(back_populates="option_mappings")


class TransformationRule(Base):
    """A named text transformation applied to a source value before transfer (field rows refer to it)."""

    __tablename__ = "transformation_rule"

    code: Mapped[str] = mapped_column(String(20), primary_key=True)
    description: Mapped[str] = mapped_column(String(100), nullable=False, default="")
    kind: Mapped[TransformationKind] = option(TransformationKind, TransformationKind.TRIM)
    #: REPLACE: text to find; REGEX_REPLACE: the pattern
    find_value: Mapped[str] = mapped_column(String(250), nullable=False, default="")
    replace_value: Mapped[str] = mapped_column(String(250), nullable=False, default="")
    #: SUBSTRING: 1-based start and length (0 = to the end)
    start_position: Mapped[int] = mapped_column(Integer, nullable=False, default=1)
    length: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
