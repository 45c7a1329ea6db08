"""Dataverse query functions in `$filter` (``Microsoft.Dynamics.CRM.<Name>(PropertyName=…, …)``).

Dataverse offers 60+ of these; the server implements the ones clients actually send: set membership
(``In``, ``NotIn``), ranges (``Between``, ``NotBetween``), the caller (``EqualUserId``,
``NotEqualUserId``) and the relative date functions of :mod:`.filter_dates`. Anything else is refused
with a 400 that names the function, which is what a client can act on.

Parameters are named (``PropertyName``, ``PropertyValue``, ``PropertyValues``) and arrive here already
rewritten from JSON arrays and aliases by :mod:`.filter_text`.
"""

from __future__ import annotations

from typing import Any

from odata_query import ast
from sqlalchemy import and_, not_
from sqlalchemy.sql.elements import ColumnElement

from lead2cash.crm.odata import filter_dates as dates
from lead2cash.crm.odata import filter_values as values
from lead2cash.crm.odata.filter_values import Invalid, Operand


def _params(name: str, args: list[ast._Node]) -> dict[str, ast._Node]:
    params: dict[str, ast._Node] = {}
    for arg in args:
        if not isinstance(arg, ast.NamedParam) or arg.name.namespace:
            raise Invalid(f"Microsoft.Dynamics.CRM.{name} takes named parameters (PropertyName=…).")
        if arg.name.name in params:
            raise Invalid(f"The parameter '{arg.name.name}' is given twice to {name}.")
        params[arg.name.name] = arg.param
    return params


def _require(name: str, params: dict[str, ast._Node], *allowed: str) -> None:
    for key in params:
        if key not in allowed:
            raise Invalid(f"Microsoft.Dynamics.CRM.{name} has no parameter '{key}'.")
    for key in allowed:
        if key not in params:
            raise Invalid(f"Microsoft.Dynamics.CRM.{name} needs the parameter '{key}'.")


def _property(visitor: Any, name: str, params: dict[str, ast._Node]) -> Operand:
    node = params["PropertyName"]
    if not isinstance(node, ast.String):
        raise Invalid(f"PropertyName of {name} must be a quoted property name.")
    attr = values.find_attribute(visitor.scope.entity, node.val.strip(), lookup_by_name=True)
    return values.column_operand(visitor.scope.entity, visitor.scope.table, attr)


def _list(name: str, node: ast._Node) -> list[ast._Node]:
    if isinstance(node, ast.List):
        return list(node.val)
    raise Invalid(f"PropertyValues of {name} must be an array of values.")


def _count(name: str, node: ast._Node) -> int:
    raw = str(getattr(node, "val", "")).strip()
    if not isinstance(node, ast.Integer | ast.String) or not raw.lstrip("+").isdigit():
        raise Invalid(f"PropertyValue of {name} must be a whole number.")
    return int(raw)


def window_condition(operand: Operand, window: dates.Window) -> ColumnElement[bool]:
    """``operand`` lies inside ``window``."""
    parts = []
    if window.lo is not None:
        op = "GtE" if window.lo_inclusive else "Gt"
        parts.append(values.compare_value(op, operand, ast.DateTime(window.lo.isoformat())))
    if window.hi is not None:
        op = "LtE" if window.hi_inclusive else "Lt"
        parts.append(values.compare_value(op, operand, ast.DateTime(window.hi.isoformat())))
    return and_(*parts)


def _dates(visitor: Any, name: str, params: dict[str, ast._Node]) -> ColumnElement[bool]:
    if name in dates.FIXED_FUNCTIONS:
        _require(name, params, "PropertyName")
        operand = _property(visitor, name, params)
        window = dates.fixed_window(name, visitor.context.now)
    else:
        _require(name, params, "PropertyName", "PropertyValue")
        operand = _property(visitor, name, params)
        if name in dates.DAY_FUNCTIONS:
            window = dates.day_window(name, values.as_date(params["PropertyValue"]))
        else:
            window = dates.relative_window(name, visitor.context.now, _count(name, params["PropertyValue"]))
    if operand.family != "datetime":
        raise Invalid(f"Microsoft.Dynamics.CRM.{name} can only be used with date and time properties.")
    condition = window_condition(operand, window)
    return not_(condition) if name == "NotOn" else condition


def dataverse_function(visitor: Any, name: str, args: list[ast._Node]) -> ColumnElement[bool]:
    """The condition for ``Microsoft.Dynamics.CRM.<name>(args)`` in the visitor's current scope."""
    params = _params(name, args)
    if name in ("In", "NotIn"):
        _require(name, params, "PropertyName", "PropertyValues")
        condition = values.in_list(_property(visitor, name, params), _list(name, params["PropertyValues"]))
        return not_(condition) if name == "NotIn" else condition
    if name in ("Between", "NotBetween"):
        _require(name, params, "PropertyName", "PropertyValues")
        operand = _property(visitor, name, params)
        bounds = _list(name, params["PropertyValues"])
        if len(bounds) != 2:
            raise Invalid(f"PropertyValues of {name} must hold exactly two values.")
        condition = and_(
            values.compare_value("GtE", operand, bounds[0]), values.compare_value("LtE", operand, bounds[1])
        )
        return not_(condition) if name == "NotBetween" else condition
    if name in ("EqualUserId", "NotEqualUserId"):
        _require(name, params, "PropertyName")
        operand = _property(visitor, name, params)
        if operand.family != "guid":
            raise Invalid(f"Microsoft.Dynamics.CRM.{name} can only be used with lookup properties.")
        if visitor.context.caller_id is None:
            raise Invalid(f"Microsoft.Dynamics.CRM.{name} needs a signed-in user.")
        op = "Eq" if name == "EqualUserId" else "NotEq"
        return values.compare_value(op, operand, ast.String(str(visitor.context.caller_id)))
    if name in dates.FIXED_FUNCTIONS or name in dates.RELATIVE_FUNCTIONS or name in dates.DAY_FUNCTIONS:
        return _dates(visitor, name, params)
    raise Invalid(f"The query function 'Microsoft.Dynamics.CRM.{name}' is not supported.")
