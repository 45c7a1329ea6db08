"""Small OData helpers: keys, literals, query strings, ``Prefer`` headers, ids from entity URLs.

Kept apart from the transport so they are plain functions with plain tests. Query strings keep ``$``,
quotes, commas and parentheses readable (``$filter=name eq 'O''Brien'`` → ``$filter=name%20eq%20'O''Brien'``)
and percent-encode everything that would change the URL's meaning (``&``, ``#``, ``+``, ``%``).
"""

from __future__ import annotations

import json
import re
import uuid
from collections.abc import Iterable, Mapping, Sequence
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any
from urllib.parse import quote

Key = str | uuid.UUID | Mapping[str, Any]
_GUID = re.compile(r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}")
_SAFE = "$(),'@:/*=!;"


def literal(value: Any) -> str:
    """An OData literal: strings quoted (``'`` doubled), GUIDs/numbers/booleans bare, datetimes in UTC."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, uuid.UUID):
        return str(value)
    if isinstance(value, (int, Decimal)):
        return str(value)
    if isinstance(value, float):
        return repr(value)
    if isinstance(value, datetime):
        if value.tzinfo is None:
            raise ValueError("datetimes sent to Dataverse must be timezone-aware")
        return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    if isinstance(value, date):
        return value.isoformat()
    text = str(value)
    return "'" + text.replace("'", "''") + "'"


def is_guid(value: Any) -> bool:
    return isinstance(value, uuid.UUID) or (isinstance(value, str) and _GUID.fullmatch(value) is not None)


def format_key(key: Key) -> str:
    """``(<guid>)`` for a primary key, ``(name='A',number=1)`` for an alternate key."""
    if isinstance(key, Mapping):
        if not key:
            raise ValueError("an alternate key needs at least one column")
        return "(" + ",".join(f"{name}={literal(value)}" for name, value in key.items()) + ")"
    if not is_guid(key):
        raise ValueError(f"not a GUID: {key!r} (use a mapping for alternate keys)")
    return f"({str(key).lower()})"


def entity_path(entity_set: str, key: Key) -> str:
    return f"{entity_set}{format_key(key)}"


def bind(entity_set: str, key: Key) -> str:
    """The value of a ``<navigation>@odata.bind`` property: ``/accounts(<guid>)``."""
    return "/" + entity_path(entity_set, key)


def id_from_entity_url(url: str | None) -> str | None:
    """The GUID in an ``OData-EntityId``/``Location`` URL (``…/accounts(<guid>)``)."""
    if not url:
        return None
    match = re.search(r"\(([0-9a-fA-F-]{36})\)\s*$", url)
    return match.group(1).lower() if match else None


def filter_in(attribute: str, values: Iterable[Any]) -> str:
    """``attribute`` equals one of ``values`` — Dataverse's ``In`` query function (one condition, any length)."""
    items = [str(v) for v in values]
    if not items:
        raise ValueError("filter_in needs at least one value")
    return f"Microsoft.Dynamics.CRM.In(PropertyName={literal(attribute)},PropertyValues={json.dumps(items)})"


def query_string(
    *,
    select: Sequence[str] | str | None = None,
    filter: str | None = None,
    orderby: Sequence[str] | str | None = None,
    expand: Sequence[str] | str | None = None,
    top: int | None = None,
    count: bool = False,
    extra: Mapping[str, str] | None = None,
) -> str:
    """``?$select=…&$filter=…`` (empty string when there is nothing to ask)."""
    items: list[tuple[str, str]] = []
    for name, value in (("$select", select), ("$filter", filter), ("$orderby", orderby), ("$expand", expand)):
        if value:
            items.append((name, value if isinstance(value, str) else ",".join(value)))
    if top is not None:
        items.append(("$top", str(int(top))))
    if count:
        items.append(("$count", "true"))
    items.extend((extra or {}).items())
    if not items:
        return ""
    return "?" + "&".join(f"{quote(name, safe='$@')}={quote(value, safe=_SAFE)}" for name, value in items)


def prefer(
    *,
    max_page_size: int | None = None,
    track_changes: bool = False,
    return_representation: bool = False,
    annotations: str | None = None,
    continue_on_error: bool = False,
) -> dict[str, str]:
    """A ``Prefer`` header (or none) from the preferences Dataverse understands."""
    parts = []
    if track_changes:
        parts.append("odata.track-changes")
    if max_page_size:
        parts.append(f"odata.maxpagesize={int(max_page_size)}")
    if return_representation:
        parts.append("return=representation")
    if annotations:
        parts.append(f'odata.include-annotations="{annotations}"')
    if continue_on_error:
        parts.append("odata.continue-on-error")
    return {"Prefer": ",".join(parts)} if parts else {}
