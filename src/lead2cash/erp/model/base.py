"""Declarative base and the bookkeeping every ERP record carries.

Every record has a UUID ``id`` (Business Central's SystemId), ``created_at``/``modified_at`` in UTC and a
``row_version`` taken from one counter per database. The counter is a single row that each writing
transaction updates, so it is held until commit: versions are handed out in commit order, which lets a
reader select ``row_version > watermark`` without ever missing a change that committed late (a plain
sequence would not give that guarantee on PostgreSQL). Deletions leave a ``Tombstone``; business events
go to the ``Outbox`` in the same transaction (see ``erp.versioning``).
"""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import JSON, BigInteger, Integer, MetaData, String, Uuid
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from lead2cash.sqltypes import UTCDateTime, utcnow

NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)


class Versioned:
    """Mixin: SystemId, timestamps and row version, maintained by ``erp.versioning``."""

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=uuid.uuid4)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, nullable=False)
    modified_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, nullable=False)
    row_version: Mapped[int] = mapped_column(BigInteger, nullable=False, index=True, default=0)

    #: the field users know the record by ("no" or "code"); used in messages and tombstones
    __key__: str = "code"
    #: how users name the table in messages ("Customer", "Unit of measure")
    __label__: str = ""

    @property
    def key_value(self) -> str:
        return str(getattr(self, self.__key__))

    @classmethod
    def label(cls) -> str:
        return cls.__label__ or cls.__name__


class RowVersionCounter(Base):
    """The single-row counter behind every ``row_version`` in this database."""

    __tablename__ = "row_version_counter"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    value: Mapped[int] = mapped_column(BigInteger, nullable=False)


class Tombstone(Base):
    """What is left of a deleted record, so incremental readers see the deletion."""

    __tablename__ = "tombstone"
    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)
    table_name: Mapped[str] = mapped_column(String(64), nullable=False)
    record_id: Mapped[uuid.UUID] = mapped_column(Uuid, nullable=False)
    record_key: Mapped[str] = mapped_column(String(100), nullable=False)
    row_version: Mapped[int] = mapped_column(BigInteger, nullable=False, index=True)
    deleted_at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False, default=utcnow)


class Outbox(Base):
    """Business events, written in the same transaction as the change they describe.

    ``row_version`` comes from the same counter as the records, so consumers can read the outbox in commit
    order with a watermark, exactly like they read records.
    """

    __tablename__ = "outbox"
    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)
    row_version: Mapped[int] = mapped_column(BigInteger, nullable=False, index=True)
    event_type: Mapped[str] = mapped_column(String(64), nullable=False, index=True)
    table_name: Mapped[str | None] = mapped_column(String(64))
    record_id: Mapped[uuid.UUID | None] = mapped_column(Uuid)
    payload: Mapped[dict] = mapped_column(JSON, nullable=False, default=dict)
    occurred_at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False, default=utcnow)
