"""Set-based loading of many trusted rows (demo data, benchmarks, initial imports).

Rows go in with one multi-row INSERT per chunk, after one counter update reserves their row versions, and
one ``<table>.changed`` outbox event records the batch — the same bookkeeping the ORM hook does per flush,
without per-row overhead. Referential integrity is still enforced by the database's foreign keys; the
per-field business rules of ``rules`` are not run, so use this only for data produced by the system itself.
"""

from __future__ import annotations

import uuid
from collections import Counter
from collections.abc import Iterable

from sqlalchemy import bindparam, insert, update
from sqlalchemy.orm import Session

from lead2cash.erp.model import Versioned
from lead2cash.erp.versioning import record_changes, reserve_versions
from lead2cash.sqltypes import utcnow

CHUNK = 2_000


def insert_many(session: Session, model: type[Versioned], rows: Iterable[dict]) -> int:
    """Insert ``rows`` into ``model``'s table; returns how many. Runs in the session's transaction."""
    conn = session.connection()
    table = model.__table__
    total = 0
    chunk: list[dict] = []
    for row in rows:
        chunk.append(row)
        if len(chunk) >= CHUNK:
            total += _insert_chunk(conn, table, chunk)
            chunk = []
    if chunk:
        total += _insert_chunk(conn, table, chunk)
    return total


def _column_default(column):
    default = column.default
    if default is None or not default.is_scalar:
        return None
    return default.arg


def _insert_chunk(conn, table, rows: list[dict]) -> int:
    first = reserve_versions(conn, len(rows))
    now = utcnow()
    keys = set().union(*rows)  # one executemany needs the same keys in every row
    for offset, row in enumerate(rows):
        for key in keys - row.keys():
            row[key] = _column_default(table.c[key])
        row.setdefault("id", uuid.uuid4())
        row["created_at"] = row["modified_at"] = now
        row["row_version"] = first + offset
    conn.execute(insert(table), rows)
    record_changes(conn, table.name, Counter(inserted=len(rows)), first, first + len(rows) - 1)
    return len(rows)


def update_many(session: Session, model: type[Versioned], rows: list[dict], *, key: str | None = None) -> int:
    """Set the given fields on existing rows found by ``key`` (default: the table's no./code), set-based."""
    if not rows:
        return 0
    conn = session.connection()
    table = model.__table__
    key = key or model.__key__
    fields = sorted(set().union(*rows) - {key})
    first = reserve_versions(conn, len(rows))
    now = utcnow()
    params = [
        {
            "k_" + key: row[key],
            "v_modified_at": now,
            "v_row_version": first + offset,
            **{"v_" + name: row.get(name) for name in fields},
        }
        for offset, row in enumerate(rows)
    ]
    values = {name: bindparam("v_" + name) for name in [*fields, "modified_at", "row_version"]}
    conn.execute(update(table).where(table.c[key] == bindparam("k_" + key)).values(values), params)
    record_changes(conn, table.name, Counter(modified=len(rows)), first, first + len(rows) - 1)
    return len(rows)
