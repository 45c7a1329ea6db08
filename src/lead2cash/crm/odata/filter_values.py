"""Typed comparisons for the `$filter` compiler: properties, literal values and how they meet in SQL.

A Dataverse filter literal has no type of its own that matters: ``'1'``, ``1`` and ``1.0`` all compare
with an integer column, a GUID may come quoted or not, and a date compares with a datetime. So each value
is converted to the *family* of the attribute it is compared with, and bound with the column's own SQL
type (so exact money and UTC datetimes are stored and compared the way the table stores them).

Numbers are compared exactly: a literal with more decimals than the column stores, or one too large
for it, never reaches the driver; the comparison is rewritten to its exact equivalent instead
(``amount gt 1.23456`` on a 4-decimal column is ``amount gt 1.2345``; ``qty eq 1.5`` on an integer
column matches nothing). Those "decided" comparisons stay NULL for NULL columns, so three-valued logic
still holds under ``not``.
"""

from __future__ import annotations

import operator
import uuid
from dataclasses import dataclass
from datetime import UTC, date, datetime
from decimal import ROUND_CEILING, ROUND_FLOOR, Decimal, InvalidOperation
from typing import Any

from dateutil.parser import isoparse
from odata_query import ast
from sqlalchemy import String, Uuid, func, literal
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.elements import ColumnClause, ColumnElement
from sqlalchemy.sql.functions import FunctionElement

from lead2cash.crm.odata.errors import QUERY_SYNTAX, UNKNOWN_PROPERTY

FAMILIES = {
    "String": "string",
    "Memo": "string",
    "EntityName": "string",
    "Integer": "int",
    "BigInt": "int",
    "Picklist": "int",
    "State": "int",
    "Status": "int",
    "Decimal": "decimal",
    "Money": "decimal",
    "Double": "float",
    "Boolean": "bool",
    "DateTime": "datetime",
    "Uniqueidentifier": "guid",
    "Lookup": "guid",
    "Owner": "guid",
    "Customer": "guid",
}
LOOKUP_TYPES = frozenset({"Lookup", "Owner", "Customer"})
OPS = {
    "Eq": operator.eq,
    "NotEq": operator.ne,
    "Lt": operator.lt,
    "LtE": operator.le,
    "Gt": operator.gt,
    "GtE": operator.ge,
}
MIRRORED = {"Eq": "Eq", "NotEq": "NotEq", "Lt": "Gt", "LtE": "GtE", "Gt": "Lt", "GtE": "LtE"}
_INT64 = 2**63 - 1


class Invalid(ValueError):
    """A filter that is well-formed text but not valid for this entity."""

    def __init__(self, message: str, code: str = QUERY_SYNTAX):
        super().__init__(message)
        self.code = code


@dataclass(frozen=True)
class Operand:
    """A property in a filter: its family, the SQL expression reading it, the column giving its type."""

    family: str
    expr: Any
    column: Any


# -- metadata access (duck-typed so it works with any entity description) ----------------------------


def attribute_type(attr: Any) -> str:
    kind = attr.attribute_type
    return str(getattr(kind, "value", kind))


def targets_of(attr: Any) -> list[str]:
    return list(getattr(attr, "targets", None) or [])


def primary_key(entity: Any) -> str:
    return entity.primary_id_attribute


def _unknown(entity: Any, name: str) -> Invalid:
    return Invalid(
        f"Could not find a property named '{name}' on type 'Microsoft.Dynamics.CRM.{entity.logical_name}'.",
        UNKNOWN_PROPERTY,
    )


def find_attribute(entity: Any, name: str, *, lookup_by_name: bool = False) -> Any:
    """The attribute a filter names: a column by logical name, or a lookup as ``_name_value``."""
    attributes = entity.attributes
    if name.startswith("_") and name.endswith("_value"):
        attr = attributes.get(name[1:-6])
        if attr is not None and attribute_type(attr) in LOOKUP_TYPES:
            return attr
        raise _unknown(entity, name)
    attr = attributes.get(name)
    if attr is None:
        raise _unknown(entity, name)
    if attribute_type(attr) in LOOKUP_TYPES and not lookup_by_name:
        raise Invalid(
            f"'{name}' is a navigation property; filter on '_{name}_value' or '{name}/<property>'.",
            UNKNOWN_PROPERTY,
        )
    return attr


def find_navigation(entity: Any, nav: str) -> tuple[Any, str]:
    """The lookup attribute and target entity that a single-valued navigation property follows."""
    for attr in entity.attributes.values():
        if attribute_type(attr) not in LOOKUP_TYPES:
            continue
        targets = targets_of(attr)
        if nav == attr.logical_name and len(targets) == 1:
            return attr, targets[0]
        for target in targets:
            if nav == f"{attr.logical_name}_{target}":
                return attr, target
    raise _unknown(entity, nav)


def column_operand(entity: Any, table: Any, attr: Any) -> Operand:
    family = FAMILIES.get(attribute_type(attr))
    column = table.c.get(attr.logical_name)
    if family is None or column is None:
        raise Invalid(f"The property '{attr.logical_name}' cannot be used in $filter.", UNKNOWN_PROPERTY)
    return Operand(family, column, column)


# -- case-insensitive text ------------------------------------------------------------------------


class nocase_fold(FunctionElement):
    """``lower(x)``, except on SQLite where it is just ``x``: used only when the text column carries the
    NOCASE collation, which folds exactly as SQLite's ``lower()`` does (ASCII letters) and, unlike
    ``lower(column)``, lets an index on the column serve the comparison."""

    type = String()
    inherit_cache = True
    name = "lower"


@compiles(nocase_fold)
def _fold_default(element, compiler, **kw):
    return f"lower({compiler.process(element.clauses, **kw)})"


@compiles(nocase_fold, "sqlite")
def _fold_sqlite(element, compiler, **kw):
    return compiler.process(element.clauses, **kw)


def _is_nocase_column(expr: Any) -> bool:
    if not isinstance(expr, ColumnClause):
        return False
    sqlite_type = getattr(expr.type, "_variant_mapping", {}).get("sqlite", expr.type)
    return str(getattr(sqlite_type, "collation", "") or "").upper() == "NOCASE"


def folder(*operands: Operand) -> Any:
    """How to fold text for a case-insensitive comparison between these properties (and values)."""
    return nocase_fold if all(_is_nocase_column(o.expr) for o in operands) else func.lower


# -- literal values ---------------------------------------------------------------------------------


def _text(node: ast._Node) -> str | None:
    return node.val if isinstance(node, ast.String) else None


def _number(node: ast._Node) -> Decimal:
    raw = node.val if isinstance(node, ast.Integer | ast.Float | ast.String) else None
    try:
        value = Decimal(raw.strip()) if raw is not None else None
    except InvalidOperation:
        value = None
    if value is None or not value.is_finite():
        raise Invalid(f"'{getattr(node, 'val', node)}' is not a valid number.")
    return value


def _datetime(node: ast._Node) -> datetime:
    if isinstance(node, ast.DateTime | ast.String):
        try:
            value = isoparse(node.val.strip())
        except (ValueError, OverflowError) as exc:
            raise Invalid(f"'{node.val}' is not a valid date and time.") from exc
        if value.tzinfo is None:
            value = value.replace(tzinfo=UTC)
        return value.astimezone(UTC)
    if isinstance(node, ast.Date):
        return datetime.combine(as_date(node), datetime.min.time(), UTC)
    raise Invalid(f"'{getattr(node, 'val', node)}' is not a valid date and time.")


def as_date(node: ast._Node) -> date:
    """A calendar day from a date, datetime or quoted literal."""
    if isinstance(node, ast.Date) or (isinstance(node, ast.String) and len(node.val.strip()) == 10):
        try:
            return date.fromisoformat(node.val.strip())
        except ValueError as exc:
            raise Invalid(f"'{node.val}' is not a valid date.") from exc
    return _datetime(node).date()


def _bool(node: ast._Node) -> bool:
    raw = str(getattr(node, "val", "")).strip().lower()
    if isinstance(node, ast.Boolean | ast.String | ast.Integer) and raw in ("true", "false", "1", "0"):
        return raw in ("true", "1")
    raise Invalid(f"'{getattr(node, 'val', node)}' is not a valid Boolean value.")


def _guid(node: ast._Node, column: Any) -> Any:
    raw = node.val if isinstance(node, ast.GUID | ast.String) else None
    try:
        value = uuid.UUID(raw.strip()) if raw is not None else None
    except ValueError:
        value = None
    if value is None:
        raise Invalid(f"'{getattr(node, 'val', node)}' is not a valid Guid.")
    if isinstance(column.type, Uuid) and column.type.as_uuid:
        return value
    return str(value)


def bind(value: Any, operand: Operand) -> ColumnElement:
    return literal(value, type_=operand.column.type)


def _scale(operand: Operand) -> int | None:
    if operand.family == "int":
        return 0
    return getattr(operand.column.type, "scale", None)


def _never(operand: Operand) -> ColumnElement[bool]:
    """False for every row with a value, unknown (NULL) where the property is NULL."""
    return operand.expr != operand.expr


def _always(operand: Operand) -> ColumnElement[bool]:
    """True for every row with a value, unknown (NULL) where the property is NULL."""
    return operand.expr == operand.expr


def _compare_number(op: str, operand: Operand, value: Decimal) -> ColumnElement[bool]:
    scale = _scale(operand)
    limit = Decimal(_INT64).scaleb(-(scale or 0))
    if value > limit or value < -limit:
        above = value > 0
        if op == "Eq":
            return _never(operand)
        if op == "NotEq" or (op in ("Lt", "LtE")) == above:
            return _always(operand)
        return _never(operand)
    if scale is not None:
        quantum = Decimal(1).scaleb(-scale)
        floor = value.quantize(quantum, rounding=ROUND_FLOOR)
        if floor != value:
            ceil = value.quantize(quantum, rounding=ROUND_CEILING)
            if op == "Eq":
                return _never(operand)
            if op == "NotEq":
                return _always(operand)
            # x > 1.23456 ⇔ x > 1.2345 and x ≥ 1.23456 ⇔ x ≥ 1.2346 (same for < and ≤).
            value = floor if op in ("Gt", "LtE") else ceil
        if scale == 0:
            return OPS[op](operand.expr, bind(int(value), operand))
    return OPS[op](operand.expr, bind(value, operand))


NO_MATCH = object()  # a value no stored value can be equal to


def _is_date_only(column: Any) -> bool:
    try:
        return column.type.python_type is date
    except NotImplementedError:
        return False


def plain_value(operand: Operand, node: ast._Node) -> Any:
    """The Python value of a literal, converted to the family of ``operand`` (NO_MATCH if unstorable)."""
    family = operand.family
    if family in ("int", "decimal"):
        value = _number(node)
        scale = _scale(operand)
        if abs(value) > Decimal(_INT64).scaleb(-(scale or 0)):
            return NO_MATCH
        if scale is not None and value != value.quantize(Decimal(1).scaleb(-scale), rounding=ROUND_FLOOR):
            return NO_MATCH
        return int(value) if scale == 0 else value
    if family == "string":
        text = _text(node)
        if text is None:
            raise Invalid(f"'{getattr(node, 'val', node)}' is not a text value.")
        return text
    if family == "float":
        return float(_number(node))
    if family == "bool":
        return _bool(node)
    if family == "datetime":
        value = _datetime(node)
        return value.date() if _is_date_only(operand.column) else value
    return _guid(node, operand.column)


def compare_value(op: str, operand: Operand, node: ast._Node) -> ColumnElement[bool]:
    """``operand <op> node`` where ``node`` is a literal."""
    if isinstance(node, ast.Null):
        if op == "Eq":
            return operand.expr.is_(None)
        if op == "NotEq":
            return operand.expr.is_not(None)
        raise Invalid("null can only be compared with 'eq' or 'ne'.")
    if operand.family in ("int", "decimal"):
        return _compare_number(op, operand, _number(node))
    value = plain_value(operand, node)
    if operand.family == "string":
        fold = folder(operand)
        return OPS[op](fold(operand.expr), fold(bind(value, operand)))
    return OPS[op](operand.expr, bind(value, operand))


def compare_columns(op: str, left: Operand, right: Operand) -> ColumnElement[bool]:
    """``left <op> right`` for two properties of the same kind."""
    if left.family != right.family or (left.family == "decimal" and _scale(left) != _scale(right)):
        raise Invalid("Only properties of the same type can be compared with each other.")
    if left.family == "string":
        fold = folder(left, right)
        return OPS[op](fold(left.expr), fold(right.expr))
    return OPS[op](left.expr, right.expr)


def in_list(operand: Operand, nodes: list[ast._Node]) -> ColumnElement[bool]:
    """``operand in (v1, v2, …)``; values that no stored value can equal are dropped."""
    if not nodes:
        raise Invalid("The list of values is empty.")
    if any(isinstance(node, ast.Null) for node in nodes):
        raise Invalid("null is not allowed in a list of values.")
    kept = [value for value in (plain_value(operand, node) for node in nodes) if value is not NO_MATCH]
    if not kept:
        return _never(operand)
    if operand.family == "string":
        fold = folder(operand)
        return fold(operand.expr).in_([fold(bind(value, operand)) for value in kept])
    return operand.expr.in_([bind(value, operand) for value in kept])


def like(name: str, operand: Operand, text: str) -> ColumnElement[bool]:
    """``contains``/``startswith``/``endswith`` with Dataverse's LIKE wildcards kept (``%``, ``_``)."""
    if operand.family != "string":
        raise Invalid(f"'{name}' can only be used with text properties.")
    escaped = text.replace("\\", "\\\\")
    pattern = {"contains": f"%{escaped}%", "startswith": f"{escaped}%", "endswith": f"%{escaped}"}[name]
    fold = folder(operand)
    return fold(operand.expr).like(fold(bind(pattern, operand)), escape="\\")
