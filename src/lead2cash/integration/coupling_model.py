"""Couplings: which ERP record is which CRM row, and what each side looked like at the last synchronization.

One ``Coupling`` per coupled pair. The database enforces one-to-one in both directions: an ERP record has
at most one coupling per ERP table, and a CRM row at most one per CRM entity (so an item and a resource can
never share one product). Couplings refer to tables by name, not to a mapping row, so recreating the
default mappings keeps them.

Change detection is by version, never by clock: the coupling keeps the ERP ``row_version`` and the CRM
``versionnumber`` written or read at the last synchronization, so a record is "changed since the last sync"
exactly when its current version is higher. ``synced_values`` is the snapshot of the mapped field values at
that moment, the common ancestor of a three-way merge when both sides changed different fields.

``OptionCoupling`` does the same for option mappings: an ERP code record (payment terms ``30 DAYS``) and
one choice of a CRM option set.
"""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import JSON, BigInteger, Index, Integer, String, Text, UniqueConstraint, Uuid
from sqlalchemy.orm import Mapped, mapped_column

from lead2cash.erp.model.base import Base
from lead2cash.erp.model.columns import flag
from lead2cash.integration.mapping.enums import SyncResult
from lead2cash.integration.mapping.model import optional_option
from lead2cash.sqltypes import UTCDateTime, utcnow

_ID = BigInteger().with_variant(Integer, "sqlite")


class _SyncState:
    """Per-direction result of the last attempt, the job that made it, and the skip flag (R15)."""

    #: last ERP → CRM attempt (Business Central keeps this in the "CRM" result fields)
    last_to_crm_result: Mapped[SyncResult | None] = optional_option(SyncResult)
    last_to_crm_job_id: Mapped[uuid.UUID | None] = mapped_column(Uuid, nullable=True)
    #: last CRM → ERP attempt
    last_from_crm_result: Mapped[SyncResult | None] = optional_option(SyncResult)
    last_from_crm_job_id: Mapped[uuid.UUID | None] = mapped_column(Uuid, nullable=True)
    #: message of the last failure, compared with the next one: the same error twice marks the pair skipped
    last_error: Mapped[str | None] = mapped_column(Text, nullable=True)
    skipped: Mapped[bool] = flag()
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False, default=utcnow)
    modified_at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False, default=utcnow, onupdate=utcnow)


class Coupling(_SyncState, Base):
    __tablename__ = "coupling"
    __table_args__ = (
        UniqueConstraint("erp_table", "erp_id", name="uq_coupling_erp_record"),
        UniqueConstraint("crm_entity", "crm_id", name="uq_coupling_crm_row"),
        Index("ix_coupling_attention", "erp_table", "skipped", "last_to_crm_result", "last_from_crm_result"),
    )

    id: Mapped[int] = mapped_column(_ID, primary_key=True, autoincrement=True)
    erp_table: Mapped[str] = mapped_column(String(64), nullable=False)
    #: the ERP record's SystemId
    erp_id: Mapped[uuid.UUID] = mapped_column(Uuid, nullable=False)
    crm_entity: Mapped[str] = mapped_column(String(64), nullable=False)
    crm_id: Mapped[uuid.UUID] = mapped_column(Uuid, nullable=False)
    #: versions of both sides as of the last synchronization (NULL = never synchronized)
    erp_row_version: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    crm_version: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    #: for display only; never used to decide whether something changed
    crm_modified_on: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    erp_modified_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    #: mapped field values at the last synchronization, keyed by field row ("erp_field|crm_attribute")
    synced_values: Mapped[dict | None] = mapped_column(JSON(none_as_null=True), nullable=True)

    def __repr__(self) -> str:
        return f"<Coupling {self.erp_table} {self.erp_id} = {self.crm_entity} {self.crm_id}>"


class OptionCoupling(_SyncState, Base):
    __tablename__ = "option_coupling"
    __table_args__ = (
        UniqueConstraint("erp_table", "erp_id", name="uq_option_coupling_erp_record"),
        UniqueConstraint("crm_entity", "crm_attribute", "option_value", name="uq_option_coupling_option"),
    )

    id: Mapped[int] = mapped_column(_ID, primary_key=True, autoincrement=True)
    erp_table: Mapped[str] = mapped_column(String(64), nullable=False)
    erp_id: Mapped[uuid.UUID] = mapped_column(Uuid, nullable=False)
    #: the ERP code, kept so the option's label can be compared without reading the record
    erp_code: Mapped[str] = mapped_column(String(20), nullable=False)
    crm_entity: Mapped[str] = mapped_column(String(64), nullable=False)
    crm_attribute: Mapped[str] = mapped_column(String(64), nullable=False)
    option_value: Mapped[int] = mapped_column(Integer, nullable=False)
    option_label: Mapped[str] = mapped_column(String(250), nullable=False, default="")
    erp_row_version: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
