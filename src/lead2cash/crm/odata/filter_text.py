"""Rewrites Dataverse-only `$filter` syntax into plain OData before it is parsed.

Dataverse clients (Microsoft's Python client, the documentation's own examples) send two things the OData
grammar we parse with does not accept: parameter aliases (``PropertyName=@p1`` with ``@p1='name'`` given
as a separate query parameter) and JSON arrays as function arguments
(``PropertyValues=["0","1"]``, also with single quotes or double-quoted strings that contain ``'``).
This module substitutes the aliases and turns arrays into OData lists (``('0','1')``) with a small
scanner that respects string literals, so nothing inside a quoted value is ever rewritten.

Everything here is text in, text out; any malformed input raises :class:`FilterSyntaxError`, which the
caller turns into a Dataverse 400 error.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping

_ALIAS_NAME = re.compile(r"@[A-Za-z_][A-Za-z0-9_]*")
_BARE_ITEM = re.compile(r"[^,\]\s]+")


class FilterSyntaxError(ValueError):
    """The filter text cannot be rewritten (unbalanced quote, unknown alias, bad array)."""


def alias_values(params: Mapping[str, str] | object) -> dict[str, str]:
    """Pick the parameter aliases (names starting with ``@``) out of a query-string mapping."""
    items = params.items() if hasattr(params, "items") else []
    return {k: v for k, v in items if isinstance(k, str) and k.startswith("@")}


def odata_string(value: str) -> str:
    """Quote ``value`` as an OData string literal."""
    return "'" + value.replace("'", "''") + "'"


def _scan_odata_string(text: str, start: int) -> int:
    """Index just after the OData string literal starting at ``text[start] == "'"``."""
    i = start + 1
    while i < len(text):
        if text[i] == "'":
            if i + 1 < len(text) and text[i + 1] == "'":
                i += 2
                continue
            return i + 1
        i += 1
    raise FilterSyntaxError("Unterminated string literal in $filter.")


def _scan_json_string(text: str, start: int) -> tuple[str, int]:
    """Decode the JSON string starting at ``text[start] == '"'``; return (value, end index)."""
    try:
        value, end = json.JSONDecoder().raw_decode(text, start)
    except ValueError as exc:
        raise FilterSyntaxError("Unterminated or invalid double-quoted string in $filter.") from exc
    if not isinstance(value, str):  # pragma: no cover - raw_decode at '"' always yields a str
        raise FilterSyntaxError("Invalid double-quoted string in $filter.")
    return value, end


def substitute_aliases(text: str, aliases: Mapping[str, str]) -> str:
    """Replace every ``@name`` outside string literals by the alias value given for it."""
    out: list[str] = []
    i = 0
    while i < len(text):
        ch = text[i]
        if ch == "'":
            end = _scan_odata_string(text, i)
            out.append(text[i:end])
            i = end
        elif ch == '"':
            _value, end = _scan_json_string(text, i)
            out.append(text[i:end])
            i = end
        elif ch == "@":
            match = _ALIAS_NAME.match(text, i)
            if not match:
                raise FilterSyntaxError(f"Invalid parameter alias at position {i} in $filter.")
            name = match.group(0)
            if name not in aliases:
                raise FilterSyntaxError(f"The parameter alias '{name}' is not defined in the query.")
            out.append(aliases[name].strip())
            i = match.end()
        else:
            out.append(ch)
            i += 1
    return "".join(out)


def _array_items(text: str, start: int) -> tuple[list[str], int]:
    """Read the array starting at ``text[start] == '['``; return OData literals and the end index."""
    items: list[str] = []
    i = start + 1
    expect_item = True
    while True:
        while i < len(text) and text[i].isspace():
            i += 1
        if i >= len(text):
            raise FilterSyntaxError("Unterminated array in $filter.")
        ch = text[i]
        if ch == "]":
            if expect_item and items:
                raise FilterSyntaxError("Array ends with a comma in $filter.")
            return items, i + 1
        if not expect_item:
            if ch != ",":
                raise FilterSyntaxError("Array items must be separated by commas in $filter.")
            expect_item = True
            i += 1
            continue
        if ch == '"':
            value, i = _scan_json_string(text, i)
            items.append(odata_string(value))
        elif ch == "'":
            end = _scan_odata_string(text, i)
            items.append(text[i:end])
            i = end
        elif ch in "[(":
            raise FilterSyntaxError("Nested arrays are not supported in $filter.")
        else:
            match = _BARE_ITEM.match(text, i)
            if not match:  # pragma: no cover - the guards above leave a non-empty bare item
                raise FilterSyntaxError("Invalid array item in $filter.")
            items.append(match.group(0))
            i = match.end()
        expect_item = False


def rewrite_arrays(text: str) -> str:
    """Turn JSON arrays into OData lists and double-quoted strings into OData strings."""
    out: list[str] = []
    i = 0
    while i < len(text):
        ch = text[i]
        if ch == "'":
            end = _scan_odata_string(text, i)
            out.append(text[i:end])
            i = end
        elif ch == '"':
            value, i = _scan_json_string(text, i)
            out.append(odata_string(value))
        elif ch == "[":
            items, i = _array_items(text, i)
            if not items:
                raise FilterSyntaxError("An empty array is not a valid $filter value.")
            out.append("(" + ",".join(items) + ("," if len(items) == 1 else "") + ")")
        else:
            out.append(ch)
            i += 1
    return "".join(out)


def prepare(text: str, aliases: Mapping[str, str] | None = None) -> str:
    """Dataverse `$filter` text → plain OData text the grammar accepts."""
    text = substitute_aliases(text.strip(), aliases or {})
    return rewrite_arrays(text).strip()
