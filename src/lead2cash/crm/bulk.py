"""Set-based writes behind ``CreateMultiple``, ``UpdateMultiple`` and ``UpsertMultiple``.

The bulk actions exist so a client can move thousands of rows in few requests; answering them row by row
(one INSERT, one existence check and one key check per target) would make the server the bottleneck the
actions are meant to remove. Here every page of rows costs a fixed number of statements: one query for
the rows that already exist, one per alternate key for duplicates, one multi-row INSERT, and one UPDATE
per distinct set of changed columns — plus one query per referenced table to resolve ``@odata.bind``.

Semantics are those of a standard (non-elastic) Dataverse table: the request succeeds or fails as a
whole (the caller's unit of work rolls back), duplicate keys within the targets are an error, and each
row goes through the same rules as a single write (defaults, write hooks such as the Sales rules, derived
columns, org-wide ``versionnumber``, ``createdby``/``modifiedby``).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa

from lead2cash.crm.metadata import EntityDef
from lead2cash.crm.odata import errors
from lead2cash.crm.odata.keys import EntityKey, parse_reference
from lead2cash.crm.payload import coerce
from lead2cash.crm.schema import key_column
from lead2cash.crm.store import Change, UnitOfWork, new_id, normalise_guid

PAGE = 500  # rows per statement: well below every database's bind-parameter limit


def pages(items: list, size: int = PAGE) -> Iterator[list]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


def _fold(value: Any) -> Any:
    """Key values compare case-insensitively, as the database (and Dataverse) compare them."""
    return value.lower() if isinstance(value, str) else value


def existing_by_id(uow: UnitOfWork, entity: EntityDef, ids: Iterable[str]) -> dict[str, dict]:
    """The current rows among ``ids``, one query per page."""
    table = uow.table(entity)
    pk = table.c[entity.primary_id_attribute]
    found: dict[str, dict] = {}
    for page in pages(sorted(set(ids))):
        for row in uow.conn.execute(sa.select(table).where(pk.in_(page))).mappings():
            found[row[entity.primary_id_attribute]] = dict(row)
    return found


def existing_by_key(
    uow: UnitOfWork,
    entity: EntityDef,
    names: tuple[str, ...],
    values: Iterable[tuple],
    *,
    whole_rows: bool = True,
) -> dict[tuple, dict]:
    """Rows whose alternate key ``names`` has one of ``values``, keyed by the case-folded value tuple
    (just the primary key and key columns unless ``whole_rows``)."""
    table = uow.table(entity)
    columns = [table.c[name] for name in names]
    selected = [table] if whole_rows else [table.c[entity.primary_id_attribute], *columns]
    # SQLite's NOCASE columns already compare text case-insensitively; elsewhere fold both sides, as the
    # key's index does (schema.key_column), so the lookup is served by it.
    compared = [key_column(c, fold_keys=uow.store.fold_keys) for c in columns]
    fold = [c is not f for c, f in zip(columns, compared, strict=True)]
    found: dict[tuple, dict] = {}
    wanted = {tuple(_fold(v) if f else v for v, f in zip(value, fold, strict=True)) for value in values}
    for page in pages(sorted(wanted, key=repr)):
        where = compared[0].in_([v[0] for v in page]) if len(columns) == 1 else sa.tuple_(*compared).in_(page)
        for row in uow.conn.execute(sa.select(*selected).where(where)).mappings():
            found[tuple(_fold(row[name]) for name in names)] = dict(row)
    return found


def check_keys(uow: UnitOfWork, entity: EntityDef, rows: list[tuple[str, dict, set[str] | None]]) -> None:
    """Alternate-key uniqueness for ``(id, full row values, changed columns or None for a new row)``,
    within the request and against the table; rows that leave a key's columns alone are not checked."""
    for key in entity.alternate_keys:
        writers: dict[tuple, str] = {}
        raw: set[tuple] = set()
        for id, values, changed in rows:
            if changed is not None and not changed & set(key.key_attributes):
                continue
            value = tuple(values.get(name) for name in key.key_attributes)
            if any(v is None for v in value):
                continue
            folded = tuple(_fold(v) for v in value)
            if writers.setdefault(folded, id) != id:
                raise errors.DataverseError(
                    412, errors.DUPLICATE_KEY, "A record with matching key values already exists."
                )
            raw.add(value)
        clashes = existing_by_key(uow, entity, key.key_attributes, raw, whole_rows=False) if raw else {}
        for folded, row in clashes.items():
            if row[entity.primary_id_attribute] != writers.get(folded, row[entity.primary_id_attribute]):
                raise errors.DataverseError(
                    412, errors.DUPLICATE_KEY, "A record with matching key values already exists."
                )


def create_many(uow: UnitOfWork, entity: EntityDef, items: list[dict[str, Any]]) -> list[str]:
    """Insert rows (column values as from ``payload.parse_body``); returns their ids in order."""
    changes: list[Change] = []
    for values in items:
        values = dict(values)
        id = normalise_guid(values.pop(entity.primary_id_attribute, None) or new_id())
        changes.append(uow.prepare_create(entity, values, id))
    ids = [c.id for c in changes]
    if len(set(ids)) != len(ids):
        raise errors.bad_request("The same primary key appears more than once in Targets.")
    if existing_by_id(uow, entity, ids):
        raise errors.DataverseError(412, errors.ALREADY_EXISTS, "A record with matching key values already exists.")
    check_keys(uow, entity, [(c.id, c.values, None) for c in changes])
    last = uow.next_versions(len(changes)) if changes else 0
    rows = []
    for offset, change in enumerate(changes):
        uow.derive(change)
        row = {**change.values, entity.primary_id_attribute: change.id}
        row.update(versionnumber=last - len(changes) + 1 + offset, modifiedon=uow.now, modifiedby=uow.caller_id)
        row.update(createdon=change.values.get("overriddencreatedon") or uow.now, createdby=uow.caller_id)
        rows.append(row)
    columns = sorted({name for row in rows for name in row})
    table = uow.table(entity)
    for page in pages(rows):
        uow.conn.execute(sa.insert(table), [{name: row.get(name) for name in columns} for row in page])
    for change in changes:
        uow.complete(change)
    return ids


def update_many(
    uow: UnitOfWork,
    entity: EntityDef,
    items: list[tuple[str, dict[str, Any]]],
    existing: dict[str, dict] | None = None,
) -> None:
    """Update existing rows (``(id, values)``); 404 for the first id that does not exist.

    ``existing`` may pass the current rows when the caller already read them.
    """
    ids = [id for id, _ in items]
    if len(set(ids)) != len(ids):
        raise errors.bad_request("The same record appears more than once in Targets.")
    if existing is None:
        existing = existing_by_id(uow, entity, ids)
    changes: list[Change] = []
    for id, values in items:
        if id not in existing:
            raise errors.not_found(entity.logical_name, id)
        changes.append(uow.prepare_update(entity, id, values, existing[id]))
    check_keys(uow, entity, [(c.id, {**c.existing, **c.values}, set(c.values)) for c in changes])
    last = uow.next_versions(len(changes)) if changes else 0
    groups: dict[tuple[str, ...], list[dict]] = defaultdict(list)
    for offset, change in enumerate(changes):
        uow.derive(change)
        row = {**change.values, "versionnumber": last - len(changes) + 1 + offset}
        row.update(modifiedon=uow.now, modifiedby=uow.caller_id)
        groups[tuple(sorted(row))].append({"_id": change.id, **{f"v_{k}": v for k, v in row.items()}})
    table = uow.table(entity)
    for columns, rows in groups.items():
        stmt = (
            sa.update(table)
            .where(table.c[entity.primary_id_attribute] == sa.bindparam("_id"))
            .values({name: sa.bindparam(f"v_{name}", type_=table.c[name].type) for name in columns})
        )
        for page in pages(rows):
            uow.conn.execute(stmt, page)
    for change in changes:
        uow.complete(change)


@dataclass
class UpsertTarget:
    """One UpsertMultiple target: how it is identified and its body without the identifying annotation."""

    key: EntityKey | None
    body: dict[str, Any]


def upsert_target(uow: UnitOfWork, entity: EntityDef, target: dict[str, Any]) -> UpsertTarget:
    """The key of an upsert target: ``@odata.id``, else the primary key, else a complete alternate key."""
    body = {k: v for k, v in target.items() if k != "@odata.id"}
    ref = target.get("@odata.id")
    if ref is not None:
        if not isinstance(ref, str):
            raise errors.bad_request("'@odata.id' must be an entity URL.", "0x80048d19")
        ref_entity, key = parse_reference(uow.registry, ref)
        if ref_entity.logical_name != entity.logical_name:
            raise errors.bad_request(f"'@odata.id' {ref} does not name a {entity.logical_name} record.")
        return UpsertTarget(key, body)
    pk = body.get(entity.primary_id_attribute)
    if pk is not None:
        try:
            return UpsertTarget(EntityKey(id=normalise_guid(pk)), body)
        except ValueError:
            raise errors.bad_request(f"'{pk}' is not a valid {entity.primary_id_attribute}.") from None
    for key in entity.alternate_keys:
        if all(body.get(name) is not None for name in key.key_attributes):
            values = {n: coerce(entity, entity.attributes[n], body[n]) for n in key.key_attributes}
            return UpsertTarget(EntityKey(alternate=values), body)
    return UpsertTarget(None, body)


def find_upsert_rows(uow: UnitOfWork, entity: EntityDef, targets: list[UpsertTarget]) -> list[dict | None]:
    """The existing row for each target (None: it will be created), with set-based queries."""
    by_id = existing_by_id(uow, entity, [t.key.id for t in targets if t.key and t.key.id])
    by_key: dict[tuple[str, ...], dict[tuple, dict]] = {}
    wanted: dict[tuple[str, ...], set[tuple]] = defaultdict(set)
    for t in targets:
        if t.key and t.key.alternate:
            names = tuple(sorted(t.key.alternate))
            wanted[names].add(tuple(t.key.alternate[n] for n in names))
    for names, values in wanted.items():
        by_key[names] = existing_by_key(uow, entity, names, values)
    seen: set[Any] = set()
    rows: list[dict | None] = []
    for t in targets:
        if t.key is None:
            rows.append(None)
            continue
        if t.key.id is not None:
            identity: Any = t.key.id
            rows.append(by_id.get(t.key.id))
        else:
            names = tuple(sorted(t.key.alternate or {}))
            identity = (names, tuple(_fold(t.key.alternate[n]) for n in names))
            rows.append(by_key[names].get(identity[1]))
        if identity in seen:
            raise errors.bad_request(f"Targets contain the key {t.key.describe()} more than once.")
        seen.add(identity)
    return rows
