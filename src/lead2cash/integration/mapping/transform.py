"""Transformation rules applied to a source value before it is transferred (trim, case, replace, extract …).

Rules are rows a user edits, so applying one must never fail on odd input: non-text values pass through
unchanged, a substring beyond the end is empty, and a regular expression is compiled when the rule is
checked (``check_rule``), where a bad pattern is reported with the rule's code.
"""

from __future__ import annotations

import re
from typing import Any

from lead2cash.integration.mapping.enums import Direction, TransformationKind
from lead2cash.integration.mapping.model import FieldMapping, TransformationRule

_NON_ALNUM = re.compile(r"[^0-9A-Za-z\u00c0-\u024f]+")


class RuleError(ValueError):
    """A transformation rule that cannot work; the message names the rule."""


def check_rule(rule: TransformationRule) -> None:
    if rule.kind is TransformationKind.REGEX_REPLACE:
        try:
            re.compile(rule.find_value)
        except re.error as exc:
            message = f"transformation rule {rule.code}: {rule.find_value!r} is not a valid pattern ({exc})"
            raise RuleError(message) from exc
    if rule.kind is TransformationKind.SUBSTRING and (rule.start_position < 1 or rule.length < 0):
        raise RuleError(f"transformation rule {rule.code}: start must be 1 or more and length 0 or more")
    if rule.kind is TransformationKind.REPLACE and not rule.find_value:
        raise RuleError(f"transformation rule {rule.code}: enter the text to find")


def apply_rule(rule: TransformationRule, value: Any) -> Any:
    """The value after ``rule``; values that are not text are returned unchanged."""
    if not isinstance(value, str):
        return value
    kind = rule.kind
    if kind is TransformationKind.TRIM:
        return value.strip()
    if kind is TransformationKind.UPPERCASE:
        return value.upper()
    if kind is TransformationKind.LOWERCASE:
        return value.lower()
    if kind is TransformationKind.TITLECASE:
        return " ".join(word[:1].upper() + word[1:].lower() for word in value.split(" "))
    if kind is TransformationKind.REPLACE:
        return value.replace(rule.find_value, rule.replace_value) if rule.find_value else value
    if kind is TransformationKind.REGEX_REPLACE:
        check_rule(rule)
        return re.sub(rule.find_value, rule.replace_value, value)
    if kind is TransformationKind.SUBSTRING:
        start = max(rule.start_position, 1) - 1
        return value[start:] if rule.length <= 0 else value[start : start + rule.length]
    if kind is TransformationKind.REMOVE_NON_ALPHANUMERIC:
        return _NON_ALNUM.sub("", value)
    raise RuleError(f"transformation rule {rule.code}: unknown kind {kind!r}")


def applies(row: FieldMapping, pass_direction: Direction) -> bool:
    """Whether the row's rule runs in a pass in ``pass_direction`` (TO_CRM or FROM_CRM).

    A rule on a one-way row follows the row; on a bidirectional row it runs only in the direction chosen
    for it (none chosen: both).
    """
    if row.transformation_rule is None or not row.direction.includes(pass_direction):
        return False
    chosen = row.transformation_direction if row.direction is Direction.BOTH else row.direction
    return chosen is None or chosen.includes(pass_direction)
