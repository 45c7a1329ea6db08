"""``$filter`` over JSON objects, for the metadata endpoints (``EntityDefinitions``, ``Attributes`` …).

Metadata is not stored in SQL tables; it is rendered from the registry as dictionaries, so filters on it
are evaluated in Python. The expression is parsed by ``odata-query`` (never by hand); this module only
walks the tree: comparisons, ``and``/``or``/``not``, ``in``, property paths such as
``CanChangeTrackingBeEnabled/Value`` and ``contains``/``startswith``/``endswith``. Strings compare
case-insensitively, as everywhere in Dataverse. Enum literals in Dataverse's spelling
(``Microsoft.Dynamics.CRM.AttributeTypeCode'Picklist'``) are accepted as plain strings.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from odata_query import ast
from odata_query.grammar import ODataLexer, ODataParser

from lead2cash.crm.odata.errors import QUERY_SYNTAX, DataverseError

_ENUM_LITERAL = re.compile(r"\bMicrosoft\.Dynamics\.CRM\.\w+('(?:[^']|'')*')")
_MISSING = object()


def _error(message: str) -> DataverseError:
    return DataverseError(400, QUERY_SYNTAX, message)


def parse(text: str) -> ast._Node:
    try:
        return ODataParser().parse(ODataLexer().tokenize(_ENUM_LITERAL.sub(r"\1", text)))
    except Exception as exc:  # the lexer and parser raise several exception types
        raise _error(f"Syntax error in $filter '{text}': {exc}") from None


def top_level_names(node: ast._Node) -> set[str]:
    """The first segment of every property path the expression uses (to report unknown properties)."""
    if isinstance(node, ast.Identifier):
        return {node.name}
    if isinstance(node, ast.Attribute):
        return top_level_names(node.owner)
    names: set[str] = set()
    for value in vars(node).values():
        children = value if isinstance(value, list) else [value]
        for child in children:
            if isinstance(child, ast._Node):
                names |= top_level_names(child)
    return names


def compile_filter(text: str, known: set[str] | None = None) -> Callable[[dict[str, Any]], bool]:
    """A predicate over dictionaries; 400 on bad syntax or (when ``known`` is given) unknown properties."""
    tree = parse(text)
    if known is not None:
        unknown = sorted(top_level_names(tree) - known)
        if unknown:
            raise _error(f"Could not find a property named '{unknown[0]}' on the queried type.")
    return lambda item: _truth(_eval(tree, item))


def _truth(value: Any) -> bool:
    return value is True


def _norm(value: Any) -> Any:
    return value.casefold() if isinstance(value, str) else value


def _eval(node: ast._Node, item: dict[str, Any]) -> Any:
    if isinstance(node, ast.Identifier):
        return item.get(node.name)
    if isinstance(node, ast.Attribute):
        owner = _eval(node.owner, item)
        return owner.get(node.attr) if isinstance(owner, dict) else None
    if isinstance(node, ast.Null):
        return None
    if isinstance(node, ast.Boolean):
        return node.val.lower() == "true"
    if isinstance(node, ast.Integer):
        return int(node.val)
    if isinstance(node, ast.Float):
        return float(node.val)
    if isinstance(node, ast.List):
        return [_eval(v, item) for v in node.val]
    if isinstance(node, ast._Literal):
        return node.val  # String, GUID, dates: compared as text
    if isinstance(node, ast.BoolOp):
        left = _truth(_eval(node.left, item))
        if isinstance(node.op, ast.And):
            return left and _truth(_eval(node.right, item))
        return left or _truth(_eval(node.right, item))
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.Not):
        return not _truth(_eval(node.operand, item))
    if isinstance(node, ast.Compare):
        return _compare(node.comparator, _eval(node.left, item), _eval(node.right, item))
    if isinstance(node, ast.Call):
        return _call(node, item)
    raise _error(f"The $filter construct {type(node).__name__} is not supported on metadata.")


def _compare(op: ast._Comparator, left: Any, right: Any) -> bool:
    left, right = _norm(left), _norm(right)
    if isinstance(op, ast.In):
        return left in [_norm(v) for v in right]
    if isinstance(op, ast.Eq):
        return left == right
    if isinstance(op, ast.NotEq):
        return left != right
    if left is None or right is None:
        return False
    try:
        if isinstance(op, ast.Lt):
            return left < right
        if isinstance(op, ast.LtE):
            return left <= right
        if isinstance(op, ast.Gt):
            return left > right
        if isinstance(op, ast.GtE):
            return left >= right
    except TypeError:
        raise _error("Values of different types cannot be compared in $filter.") from None
    raise _error("Unsupported comparison in $filter.")


_STRING_FUNCTIONS: dict[str, Callable[[str, str], bool]] = {
    "contains": lambda a, b: b in a,
    "startswith": lambda a, b: a.startswith(b),
    "endswith": lambda a, b: a.endswith(b),
}


def _call(node: ast.Call, item: dict[str, Any]) -> bool:
    func = _STRING_FUNCTIONS.get(node.func.name.lower())
    if func is None or len(node.args) != 2:
        raise _error(f"The function '{node.func.name}' is not supported on metadata.")
    haystack, needle = (_norm(_eval(a, item)) for a in node.args)
    return isinstance(haystack, str) and isinstance(needle, str) and func(haystack, needle)
