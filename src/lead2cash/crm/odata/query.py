"""Collection query options: ``$select``, ``$orderby``, ``$top``, ``$expand``, ``$count`` and keyset paging.

Paging follows Dataverse: ``Prefer: odata.maxpagesize`` (default and maximum 5000), no ``$skip``, and an
absolute ``@odata.nextLink`` whose ``$skiptoken`` is opaque. The token here carries the sort key of the
last row sent (and the page size, so clients that re-issue only the link's query string still get the same
pages), which makes every page an index range scan: cost and memory stay flat however deep a client pages.
Rows are ordered by the requested ``$orderby`` with the primary key as the final tie-breaker, NULLs first
ascending and last descending as SQL Server does; text sorts case-insensitively (lower case in byte order)
on every database, as Dataverse sorts it. ``$filter`` is compiled by :mod:`.filter`.
"""

from __future__ import annotations

import base64
import json
from collections import defaultdict
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from typing import Any

import sqlalchemy as sa

from lead2cash.crm.metadata import AttributeDef, EntityDef, RelationshipDef
from lead2cash.crm.odata import errors
from lead2cash.crm.odata.serialize import Preferences, Serializer

MAX_PAGE_SIZE = 5000
COUNT_LIMIT = 5000


@dataclass
class ExpandOption:
    nav: str
    target: EntityDef
    options: QueryOptions
    attr: AttributeDef | None = None  # single-valued: the lookup on the parent
    relationship: RelationshipDef | None = None  # collection-valued


@dataclass
class QueryOptions:
    entity: EntityDef
    select: list[AttributeDef]
    select_text: str | None = None
    filter: str | None = None
    orderby: list[tuple[AttributeDef, bool]] = field(default_factory=list)
    top: int | None = None
    expand: list[ExpandOption] = field(default_factory=list)
    count: bool = False
    aliases: dict[str, str] = field(default_factory=dict)


def _attr(entity: EntityDef, name: str) -> AttributeDef:
    attr = entity.attribute_by_odata_name(name.strip())
    if attr is None:
        raise errors.bad_request(
            f"Could not find a property named '{name.strip()}' on type 'Microsoft.Dynamics.CRM.{entity.logical_name}'.",
            errors.UNKNOWN_PROPERTY,
        )
    return attr


def split_top_level(text: str, sep: str) -> list[str]:
    """Split on ``sep`` outside parentheses and quotes (for ``$expand`` lists and nested options)."""
    parts, depth, quoted, buf = [], 0, False, []
    for ch in text:
        if ch == "'":
            quoted = not quoted
        elif not quoted and ch == "(":
            depth += 1
        elif not quoted and ch == ")":
            depth -= 1
        if ch == sep and depth == 0 and not quoted:
            parts.append("".join(buf))
            buf = []
        else:
            buf.append(ch)
    if depth != 0 or quoted:
        raise errors.bad_request(f"Unbalanced parentheses or quotes in '{text}'.", errors.QUERY_SYNTAX)
    parts.append("".join(buf))
    return [p.strip() for p in parts if p.strip()]


def parse_options(registry: Any, entity: EntityDef, params: Mapping[str, str]) -> QueryOptions:
    """Validate and resolve query options against ``entity``; 400 for anything unknown or malformed."""
    if "$skip" in params:
        raise errors.bad_request("The query parameter $skip is not supported", errors.QUERY_SYNTAX)
    select_text = params.get("$select")
    if select_text:
        select = [_attr(entity, n) for n in select_text.split(",") if n.strip()]
    else:
        select = list(entity.attributes.values())
    opts = QueryOptions(entity, select, select_text=select_text or None)
    opts.filter = params.get("$filter") or None
    opts.aliases = {k: v for k, v in params.items() if k.startswith("@")}
    for item in (params.get("$orderby") or "").split(","):
        if item.strip():
            name, _, direction = item.strip().partition(" ")
            direction = direction.strip().lower()
            if direction not in ("", "asc", "desc"):
                raise errors.bad_request(f"Invalid $orderby direction '{direction}'.", errors.QUERY_SYNTAX)
            opts.orderby.append((_attr(entity, name), direction == "desc"))
    if params.get("$top"):
        top = params["$top"].strip()
        if not top.isdigit() or int(top) == 0:
            raise errors.bad_request(f"Invalid value '{top}' for $top.", errors.QUERY_SYNTAX)
        opts.top = min(int(top), MAX_PAGE_SIZE)
    opts.count = (params.get("$count") or "").strip().lower() == "true"
    for item in split_top_level(params.get("$expand") or "", ","):
        opts.expand.append(_parse_expand(registry, entity, item))
    return opts


def _parse_expand(registry: Any, entity: EntityDef, item: str) -> ExpandOption:
    nav, _, inner = item.partition("(")
    nav = nav.strip()
    nested: dict[str, str] = {}
    if inner:
        if not inner.endswith(")"):
            raise errors.bad_request(f"Invalid $expand '{item}'.", errors.QUERY_SYNTAX)
        for opt in split_top_level(inner[:-1], ";"):
            name, eq, value = opt.partition("=")
            if not eq:
                raise errors.bad_request(f"Invalid $expand option '{opt}'.", errors.QUERY_SYNTAX)
            nested[name.strip()] = value.strip()
    single = registry.single_navigation(entity, nav)
    if single is not None:
        attr, target = single
        target_entity = registry.get(target)
        return ExpandOption(nav, target_entity, parse_options(registry, target_entity, nested), attr=attr)
    rel = registry.collection_navigation(entity, nav)
    if rel is not None:
        target_entity = registry.get(rel.referencing_entity)
        return ExpandOption(nav, target_entity, parse_options(registry, target_entity, nested), relationship=rel)
    raise errors.bad_request(
        f"Could not find a property named '{nav}' on type 'Microsoft.Dynamics.CRM.{entity.logical_name}'.",
        errors.UNKNOWN_PROPERTY,
    )


# ---- skip tokens ----


def _encode_value(value: Any) -> Any:
    if isinstance(value, Decimal):
        return {"d": str(value)}
    if isinstance(value, datetime):
        return {"t": value.isoformat()}
    if isinstance(value, date):
        return {"D": value.isoformat()}
    return value


def _decode_value(value: Any) -> Any:
    if isinstance(value, dict):
        if "d" in value:
            return Decimal(value["d"])
        if "t" in value:
            return datetime.fromisoformat(value["t"])
        if "D" in value:
            return date.fromisoformat(value["D"])
    return value


def encode_token(data: dict[str, Any]) -> str:
    raw = json.dumps({k: ([_encode_value(v) for v in val] if k == "k" else val) for k, val in data.items()})
    return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")


def _bad(_value: Any) -> bool:
    return False


def _version(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value >= 0


# What a token may hold (it comes back from clients, so every field is checked before use).
_TOKEN_FIELDS = {
    "k": lambda v: isinstance(v, list),  # sort key of the last row sent
    "n": lambda v: _version(v) and 1 <= v <= MAX_PAGE_SIZE,  # page size
    "v": _version,  # change tracking: the version bound of this load or delta
    "a": _version,  # change tracking: last version sent
    "p": lambda v: v in ("rows", "deleted"),  # change tracking: phase
}


def decode_token(token: str) -> dict[str, Any]:
    try:
        data = json.loads(base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)))
        if not isinstance(data, dict) or not all(_TOKEN_FIELDS.get(k, _bad)(v) for k, v in data.items()):
            raise ValueError
        if "k" in data:
            data["k"] = [_decode_value(v) for v in data["k"]]
        return data
    except (ValueError, TypeError, ArithmeticError):
        raise errors.bad_request("The $skiptoken is invalid.", errors.QUERY_SYNTAX) from None


# ---- execution ----


def _text_order(value: sa.ColumnElement) -> sa.ColumnElement:
    """Text as it sorts and compares in keyset paging where columns are not ``NOCASE``: lower case in byte
    order, which is what SQLite's ``NOCASE`` columns do (and case-insensitive, as Dataverse sorts)."""
    return sa.collate(sa.func.lower(value), "C")


def sort_columns(
    opts: QueryOptions, table: sa.Table, *, fold_text: bool = False
) -> list[tuple[sa.ColumnElement, bool, str, bool]]:
    """``(sort expression, descending, column name, text folded)`` per sort key, the primary key last;
    ``fold_text`` on databases whose text columns are case-sensitive."""
    cols = []
    for attr, desc in opts.orderby:
        column = table.c[attr.logical_name]
        folded = fold_text and attr.attribute_type in ("String", "Memo")
        cols.append((_text_order(column) if folded else column, desc, attr.logical_name, folded))
    pk = opts.entity.primary_id_attribute
    if all(col[2] != pk for col in cols):
        cols.append((table.c[pk], False, pk, False))
    return cols


def _after(cols: list[tuple[sa.ColumnElement, bool, str, bool]], values: list[Any]) -> sa.ColumnElement[bool]:
    """Rows strictly after ``values`` in the order NULLS FIRST ascending / NULLS LAST descending."""
    if len(values) != len(cols):
        raise errors.bad_request("The $skiptoken does not match this query.", errors.QUERY_SYNTAX)

    def bound(value: Any, folded: bool) -> Any:
        if folded and not isinstance(value, str):
            raise errors.bad_request("The $skiptoken does not match this query.", errors.QUERY_SYNTAX)
        return _text_order(sa.literal(value, sa.String())) if folded else value

    alternatives = []
    for i, (col, desc, _name, folded) in enumerate(cols):
        value = values[i]
        if value is None:
            beyond = sa.false() if desc else col.is_not(None)
        else:
            value = bound(value, folded)
            beyond = sa.or_(col < value, col.is_(None)) if desc else col > value
        equal = [
            c.is_(None) if v is None else c == bound(v, f)
            for (c, _d, _n, f), v in zip(cols[:i], values[:i], strict=True)
        ]
        alternatives.append(sa.and_(*equal, beyond))
    return sa.or_(*alternatives)


def filter_condition(uow: Any, opts: QueryOptions, table: sa.Table) -> sa.ColumnElement[bool] | None:
    if not opts.filter:
        return None
    from lead2cash.crm.odata.filter import FilterContext, compile_filter

    def resolve(name: str):
        entity = uow.registry.get(name)
        return entity, uow.table(entity)

    context = FilterContext(now=uow.now, caller_id=uow.caller_id, resolve=resolve, registry=uow.registry)
    return compile_filter(opts.filter, opts.entity, table, aliases=opts.aliases, context=context)


def needed_columns(opts: QueryOptions, table: sa.Table, also: tuple[str, ...] = ()) -> list[sa.Column]:
    """Only what the answer needs: selected and sort columns, keys, lookup types, the row's currency."""
    names = {opts.entity.primary_id_attribute, "versionnumber", *also}
    attrs = [*opts.select, *(a for a, _ in opts.orderby), *(e.attr for e in opts.expand if e.attr is not None)]
    for attr in attrs:
        names.add(attr.logical_name)
        if attr.is_polymorphic:
            names.add(f"{attr.logical_name}_type")
        if attr.attribute_type == "Money":
            names.add("transactioncurrencyid")
    return [c for c in table.c if c.name in names]


def fetch(
    uow: Any,
    opts: QueryOptions,
    *,
    page_size: int,
    after: list[Any] | None = None,
    extra: sa.ColumnElement[bool] | None = None,
    also: tuple[str, ...] = (),
) -> tuple[list[dict[str, Any]], list[Any] | None]:
    """One page of rows (the columns the answer needs) and the sort key of its last row when more follow."""
    table = uow.table(opts.entity)
    cols = sort_columns(opts, table, fold_text=uow.conn.dialect.name != "sqlite")
    stmt = sa.select(*needed_columns(opts, table, also))
    condition = filter_condition(uow, opts, table)
    if condition is not None:
        stmt = stmt.where(condition)
    if extra is not None:
        stmt = stmt.where(extra)
    if after is not None:
        stmt = stmt.where(_after(cols, after))
    order = [col.desc().nulls_last() if desc else col.asc().nulls_first() for col, desc, _, _ in cols]
    try:
        result = uow.conn.execute(stmt.order_by(*order).limit(page_size + 1))
    except sa.exc.StatementError as exc:  # a skip token whose values do not fit the sort columns
        if after is None or not isinstance(exc.orig, ValueError | TypeError):
            raise
        raise errors.bad_request("The $skiptoken does not match this query.", errors.QUERY_SYNTAX) from None
    keys = list(result.keys())
    rows = [dict(zip(keys, r, strict=True)) for r in result.all()]
    if len(rows) > page_size:
        rows = rows[:page_size]
        return rows, [rows[-1][name] for _, _, name, _ in cols]
    return rows, None


def count(uow: Any, opts: QueryOptions) -> int:
    table = uow.table(opts.entity)
    stmt = sa.select(sa.func.count()).select_from(table)
    condition = filter_condition(uow, opts, table)
    if condition is not None:
        stmt = stmt.where(condition)
    return int(uow.conn.execute(stmt.limit(COUNT_LIMIT + 1)).scalar_one())


def render(uow: Any, opts: QueryOptions, rows: list[dict[str, Any]], prefs: Preferences) -> list[dict[str, Any]]:
    """Serialize rows with their expansions."""
    out = Serializer(uow, opts.entity, opts.select, prefs).rows(rows)
    for exp in opts.expand:
        _expand(uow, exp, rows, out, prefs)
    return out


def _expand(uow: Any, exp: ExpandOption, rows: list[dict], out: list[dict], prefs: Preferences) -> None:
    target_table = uow.table(exp.target)
    pk = exp.target.primary_id_attribute
    if exp.attr is not None:
        name = exp.attr.logical_name
        target = exp.target.logical_name

        def wanted(row: dict) -> str | None:
            if exp.attr.is_polymorphic and (row.get(f"{name}_type") or exp.attr.targets[0]) != target:
                return None
            return row.get(name)

        ids = sorted({i for i in map(wanted, rows) if i is not None})
        related: dict[str, dict] = {}
        for start in range(0, len(ids), 500):
            extra = target_table.c[pk].in_(ids[start : start + 500])
            found, _ = fetch(uow, exp.options, page_size=MAX_PAGE_SIZE, extra=extra)
            for obj, row in zip(render(uow, exp.options, found, prefs), found, strict=True):
                related[row[pk]] = obj
        for row, obj in zip(rows, out, strict=True):
            ref = wanted(row)
            obj[exp.nav] = related.get(ref) if ref is not None else None
        return
    rel = exp.relationship
    assert rel is not None
    parent_ids = [r[rel.referenced_attribute] for r in rows]
    children: dict[str, list[dict]] = defaultdict(list)
    fk = target_table.c[rel.referencing_attribute]
    for start in range(0, len(parent_ids), 500):
        extra = fk.in_(parent_ids[start : start + 500])
        type_col = target_table.c.get(f"{rel.referencing_attribute}_type")
        if type_col is not None:
            extra = sa.and_(extra, type_col == rel.referenced_entity)
        found, _ = fetch(uow, exp.options, page_size=MAX_PAGE_SIZE * 10, extra=extra, also=(rel.referencing_attribute,))
        for obj, row in zip(render(uow, exp.options, found, prefs), found, strict=True):
            children[row[rel.referencing_attribute]].append(obj)
    for row, obj in zip(rows, out, strict=True):
        items = children.get(row[rel.referenced_attribute], [])
        obj[exp.nav] = items[: exp.options.top] if exp.options.top else items
