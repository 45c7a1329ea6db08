"""Table filters as data: one small expression tree, evaluated as SQL on the ERP and sent as OData to the CRM.

A mapping's filters are edited by users and stored as JSON, so they must never become text that is pasted
into SQL. The tree has comparisons (``eq ne gt ge lt le`` of a field with a typed literal), ``in`` lists
and ``and`` / ``or`` / ``not``. The same tree is

* compiled to a SQLAlchemy condition over an ERP model (``erp_condition``), with literals bound as
  parameters and every field checked against the model's columns;
* evaluated in Python over a record (``matches``), with exactly the semantics of the SQL form;
* rendered as an OData ``$filter`` for the CRM side (``to_odata``), where fields are Web API property
  names (``statecode``, ``_parentcustomerid_value``, ``parentcustomerid_account/accountid``).

Semantics (both ERP forms, chosen so that no comparison is ever "unknown"): a blank ERP code is stored as
NULL, so for a *text* literal a NULL field counts as the empty string (``salesperson_code eq ''`` matches
NULL, ``ne ''`` does not). For other literals a NULL field satisfies only ``ne``. ``eq null`` / ``ne null``
test for NULL. Text comparisons are by code point (binary collation on both databases).
"""

from __future__ import annotations

import operator
import re
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Any, Union

from sqlalchemy import and_, func, not_, or_
from sqlalchemy.sql.elements import ColumnElement

OPS = ("eq", "ne", "gt", "ge", "lt", "le")
FIELD = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*(/[A-Za-z_][A-Za-z0-9_]*)*$")
MAX_NODES = 500
_PY_OPS = {
    "eq": operator.eq, "ne": operator.ne, "gt": operator.gt, "ge": operator.ge, "lt": operator.lt, "le": operator.le,
}  # fmt: skip

Scalar = Union[str, bool, int, Decimal, date, datetime, uuid.UUID, None]  # noqa: UP007
_TAGS = {"decimal": Decimal, "date": date.fromisoformat, "datetime": datetime.fromisoformat, "guid": uuid.UUID}


class FilterError(ValueError):
    """A filter that cannot be stored or applied; the message names the field or part at fault."""


def _check_value(value: Any) -> None:
    if isinstance(value, float):
        raise FilterError(f"{value!r}: use an exact decimal, not a float")
    if value is not None and not isinstance(value, (str, bool, int, Decimal, date, uuid.UUID)):
        raise FilterError(f"{value!r} is not a literal a filter can hold")
    if isinstance(value, datetime) and value.tzinfo is None:
        raise FilterError(f"{value!r}: date-times in filters must carry a time zone")


def _check_field(name: str) -> None:
    if not isinstance(name, str) or not FIELD.match(name):
        raise FilterError(f"{name!r} is not a field name")


@dataclass(frozen=True)
class Cmp:
    field: str
    op: str
    value: Scalar

    def __post_init__(self) -> None:
        _check_field(self.field)
        if self.op not in OPS:
            raise FilterError(f"unknown operator {self.op!r} (use one of {', '.join(OPS)})")
        _check_value(self.value)
        if (self.value is None or isinstance(self.value, bool)) and self.op not in ("eq", "ne"):
            raise FilterError(f"{self.field}: {odata_literal(self.value)} can only be compared with eq or ne")


@dataclass(frozen=True)
class In:
    field: str
    values: tuple[Scalar, ...]

    def __post_init__(self) -> None:
        _check_field(self.field)
        if not self.values:
            raise FilterError(f"{self.field}: an 'in' list needs at least one value")
        for value in self.values:
            _check_value(value)


@dataclass(frozen=True)
class And:
    items: tuple[Filter, ...]

    def __post_init__(self) -> None:
        if not self.items:
            raise FilterError("'and' needs at least one condition")


@dataclass(frozen=True)
class Or:
    items: tuple[Filter, ...]

    def __post_init__(self) -> None:
        if not self.items:
            raise FilterError("'or' needs at least one condition")


@dataclass(frozen=True)
class Not:
    item: Filter


Filter = Union[Cmp, In, And, Or, Not]  # noqa: UP007


def all_of(*items: Filter) -> Filter:
    """``and`` of the conditions (the single condition itself when there is one)."""
    return items[0] if len(items) == 1 else And(tuple(items))


def eq(field: str, value: Scalar) -> Cmp:
    return Cmp(field, "eq", value)


def ne(field: str, value: Scalar) -> Cmp:
    return Cmp(field, "ne", value)


def fields(node: Filter) -> set[str]:
    """Every field the filter reads."""
    if isinstance(node, (Cmp, In)):
        return {node.field}
    if isinstance(node, Not):
        return fields(node.item)
    return set().union(*(fields(i) for i in node.items))


# --- JSON -------------------------------------------------------------------------------------------------


def _encode_value(value: Scalar) -> Any:
    if isinstance(value, Decimal):
        return {"decimal": format(value, "f")}
    if isinstance(value, datetime):
        return {"datetime": value.isoformat()}
    if isinstance(value, date):
        return {"date": value.isoformat()}
    if isinstance(value, uuid.UUID):
        return {"guid": str(value)}
    return value


def _decode_value(raw: Any) -> Scalar:
    if isinstance(raw, dict):
        if len(raw) != 1 or next(iter(raw)) not in _TAGS:
            raise FilterError(f"{raw!r} is not a literal (tags: {', '.join(_TAGS)})")
        tag, text = next(iter(raw.items()))
        try:
            return _TAGS[tag](text)
        except (ValueError, TypeError, ArithmeticError) as exc:
            raise FilterError(f"{text!r} is not a valid {tag}") from exc
    if isinstance(raw, (list, float)):
        raise FilterError(f"{raw!r} is not a literal")
    return raw


def to_json(node: Filter) -> dict:
    if isinstance(node, Cmp):
        return {"field": node.field, "op": node.op, "value": _encode_value(node.value)}
    if isinstance(node, In):
        return {"field": node.field, "in": [_encode_value(v) for v in node.values]}
    if isinstance(node, Not):
        return {"not": to_json(node.item)}
    return {"and" if isinstance(node, And) else "or": [to_json(i) for i in node.items]}


def from_json(raw: Any) -> Filter:
    """Parse the stored form, refusing anything that is not exactly a filter tree."""
    budget = [MAX_NODES]

    def parse(obj: Any) -> Filter:
        budget[0] -= 1
        if budget[0] < 0:
            raise FilterError(f"filter has more than {MAX_NODES} parts")
        if not isinstance(obj, dict):
            raise FilterError(f"{obj!r} is not a filter condition")
        keys = set(obj)
        if keys == {"field", "op", "value"}:
            return Cmp(obj["field"], obj["op"], _decode_value(obj["value"]))
        if keys == {"field", "in"} and isinstance(obj["in"], list):
            return In(obj["field"], tuple(_decode_value(v) for v in obj["in"]))
        if keys == {"not"}:
            return Not(parse(obj["not"]))
        if keys in ({"and"}, {"or"}):
            (kind, items), *_ = obj.items()
            if not isinstance(items, list):
                raise FilterError(f"'{kind}' takes a list of conditions")
            return (And if kind == "and" else Or)(tuple(parse(i) for i in items))
        raise FilterError(f"{obj!r} is not a filter condition")

    return parse(raw)


# --- ERP: SQL and Python ------------------------------------------------------------------------------------


def _column(model: Any, name: str):
    column = model.__table__.columns.get(name) if "/" not in name else None
    if column is None:
        raise FilterError(f"{model.__name__} has no field {name!r}")
    return getattr(model, column.key)


def _check_literal(model: Any, name: str, value: Scalar) -> None:
    if value is None:
        return
    column = model.__table__.columns[name]
    expected = column.type.python_type
    ok = isinstance(value, expected) and not (isinstance(value, bool) and expected is not bool)
    if expected is Decimal:
        ok = isinstance(value, (int, Decimal)) and not isinstance(value, bool)
    if expected is date:
        ok = isinstance(value, date) and not isinstance(value, datetime)
    if issubclass(expected, str) and expected is not str:  # an option field: only its values
        allowed = [m.value for m in expected]
        if value not in allowed:
            raise FilterError(f"{value!r} is not a value of {model.__name__}.{name} (one of {allowed})")
        return
    if not ok:
        raise FilterError(f"{model.__name__}.{name} holds {expected.__name__} values, not {value!r}")


def _sql_cmp(model: Any, name: str, op: str, value: Scalar, dialect: str) -> ColumnElement[bool]:
    col = _column(model, name)
    _check_literal(model, name, value)
    if value is None:
        return col.is_(None) if op == "eq" else col.is_not(None)
    if isinstance(value, str):
        left = func.coalesce(col, "") if col.nullable else col
        if dialect == "postgresql":
            left = left.collate("C")
        return left.operate(_PY_OPS[op], value)
    compared = col.operate(_PY_OPS[op], value)
    if not col.nullable:
        return compared
    return or_(col.is_(None), compared) if op == "ne" else and_(col.is_not(None), compared)


def erp_condition(node: Filter, model: Any, dialect: str = "sqlite") -> ColumnElement[bool]:
    """The filter as a SQLAlchemy condition over ``model`` (an ERP model class); literals are bound."""
    if isinstance(node, Cmp):
        return _sql_cmp(model, node.field, node.op, node.value, dialect)
    if isinstance(node, In):
        return or_(*(_sql_cmp(model, node.field, "eq", v, dialect) for v in node.values))
    if isinstance(node, Not):
        return not_(erp_condition(node.item, model, dialect))
    parts = [erp_condition(i, model, dialect) for i in node.items]
    return and_(*parts) if isinstance(node, And) else or_(*parts)


def check(node: Filter, model: Any) -> None:
    """Raise ``FilterError`` if a field is not a column of ``model`` or a literal does not fit it."""
    erp_condition(node, model)


def _read(record: Any, name: str) -> Any:
    return record[name] if isinstance(record, Mapping) else getattr(record, name)


def _py_cmp(actual: Any, op: str, value: Scalar) -> bool:
    if value is None:
        return (actual is None) == (op == "eq")
    if isinstance(value, str):
        return _PY_OPS[op](str(actual) if actual is not None else "", value)
    if actual is None:
        return op == "ne"
    return _PY_OPS[op](actual, value)


def matches(node: Filter, record: Any) -> bool:
    """Evaluate the filter on one record (object or mapping) with the same semantics as the SQL form."""
    if isinstance(node, Cmp):
        return _py_cmp(_read(record, node.field), node.op, node.value)
    if isinstance(node, In):
        actual = _read(record, node.field)
        return any(_py_cmp(actual, "eq", v) for v in node.values)
    if isinstance(node, Not):
        return not matches(node.item, record)
    results = (matches(i, record) for i in node.items)
    return all(results) if isinstance(node, And) else any(results)


# --- CRM: OData ---------------------------------------------------------------------------------------------


def odata_literal(value: Scalar) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return "'" + value.replace("'", "''") + "'"
    if isinstance(value, Decimal):
        return format(value, "f")
    if isinstance(value, datetime):
        return value.isoformat().replace("+00:00", "Z")
    if isinstance(value, (date, uuid.UUID, int)):
        return str(value)
    raise FilterError(f"{value!r} cannot be sent to the CRM")


def to_odata(node: Filter) -> str:
    """The filter as an OData ``$filter`` expression (fields are Web API property names)."""
    if isinstance(node, Cmp):
        return f"{node.field} {node.op} {odata_literal(node.value)}"
    if isinstance(node, In):
        if len(node.values) == 1:
            return f"{node.field} eq {odata_literal(node.values[0])}"
        return "(" + " or ".join(f"{node.field} eq {odata_literal(v)}" for v in node.values) + ")"
    if isinstance(node, Not):
        return f"not ({to_odata(node.item)})"
    if len(node.items) == 1:
        return to_odata(node.items[0])
    joiner = " and " if isinstance(node, And) else " or "
    return "(" + joiner.join(to_odata(i) for i in node.items) + ")"
