"""SQL layout of a CRM org, derived from its metadata, plus the org-wide system tables.

Dataverse customizers create tables, columns and keys at run time, so the schema cannot be a fixed set of
migrations: each entity's table is built from its ``EntityDef`` (table = logical name, column =
attribute logical name, lookups as lowercase GUID text with ``<name>_type`` for polymorphic ones), and
each customization is recorded in ``crm_customization`` and replayed into the registry at start-up.
Text compares case-insensitively, as in Dataverse: on SQLite text columns are ``NOCASE``; elsewhere
alternate-key columns are indexed and compared as ``lower(column)`` (see ``key_column``), so a key lookup
is both case-insensitive and served by the key's unique index, and ``ABC`` and ``abc`` are the same key.
"""

from __future__ import annotations

import json
from dataclasses import asdict

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from lead2cash.crm.metadata import AlternateKeyDef, AttributeDef, EntityDef, OptionDef, Registry
from lead2cash.sqltypes import DecimalType, UTCDateTime

# Lookups whose target owns the referencing rows: deleting the target deletes them (parental cascade).
CASCADE_DELETE = {
    ("quotedetail", "quoteid"), ("salesorderdetail", "salesorderid"), ("invoicedetail", "invoiceid"),
    ("post", "regardingobjectid"), ("productpricelevel", "pricelevelid"), ("productpricelevel", "productid"),
    ("uom", "uomscheduleid"), ("quoteclose", "quoteid"), ("orderclose", "salesorderid"),
    ("opportunityclose", "opportunityid"),
}  # fmt: skip


def _text(n: int | None) -> sa.types.TypeEngine:
    base = sa.String(n) if n and n <= 4000 else sa.Text()
    nocase = sa.String(n, collation="NOCASE") if n and n <= 4000 else sa.Text(collation="NOCASE")
    return base.with_variant(nocase, "sqlite")  # Dataverse compares strings case-insensitively


def column_type(attr: AttributeDef) -> sa.types.TypeEngine:
    t = attr.attribute_type
    if t in ("String", "Memo"):
        return _text(attr.max_length)
    if t in ("Integer", "Picklist", "State", "Status"):
        return sa.Integer()
    if t == "BigInt":
        return sa.BigInteger()
    if t == "Money":
        return DecimalType(4)
    if t == "Decimal":
        return DecimalType(attr.precision if attr.precision is not None else 5)
    if t == "Double":
        return sa.Float()
    if t == "Boolean":
        return sa.Boolean()
    if t == "DateTime":
        return sa.Date() if attr.date_behavior == "DateOnly" else UTCDateTime()
    if t == "EntityName":
        return sa.String(64)
    return sa.String(36)  # Uniqueidentifier and lookups: lowercase GUID text


def columns_for(entity: EntityDef, attr: AttributeDef) -> list[sa.Column]:
    pk = attr.logical_name == entity.primary_id_attribute
    cols = [sa.Column(attr.logical_name, column_type(attr), primary_key=pk, index=attr.is_lookup)]
    if attr.is_polymorphic:
        cols.append(sa.Column(f"{attr.logical_name}_type", sa.String(64)))
    return cols


def build_table(entity: EntityDef, metadata: sa.MetaData, *, fold_keys: bool = False) -> sa.Table:
    """The entity's table; ``fold_keys`` for databases without ``NOCASE`` (see ``key_column``)."""
    cols = [c for attr in entity.attributes.values() for c in columns_for(entity, attr)]
    table = sa.Table(entity.logical_name, metadata, *cols)
    sa.Index(f"ix_{entity.logical_name}_versionnumber", table.c.versionnumber)
    for key in entity.alternate_keys:
        key_index(table, key, fold_keys=fold_keys)
    return table


def is_text(column: sa.ColumnElement) -> bool:
    try:
        return column.type.python_type is str
    except NotImplementedError:
        return False


def key_column(column: sa.ColumnElement, *, fold_keys: bool) -> sa.ColumnElement:
    """A key column as it is indexed and compared: ``lower(column)`` for text when ``fold_keys``."""
    return sa.func.lower(column) if fold_keys and is_text(column) else column


def key_index(table: sa.Table, key: AlternateKeyDef, *, fold_keys: bool = False) -> sa.Index:
    columns = (key_column(table.c[a], fold_keys=fold_keys) for a in key.key_attributes)
    return sa.Index(f"uk_{table.name}_{key.logical_name}", *columns, unique=True)


system_metadata = sa.MetaData()
org_counter = sa.Table(
    "crm_org_counter",
    system_metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("value", sa.BigInteger),
)
tombstones = sa.Table(
    "crm_tombstone",
    system_metadata,
    sa.Column("seq", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("entity", sa.String(64), nullable=False),
    sa.Column("objectid", sa.String(36), nullable=False),
    sa.Column("versionnumber", sa.BigInteger, nullable=False),
    sa.Column("deletedon", UTCDateTime, nullable=False),
    sa.Index("ix_crm_tombstone_entity_version", "entity", "versionnumber"),
)
customizations = sa.Table(
    "crm_customization",
    system_metadata,
    sa.Column("seq", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("kind", sa.String(32), nullable=False),  # entity | attribute | key | change_tracking | options
    sa.Column("entity", sa.String(64), nullable=False),
    sa.Column("body", sa.Text, nullable=False),
)


def record_customization(conn: Connection, kind: str, entity: str, body: dict) -> None:
    conn.execute(sa.insert(customizations), {"kind": kind, "entity": entity, "body": json.dumps(body)})


def entity_json(entity: EntityDef) -> dict:
    data = asdict(entity)
    data["attributes"] = [asdict(a) for a in entity.attributes.values()]
    return data


def _attr_from(data: dict) -> AttributeDef:
    data = dict(data)
    data["targets"] = tuple(data.get("targets") or ())
    data["options"] = tuple(OptionDef(**o) for o in data.get("options") or ())
    return AttributeDef(**data)


def replay_customization(registry: Registry, kind: str, entity_name: str, body: dict) -> None:
    if kind == "entity":
        body = dict(body)
        attrs = [_attr_from(a) for a in body.pop("attributes")]
        keys = [
            AlternateKeyDef(**{**k, "key_attributes": tuple(k["key_attributes"])}) for k in body.pop("alternate_keys")
        ]
        registry.add(EntityDef(**body, attributes={a.logical_name: a for a in attrs}, alternate_keys=keys))
    elif kind == "attribute":
        registry.get(entity_name).add_attribute(_attr_from(body))
        registry.changed()
    elif kind == "key":
        registry.get(entity_name).add_key(AlternateKeyDef(**{**body, "key_attributes": tuple(body["key_attributes"])}))
    elif kind == "change_tracking":
        registry.get(entity_name).change_tracking = bool(body["enabled"])
    elif kind == "options":
        attr = registry.get(entity_name).attributes[body["attribute"]]
        attr.options = tuple(OptionDef(**o) for o in body["options"])
