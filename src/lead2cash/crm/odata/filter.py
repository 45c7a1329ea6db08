"""`$filter` → a SQLAlchemy Core condition over one entity's table, with Dataverse's semantics.

The text is parsed by ``odata-query`` (after :mod:`.filter_text` rewrote aliases and JSON arrays); the
syntax tree is then translated here rather than by the library's generic visitor, because Dataverse
differs from plain OData in ways a client notices:

* literals take the type of the attribute they are compared with (``statecode eq '1'`` works, money is
  exact, GUIDs match in any case, dates compare with datetimes), and a literal that cannot be stored in
  the column (too many decimals, out of range) still compares correctly instead of failing in the driver;
* **string comparison is case-insensitive**, and ``contains``/``startswith``/``endswith`` keep SQL
  ``LIKE`` wildcards (``%`` and ``_``) as Dataverse does;
* lookups are filtered as ``_x_value``; ``lookup/attribute`` paths (also chained, and polymorphic ones
  like ``customerid_account/name``) read the related row through a correlated subquery;
* ``children/any(c: …)`` and ``children/all(c: …)`` on collection-valued navigation properties become
  (NOT) EXISTS subqueries;
* the Dataverse query functions (``Microsoft.Dynamics.CRM.In``, ``Between``, ``Today``, ``LastXDays``,
  ``EqualUserId`` … see :mod:`.filter_functions`) are supported; other OData functions and arithmetic
  are refused, as Dataverse refuses them.

Conditions follow SQL's three-valued logic: a comparison with a NULL column is unknown, so neither
``x eq 'a'`` nor ``not (x eq 'a')`` matches a row whose ``x`` is NULL (``x eq null`` does).
Every invalid input ends as :class:`DataverseError` 400; nothing here reaches the database.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from odata_query import ast
from odata_query.exceptions import ODataException, ParsingException
from odata_query.grammar import ODataLexer, ODataParser
from odata_query.visitor import NodeVisitor
from sqlalchemy import Table, and_, case, false, literal, not_, null, or_, select, true
from sqlalchemy.sql.elements import ColumnElement

from lead2cash.crm.odata import filter_values as values
from lead2cash.crm.odata.errors import QUERY_SYNTAX, UNKNOWN_PROPERTY, DataverseError
from lead2cash.crm.odata.filter_functions import dataverse_function
from lead2cash.crm.odata.filter_text import FilterSyntaxError, prepare
from lead2cash.crm.odata.filter_values import Invalid, Operand
from lead2cash.sqltypes import utcnow

MAX_FILTER_LENGTH = 32_768
DATAVERSE_NAMESPACE = ("Microsoft", "Dynamics", "CRM")

# Given a logical name, the entity description and its table (for lookup/attribute paths).
Resolver = Callable[[str], tuple[Any, Table]]


@dataclass
class FilterContext:
    """What a filter may depend on besides its text: the clock, the caller, related tables."""

    now: datetime = field(default_factory=utcnow)
    caller_id: str | None = None
    resolve: Resolver | None = None
    registry: Any = None  # for any/all: ``collection_navigation(entity, nav)`` → the one-to-many relationship


def compile_filter(
    text: str,
    entity: Any,
    table: Table,
    *,
    aliases: Mapping[str, str] | None = None,
    context: FilterContext | None = None,
) -> ColumnElement[bool]:
    """Translate a Dataverse ``$filter`` into a WHERE condition on ``table``.

    ``entity`` describes the table (``logical_name`` and ``attributes``: logical name → attribute with
    ``attribute_type`` and, for lookups, ``targets``); ``aliases`` are the ``@name`` query parameters.
    Raises :class:`DataverseError` (400) for anything that is not a valid filter on this entity.
    """
    if len(text) > MAX_FILTER_LENGTH:
        raise DataverseError(400, QUERY_SYNTAX, "The $filter expression is too long.")
    try:
        prepared = prepare(text, aliases)
        if not prepared:
            raise Invalid("The $filter expression is empty.")
        tree = ODataParser().parse(ODataLexer().tokenize(prepared))
        if tree is None:
            raise Invalid("The $filter expression is empty.")
        visitor = _FilterVisitor(_Scope(entity, table), context or FilterContext())
        return visitor.condition(tree)
    except DataverseError:
        raise
    except Invalid as exc:
        raise DataverseError(400, exc.code, str(exc)) from None
    except ParsingException as exc:
        where = f"at position {exc.token.index}" if exc.token is not None else "at the end"
        raise DataverseError(400, QUERY_SYNTAX, f"Syntax error {where} in $filter '{text}'.") from None
    except (FilterSyntaxError, ODataException) as exc:
        raise DataverseError(400, QUERY_SYNTAX, f"Invalid $filter '{text}': {exc}") from None
    except RecursionError:
        raise DataverseError(400, QUERY_SYNTAX, "The $filter expression is nested too deeply.") from None
    except (ValueError, TypeError, OverflowError, ArithmeticError) as exc:
        raise DataverseError(400, QUERY_SYNTAX, f"Invalid $filter '{text}': {exc}") from None


@dataclass(frozen=True)
class _Scope:
    entity: Any
    table: Any  # a Table or an alias of one


class _FilterVisitor(NodeVisitor):
    def __init__(self, scope: _Scope, context: FilterContext, variable: str | None = None):
        self.scope = scope
        self.context = context
        self.variable = variable  # the lambda variable (``c`` in ``…/any(c: c/name eq 'x')``)

    # -- entry points -----------------------------------------------------------------------------------

    def condition(self, node: ast._Node) -> ColumnElement[bool]:
        """Visit ``node`` and insist that it is a boolean condition."""
        result = self.visit(node)
        if isinstance(result, ColumnElement):
            return result
        if isinstance(result, Operand) and result.family == "bool":
            return result.expr == true()
        if isinstance(node, ast.Boolean):
            return true() if node.py_val else false()
        raise Invalid("The $filter expression must be a condition (true or false for each row).")

    def visit_BinOp(self, node: ast.BinOp):
        raise Invalid("Arithmetic is not supported in a Dataverse $filter.")

    def visit_CollectionLambda(self, node: ast.CollectionLambda) -> ColumnElement[bool]:
        """``children/any(c: …)`` → EXISTS; ``children/all(c: …)`` → no child for which it is not true."""
        if not isinstance(node.owner, ast.Identifier) or node.owner.namespace:
            raise Invalid("any/all must follow a collection-valued navigation property.")
        registry, resolve = self.context.registry, self.context.resolve
        if registry is None or resolve is None:
            raise Invalid("The lambda operators any/all are not supported in this $filter.")
        relationship = registry.collection_navigation(self.scope.entity, node.owner.name)
        if relationship is None:
            raise Invalid(
                f"'{node.owner.name}' is not a collection-valued navigation property of "
                f"{self.scope.entity.logical_name}.",
                UNKNOWN_PROPERTY,
            )
        child_entity, child_table = resolve(relationship.referencing_entity)
        child = child_table.alias()
        parent_key = self.scope.table.c[values.primary_key(self.scope.entity)]
        link = [child.c[relationship.referencing_attribute] == parent_key]
        type_column = f"{relationship.referencing_attribute}_type"
        lookup = child_entity.attributes.get(relationship.referencing_attribute)
        if lookup is not None and len(values.targets_of(lookup)) > 1 and type_column in child.c:
            link.append(child.c[type_column] == relationship.referenced_entity)
        rows = select(literal(1)).select_from(child).correlate(self.scope.table)
        if node.lambda_ is None:
            if isinstance(node.operator, ast.All):
                raise Invalid("all() needs a lambda expression.")
            return rows.where(*link).exists()
        inner = _FilterVisitor(_Scope(child_entity, child), self.context, node.lambda_.identifier.name)
        condition = inner.condition(node.lambda_.expression)
        if isinstance(node.operator, ast.Any):
            return rows.where(*link, condition).exists()
        holds = case((condition, true()), else_=false())  # unknown counts as "does not hold"
        return not_(rows.where(*link, not_(holds)).exists())

    def generic_visit(self, node: ast._Node):
        raise Invalid(f"'{type(node).__name__}' is not supported in a Dataverse $filter.")

    # -- leaves -----------------------------------------------------------------------------------------

    def visit_Identifier(self, node: ast.Identifier) -> Operand:
        if self.variable is not None and node.name == self.variable and not node.namespace:
            raise Invalid(f"The lambda variable '{node.name}' must be followed by a property ({node.name}/name).")
        if node.namespace:
            raise Invalid(f"Could not find a property named '{node.full_name()}'.", UNKNOWN_PROPERTY)
        return self.property(node.name)

    def property(self, name: str) -> Operand:
        """The operand for a property of the current entity (``name`` or ``_name_value``)."""
        attr = values.find_attribute(self.scope.entity, name)
        return values.column_operand(self.scope.entity, self.scope.table, attr)

    def visit_Attribute(self, node: ast.Attribute) -> Operand:
        segments: list[str] = []
        current: ast._Node = node
        while isinstance(current, ast.Attribute):
            segments.insert(0, current.attr)
            current = current.owner
        if not isinstance(current, ast.Identifier) or current.namespace:
            raise Invalid("Invalid property path in $filter.")
        segments.insert(0, current.name)
        if self.variable is not None and segments[0] == self.variable:
            segments = segments[1:]  # inside a lambda, ``c/name`` is ``name`` of the related row
            if len(segments) == 1:
                return self.property(segments[0])
        return self._navigate(segments)

    def _navigate(self, segments: list[str]) -> Operand:
        if self.context.resolve is None:
            raise Invalid("Navigation properties are not supported in this $filter.")
        entity, table = self.scope.entity, self.scope.table
        if len(segments) == 2:
            attr, target = values.find_navigation(entity, segments[0])
            target_entity, _ = self.context.resolve(target)
            if segments[1] == values.primary_key(target_entity):
                return self._lookup_id(attr, target)
        joins: list[ColumnElement[bool]] = []
        for nav in segments[:-1]:
            attr, target = values.find_navigation(entity, nav)
            target_entity, target_table = self.context.resolve(target)
            alias = target_table.alias()
            key = values.primary_key(target_entity)
            joins.append(alias.c[key] == table.c[attr.logical_name])
            type_column = f"{attr.logical_name}_type"
            if len(values.targets_of(attr)) > 1 and type_column in table.c:
                joins.append(table.c[type_column] == target)
            entity, table = target_entity, alias
        last = values.column_operand(entity, table, values.find_attribute(entity, segments[-1]))
        subquery = select(last.expr).where(*joins).correlate(self.scope.table).limit(1).scalar_subquery()
        return Operand(last.family, subquery, last.column)

    def _lookup_id(self, attr: Any, target: str) -> Operand:
        """``lookup/<target primary key>`` is the lookup column itself (references never dangle: deleting
        a row clears them), restricted to rows pointing at ``target`` when the lookup is polymorphic."""
        column = self.scope.table.c[attr.logical_name]
        type_column = self.scope.table.c.get(f"{attr.logical_name}_type")
        expr = column
        if len(values.targets_of(attr)) > 1 and type_column is not None:
            expr = case((type_column == target, column), else_=null())
        return Operand("guid", expr, column)

    def visit_Null(self, node: ast.Null) -> ast.Null:
        return node

    def _literal(self, node: ast._Literal) -> ast._Literal:
        return node

    visit_Integer = visit_Float = visit_Boolean = visit_String = _literal
    visit_Date = visit_DateTime = visit_Time = visit_Duration = visit_GUID = _literal

    def visit_List(self, node: ast.List) -> ast.List:
        return node

    # -- operators --------------------------------------------------------------------------------------

    def visit_BoolOp(self, node: ast.BoolOp) -> ColumnElement[bool]:
        left, right = self.condition(node.left), self.condition(node.right)
        return and_(left, right) if isinstance(node.op, ast.And) else or_(left, right)

    def visit_UnaryOp(self, node: ast.UnaryOp) -> ColumnElement[bool]:
        if not isinstance(node.op, ast.Not):
            raise Invalid("Arithmetic is not supported in a Dataverse $filter.")
        return not_(self.condition(node.operand))

    def visit_Compare(self, node: ast.Compare) -> ColumnElement[bool]:
        op = type(node.comparator).__name__
        left, right = self.visit(node.left), self.visit(node.right)
        if op == "In":
            if not isinstance(left, Operand) or not isinstance(right, ast.List):
                raise Invalid("'in' needs a property on the left and a list of values on the right.")
            return values.in_list(left, right.val)
        if isinstance(left, Operand) and isinstance(right, Operand):
            return values.compare_columns(op, left, right)
        if isinstance(right, Operand):
            left, right, op = right, left, values.MIRRORED[op]
        if not isinstance(left, Operand):
            raise Invalid("A comparison in $filter needs a property on at least one side.")
        if isinstance(right, ast.List):
            raise Invalid("A list of values can only be used with 'in'.")
        if not isinstance(right, ast._Literal):
            raise Invalid("A comparison in $filter needs a property and a value.")
        return values.compare_value(op, left, right)

    def visit_Call(self, node: ast.Call) -> ColumnElement[bool]:
        namespace = node.func.namespace
        if namespace == DATAVERSE_NAMESPACE:
            return dataverse_function(self, node.func.name, node.args)
        if namespace:
            raise Invalid(f"Unknown function '{node.func.full_name()}' in $filter.")
        name = node.func.name
        if name not in ("contains", "startswith", "endswith"):
            raise Invalid(f"The function '{name}' is not supported in a Dataverse $filter.")
        if len(node.args) != 2:
            raise Invalid(f"The function '{name}' takes two arguments.")
        target, pattern = self.visit(node.args[0]), self.visit(node.args[1])
        if not isinstance(target, Operand) or not isinstance(pattern, ast.String):
            raise Invalid(f"'{name}' needs a text property and a text value.")
        return values.like(name, target, pattern.py_val)
