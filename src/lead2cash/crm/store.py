"""The CRM database: one SQL table per entity, an org-wide version counter, tombstones, customizations.

The schema is metadata-driven on purpose. In Dataverse, customizers create tables, columns and alternate
keys at run time through the metadata API, so the SQL layout cannot be a fixed set of migrations: every
table is built from the ``Registry`` (standard tables on first start, custom ones when they are created),
and each customization is recorded in ``crm_customization`` so a restarted server rebuilds the same
registry. Layout: table = entity logical name; column = attribute logical name; a lookup stores the target
GUID (lowercase text) in the column named like the lookup, and a polymorphic lookup also stores the
target's logical name in ``<name>_type``.

Every write goes through a ``UnitOfWork``: it bumps the org-wide ``versionnumber`` (ETags, optimistic
concurrency and change-tracking tokens all derive from it), stamps ``modifiedon``/``modifiedby`` with the
caller, runs the registered write hooks (Sales rules live in ``crm/sales.py``) and leaves a tombstone for
every deleted row so change tracking can report ``$deletedEntity``.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Hashable, Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from datetime import datetime, timedelta
from typing import Any, Protocol

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.schema import CreateColumn

from lead2cash.crm.catalog import standard_registry
from lead2cash.crm.ids import new_id, normalise_guid
from lead2cash.crm.metadata import AlternateKeyDef, AttributeDef, EntityDef, OptionDef, Registry
from lead2cash.crm.odata import errors
from lead2cash.crm.schema import (  # noqa: F401  (re-exported: the store is the public entry point)
    CASCADE_DELETE,
    build_table,
    column_type,
    columns_for,
    customizations,
    entity_json,
    key_column,
    key_index,
    org_counter,
    record_customization,
    replay_customization,
    system_metadata,
    tombstones,
)
from lead2cash.db import make_engine
from lead2cash.sqltypes import utcnow

DEFAULT_CHANGE_TRACKING_EXPIRY = timedelta(days=7)
_UNTOUCHED_ON_DELETE = {"createdby", "modifiedby", "ownerid", "owningbusinessunit"}


@dataclass
class Change:
    """One write as seen by write hooks. ``values`` may be amended by ``before`` hooks."""

    entity: EntityDef
    op: str  # create | update | delete
    id: str
    values: dict[str, Any]
    existing: dict[str, Any] | None = None


class WriteHook(Protocol):
    """Business rules around writes (state machines, totals). Raise ``DataverseError`` to refuse."""

    def before(self, uow: UnitOfWork, change: Change) -> None: ...

    def after(self, uow: UnitOfWork, change: Change) -> None: ...


class Store:
    """An org's database plus its registry. ``unit_of_work`` is the only way to read or write rows."""

    def __init__(self, url: str, registry: Registry | None = None, *, engine: Engine | None = None):
        self.url = url
        self.engine = engine or make_engine(url)
        self.read_engine = _read_engine(url) if self.engine.dialect.name == "sqlite" else self.engine
        self.registry = registry or standard_registry()
        self.metadata = sa.MetaData()
        self.tables: dict[str, sa.Table] = {}
        self.hooks: list[WriteHook] = []
        self.change_tracking_expiry = DEFAULT_CHANGE_TRACKING_EXPIRY

    # ---- schema ----

    def create_schema(self) -> None:
        """Create missing tables, then replay recorded customizations (idempotent; run at every start)."""
        system_metadata.create_all(self.engine)
        with self.engine.begin() as conn:
            if conn.execute(sa.select(org_counter.c.value)).first() is None:
                conn.execute(sa.insert(org_counter), {"id": 1, "value": 0})
            rows = conn.execute(sa.select(customizations).order_by(customizations.c.seq)).mappings().all()
        for row in rows:
            replay_customization(self.registry, row["kind"], row["entity"], json.loads(row["body"]))
        for entity in self.registry:
            self.tables[entity.logical_name] = build_table(entity, self.metadata, fold_keys=self.fold_keys)
        self.metadata.create_all(self.engine)

    @property
    def fold_keys(self) -> bool:
        """Whether key columns are compared as ``lower(column)`` (every database but SQLite, see ``schema``)."""
        return self.engine.dialect.name != "sqlite"

    def key_condition(self, table: sa.Table, name: str, value: Any) -> sa.ColumnElement[bool]:
        """``column = value`` for a key column, case-insensitive for text and served by the key's index."""
        if value is None:
            return table.c[name].is_(None)
        column = key_column(table.c[name], fold_keys=self.fold_keys)
        return column == (sa.func.lower(value) if column is not table.c[name] else value)

    def table(self, logical_name: str) -> sa.Table:
        return self.tables[logical_name]

    def add_entity(self, entity: EntityDef) -> None:
        """A custom table: registered, created in SQL, recorded for restarts."""
        if entity.logical_name in self.registry or self.registry.by_entity_set(entity.entity_set_name):
            raise errors.DataverseError(
                412, errors.DUPLICATE_KEY, f"An entity with the name {entity.logical_name} already exists."
            )
        table = build_table(entity, self.metadata, fold_keys=self.fold_keys)
        try:
            with self.engine.begin() as conn:
                table.create(conn)
                record_customization(conn, "entity", entity.logical_name, entity_json(entity))
        except BaseException:
            self.metadata.remove(table)
            raise
        self.tables[entity.logical_name] = table
        self.registry.add(entity)

    def add_attribute(self, entity_name: str, attr: AttributeDef) -> None:
        entity = self.registry.get(entity_name)
        if attr.logical_name in entity.attributes:
            raise errors.DataverseError(
                412, errors.DUPLICATE_KEY, f"An attribute with the name {attr.logical_name} already exists."
            )
        table = self.tables[entity_name]
        columns = columns_for(entity, attr)
        if any(col.name in table.c for col in columns):
            raise errors.DataverseError(
                412, errors.DUPLICATE_KEY, f"A column named like {attr.logical_name} already exists."
            )
        with self.engine.begin() as conn:
            for col in columns:
                ddl = CreateColumn(col).compile(dialect=self.engine.dialect)
                conn.exec_driver_sql(f'ALTER TABLE "{table.name}" ADD COLUMN {ddl}')
            record_customization(conn, "attribute", entity_name, asdict(attr))
        for col in columns:
            table.append_column(col)
        entity.add_attribute(attr)
        self.registry.changed()

    def add_key(self, entity_name: str, key: AlternateKeyDef) -> None:
        entity = self.registry.get(entity_name)
        missing = [a for a in key.key_attributes if a not in entity.attributes]
        if missing or not key.key_attributes:
            raise errors.bad_request(f"Key attributes {missing} do not exist on {entity_name}.")
        if any(k.logical_name == key.logical_name for k in entity.alternate_keys):
            raise errors.DataverseError(412, errors.DUPLICATE_KEY, f"A key named {key.logical_name} exists.")
        with self.engine.begin() as conn:
            index = key_index(self.tables[entity_name], key, fold_keys=self.fold_keys)
            try:
                index.create(conn)
            except sa.exc.IntegrityError as exc:
                self.tables[entity_name].indexes.discard(index)
                raise errors.DataverseError(
                    412, errors.DUPLICATE_KEY, "Existing rows have duplicate values for the key attributes."
                ) from exc
            entity.add_key(key)
            record_customization(conn, "key", entity_name, asdict(key))

    def set_options(self, entity_name: str, attribute: str, options: tuple[OptionDef, ...]) -> None:
        """Replace the choices of a choice column (``InsertOptionValue``, ``UpdateOptionValue``); kept on restart."""
        attr = self.registry.get(entity_name).attributes[attribute]
        with self.engine.begin() as conn:
            body = {"attribute": attribute, "options": [asdict(o) for o in options]}
            record_customization(conn, "options", entity_name, body)
        attr.options = options

    def set_change_tracking(self, entity_name: str, enabled: bool) -> None:
        entity = self.registry.get(entity_name)
        with self.engine.begin() as conn:
            entity.change_tracking = enabled
            record_customization(conn, "change_tracking", entity_name, {"enabled": enabled})

    # ---- units of work ----

    @contextmanager
    def unit_of_work(self, caller: Any = None, *, readonly: bool = False) -> Iterator[UnitOfWork]:
        """One transaction; committed when the block ends without error, rolled back otherwise.

        ``readonly`` units read from a deferred transaction so GETs do not queue behind writers on SQLite.
        """
        engine = self.read_engine if readonly else self.engine
        with engine.connect() as conn, conn.begin():
            uow = UnitOfWork(self, conn, caller)
            yield uow
            uow.flush()


def _read_engine(url: str) -> Engine:
    engine = sa.create_engine(url, connect_args={"check_same_thread": False, "timeout": 30})

    @sa.event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection, record_customization):
        dbapi_connection.isolation_level = None
        dbapi_connection.execute("PRAGMA foreign_keys=ON")
        dbapi_connection.execute("PRAGMA busy_timeout=30000")

    @sa.event.listens_for(engine, "begin")
    def _on_begin(conn):
        conn.exec_driver_sql("BEGIN")

    return engine


@dataclass
class UnitOfWork:
    """A connection inside one transaction, with the caller every write is attributed to."""

    store: Store
    conn: Connection
    caller: Any = None
    now: datetime = field(default_factory=utcnow)
    _currency_cache: dict[str, Any] = field(default_factory=dict)
    _deferred: dict[Hashable, Callable[[UnitOfWork], None]] = field(default_factory=dict)

    @property
    def registry(self) -> Registry:
        return self.store.registry

    @property
    def caller_id(self) -> str | None:
        sid = getattr(self.caller, "systemuserid", None)
        return str(sid) if sid is not None else None

    def table(self, entity: EntityDef | str) -> sa.Table:
        return self.store.tables[entity if isinstance(entity, str) else entity.logical_name]

    def next_versions(self, n: int = 1) -> int:
        """Reserve ``n`` org-wide version numbers; returns the last one (the others precede it)."""
        stmt = sa.update(org_counter).values(value=org_counter.c.value + n).returning(org_counter.c.value)
        return int(self.conn.execute(stmt).scalar_one())

    # ---- reads ----

    def get(self, entity: EntityDef, id: str, *, lock: bool = False) -> dict[str, Any] | None:
        """The row, or None. ``lock`` holds it until commit (``FOR UPDATE`` where the database has it), so a
        check-then-write (ETag, upsert) cannot interleave with another writer's."""
        t = self.table(entity)
        stmt = sa.select(t).where(t.c[entity.primary_id_attribute] == id)
        row = self.conn.execute(stmt.with_for_update() if lock else stmt).mappings().first()
        return dict(row) if row else None

    def find_by_key(
        self, entity: EntityDef, key_values: dict[str, Any], *, lock: bool = False
    ) -> dict[str, Any] | None:
        """The row with these alternate-key values (text compared case-insensitively), or None."""
        t = self.table(entity)
        stmt = sa.select(t).where(*(self.store.key_condition(t, n, v) for n, v in key_values.items())).limit(1)
        row = self.conn.execute(stmt.with_for_update() if lock else stmt).mappings().first()
        return dict(row) if row else None

    def current_version(self) -> int:
        return int(self.conn.execute(sa.select(org_counter.c.value)).scalar_one())

    # ---- writes ----

    def create(self, entity: EntityDef, values: dict[str, Any], id: str | None = None) -> str:
        """Insert a row; returns its id. System columns and state defaults are filled in here."""
        values = dict(values)
        id = normalise_guid(values.pop(entity.primary_id_attribute, None) or id or new_id())
        if self.get(entity, id) is not None:
            raise errors.DataverseError(412, errors.ALREADY_EXISTS, "A record with matching key values already exists.")
        change = self.prepare_create(entity, values, id)
        self._check_keys(entity, change.values, id)
        self.derive(change)
        version = self.next_versions()
        row = {**change.values, entity.primary_id_attribute: id, "versionnumber": version}
        row.update(createdon=change.values.get("overriddencreatedon") or self.now, modifiedon=self.now)
        row.update(createdby=self.caller_id, modifiedby=self.caller_id)
        try:
            self.conn.execute(sa.insert(self.table(entity)), row)
        except sa.exc.IntegrityError as exc:  # a concurrent create of the same id or key won the race
            raise errors.DataverseError(
                412, errors.ALREADY_EXISTS, "A record with matching key values already exists."
            ) from exc
        self.complete(change)
        return id

    def update(self, entity: EntityDef, id: str, values: dict[str, Any], existing: dict | None = None) -> None:
        """Update a row that exists (``not_found`` otherwise); an empty change still bumps the version."""
        existing = existing or self.get(entity, id, lock=True)
        if existing is None:
            raise errors.not_found(entity.logical_name, id)
        change = self.prepare_update(entity, id, values, existing)
        self._check_keys(entity, {**existing, **change.values}, id)
        self.derive(change)
        row = {**change.values, "versionnumber": self.next_versions(), "modifiedon": self.now}
        row["modifiedby"] = self.caller_id
        t = self.table(entity)
        self.conn.execute(sa.update(t).where(t.c[entity.primary_id_attribute] == id).values(row))
        self.complete(change)

    def delete(self, entity: EntityDef, id: str, existing: dict | None = None) -> None:
        """Delete a row, cascade to parental children, clear other references, leave a tombstone."""
        existing = existing or self.get(entity, id, lock=True)
        if existing is None:
            raise errors.not_found(entity.logical_name, id)
        change = Change(entity, "delete", id, {}, existing)
        self._run_before(change)
        for rel in self.registry.one_to_many(entity.logical_name):
            if rel.referencing_attribute in _UNTOUCHED_ON_DELETE:
                continue
            child = self.registry.get(rel.referencing_entity)
            ct = self.table(child)
            col = ct.c[rel.referencing_attribute]
            if (rel.referencing_entity, rel.referencing_attribute) in CASCADE_DELETE:
                ids = self.conn.scalars(sa.select(ct.c[child.primary_id_attribute]).where(col == id)).all()
                for child_id in ids:
                    self.delete(child, child_id)
            elif self.conn.execute(sa.select(col).where(col == id).limit(1)).first() is not None:
                clear = {rel.referencing_attribute: None, "versionnumber": self.next_versions()}
                if f"{rel.referencing_attribute}_type" in ct.c:
                    clear[f"{rel.referencing_attribute}_type"] = None
                self.conn.execute(sa.update(ct).where(col == id).values(clear))
        t = self.table(entity)
        self.conn.execute(sa.delete(t).where(t.c[entity.primary_id_attribute] == id))
        self.conn.execute(
            sa.insert(tombstones),
            {
                "entity": entity.logical_name,
                "objectid": id,
                "versionnumber": self.next_versions(),
                "deletedon": self.now,
            },
        )
        self.complete(change)

    def defer(self, key: Hashable, action: Callable[[UnitOfWork], None]) -> None:
        """Run ``action(uow)`` once at the next ``flush`` however many writes defer it under ``key``: work that
        follows from many rows (a header's totals after its lines) is done once, not once per row."""
        self._deferred.setdefault(key, action)

    def flush(self) -> None:
        """Run the deferred actions now (and any they defer). Called before the unit of work commits, at the
        end of each request sharing it (``$batch`` changesets), and before a response reads what it wrote."""
        while self._deferred:
            key = next(iter(self._deferred))
            self._deferred.pop(key)(self)

    # ---- the steps of a write (``create``/``update`` above; set-based writers call them per row) ----

    def prepare_create(self, entity: EntityDef, values: dict[str, Any], id: str) -> Change:
        """The change that inserts ``values`` (without the primary key) as row ``id``: state, owner and
        currency defaults filled in, then the write hooks' ``before`` (which may amend it or refuse)."""
        values = dict(values)
        self._defaults(entity, values)
        change = Change(entity, "create", id, values)
        self._run_before(change)
        return change

    def prepare_update(self, entity: EntityDef, id: str, values: dict[str, Any], existing: dict) -> Change:
        """The change that sets ``values`` on the ``existing`` row ``id`` (the primary key is ignored; a new
        ``statecode`` without ``statuscode`` gets its default status), after the hooks' ``before``."""
        values = {k: v for k, v in values.items() if k != entity.primary_id_attribute}
        if "statecode" in values and "statuscode" not in values and entity.has_state:
            values["statuscode"] = entity.default_status(values["statecode"])
        change = Change(entity, "update", id, values, existing)
        self._run_before(change)
        return change

    def derive(self, change: Change) -> None:
        """Add the computed columns (full names, exchange rate, money in base currency) to the change;
        the last step before the row is written."""
        self._derive(change.entity, change.values, change.existing)

    def complete(self, change: Change) -> None:
        """Run the write hooks' ``after`` once the change is written."""
        for hook in self.store.hooks:
            hook.after(self, change)

    # ---- helpers ----

    def _run_before(self, change: Change) -> None:
        for hook in self.store.hooks:
            hook.before(self, change)

    def _defaults(self, entity: EntityDef, values: dict[str, Any]) -> None:
        if entity.has_state:
            status_attr = entity.attributes["statuscode"]
            if values.get("statecode") is None:
                status = status_attr.option(values.get("statuscode"))
                values["statecode"] = status.state if status else entity.default_state
            if values.get("statuscode") is None:
                values["statuscode"] = entity.default_status(values["statecode"])
        if "ownerid" in entity.attributes and values.get("ownerid") is None and self.caller_id:
            values.update(ownerid=self.caller_id, ownerid_type="systemuser")
        if "transactioncurrencyid" in entity.attributes and values.get("transactioncurrencyid") is None:
            values["transactioncurrencyid"] = self.base_currency_id()

    def base_currency_id(self) -> str | None:
        if "base" not in self._currency_cache:
            org = self.table("organization")
            self._currency_cache["base"] = self.conn.execute(sa.select(org.c.basecurrencyid).limit(1)).scalar()
        return self._currency_cache["base"]

    def _derive(self, entity: EntityDef, values: dict[str, Any], existing: dict | None) -> None:
        """Computed columns: full names, exchange rate, money in base currency."""
        merged = {**(existing or {}), **values}
        if entity.logical_name in ("contact", "systemuser") and ({"firstname", "lastname"} & values.keys()):
            values["fullname"] = " ".join(p for p in (merged.get("firstname"), merged.get("lastname")) if p) or None
        currency = entity.attributes.get("transactioncurrencyid")
        if "exchangerate" in entity.attributes and currency is not None and currency.is_lookup:
            currency_id = merged.get("transactioncurrencyid")
            rate = self._rate(currency_id)
            if existing is None or "transactioncurrencyid" in values:
                values["exchangerate"] = rate
            for name, attr in entity.attributes.items():
                base = entity.attributes.get(f"{name}_base")
                if attr.attribute_type == "Money" and base is not None and (name in values or "exchangerate" in values):
                    amount = merged.get(name)
                    values[f"{name}_base"] = None if amount is None or not rate else amount / rate

    def _rate(self, currency_id: str | None):
        if currency_id is None:
            return None
        if currency_id not in self._currency_cache:
            t = self.table("transactioncurrency")
            stmt = sa.select(t.c.exchangerate).where(t.c.transactioncurrencyid == currency_id)
            self._currency_cache[currency_id] = self.conn.execute(stmt).scalar()
        return self._currency_cache[currency_id]

    def _check_keys(self, entity: EntityDef, values: dict[str, Any], id: str) -> None:
        t = self.table(entity)
        for key in entity.alternate_keys:
            kv = {a: values.get(a) for a in key.key_attributes}
            if any(v is None for v in kv.values()):
                continue
            stmt = sa.select(t.c[entity.primary_id_attribute]).where(
                *(self.store.key_condition(t, a, v) for a, v in kv.items()), t.c[entity.primary_id_attribute] != id
            )
            if self.conn.execute(stmt.limit(1)).first() is not None:
                raise errors.DataverseError(
                    412, errors.DUPLICATE_KEY, "A record with matching key values already exists."
                )
