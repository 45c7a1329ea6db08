"""Keeps ``row_version``, ``modified_at``, tombstones and change events right on every flush.

Installed on the ERP's session factory (``install``). Before each flush it counts the versioned records
being inserted, changed or deleted, reserves that many versions with one counter update, stamps them, writes
tombstones for the deletions and one ``<table>.changed`` outbox event per table touched. Bulk loaders that
bypass the ORM use ``reserve_versions`` and ``record_changes`` directly so the same rules hold.
"""

from __future__ import annotations

import uuid
from collections import Counter, defaultdict

from sqlalchemy import insert, update
from sqlalchemy.engine import Connection
from sqlalchemy.orm import Session, sessionmaker

from lead2cash.erp.model.base import Outbox, RowVersionCounter, Tombstone, Versioned
from lead2cash.sqltypes import utcnow

_COUNTER = RowVersionCounter.__table__


def reserve_versions(conn: Connection, count: int) -> int:
    """Reserve ``count`` consecutive versions; returns the first. Holds the counter row until commit."""
    if count <= 0:
        raise ValueError("count must be positive")
    top = conn.execute(
        update(_COUNTER).where(_COUNTER.c.id == 1).values(value=_COUNTER.c.value + count).returning(_COUNTER.c.value)
    ).scalar_one()
    return top - count + 1


def current_version(conn: Connection) -> int:
    """The highest version handed out so far (a reader's natural watermark)."""
    return conn.execute(_COUNTER.select().with_only_columns(_COUNTER.c.value)).scalar_one()


def emit(
    session: Session,
    event_type: str,
    *,
    table: str | None = None,
    record_id: uuid.UUID | None = None,
    payload: dict | None = None,
) -> None:
    """Write one business event to the outbox in the session's transaction."""
    version = reserve_versions(session.connection(), 1)
    session.add(
        Outbox(
            row_version=version,
            event_type=event_type,
            table_name=table,
            record_id=record_id,
            payload=payload or {},
            occurred_at=utcnow(),
        )
    )


def record_changes(conn: Connection, table: str, counts: Counter, first_version: int, last_version: int) -> None:
    """Write the ``<table>.changed`` summary event for a batch of inserts/updates/deletes."""
    conn.execute(
        insert(Outbox.__table__).values(
            row_version=last_version,
            event_type=f"{table}.changed",
            table_name=table,
            payload={
                "inserted": counts["inserted"],
                "modified": counts["modified"],
                "deleted": counts["deleted"],
                "from_version": first_version,
                "to_version": last_version,
            },
            occurred_at=utcnow(),
        )
    )


def _before_flush(session: Session, _context, _instances) -> None:
    new = [o for o in session.new if isinstance(o, Versioned)]
    dirty = [o for o in session.dirty if isinstance(o, Versioned) and session.is_modified(o, include_collections=False)]
    deleted = [o for o in session.deleted if isinstance(o, Versioned)]
    total = len(new) + len(dirty) + len(deleted)
    if not total:
        return
    conn = session.connection()
    version = reserve_versions(conn, total)
    now = utcnow()
    per_table: dict[str, Counter] = defaultdict(Counter)
    ranges: dict[str, list[int]] = {}
    for kind, objects in (("inserted", new), ("modified", dirty), ("deleted", deleted)):
        for obj in objects:
            table = obj.__tablename__
            per_table[table][kind] += 1
            lo_hi = ranges.setdefault(table, [version, version])
            lo_hi[1] = version
            if kind == "deleted":
                session.add(
                    Tombstone(
                        table_name=table,
                        record_id=obj.id,
                        record_key=obj.key_value[:100],
                        row_version=version,
                        deleted_at=now,
                    )
                )
            else:
                obj.row_version = version
                obj.modified_at = now
                if kind == "inserted":
                    obj.created_at = now
                    if obj.id is None:
                        obj.id = uuid.uuid4()
            version += 1
    for table, counts in per_table.items():
        record_changes(conn, table, counts, *ranges[table])


def install(factory: sessionmaker[Session]) -> sessionmaker[Session]:
    from sqlalchemy import event

    if not event.contains(factory, "before_flush", _before_flush):
        event.listen(factory, "before_flush", _before_flush)
    return factory
