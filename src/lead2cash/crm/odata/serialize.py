"""Rows → Dataverse JSON: `@odata.etag`, `_x_value` lookups, formatted-value annotations, `Prefer` parsing.

What a client sees must match a real org byte-for-byte where clients depend on it: lowercase GUIDs,
``2024-01-31T17:00:00Z`` datetimes, ``2024-01-31`` date-only columns, money and decimals as JSON numbers,
the primary key always present, ``W/"<versionnumber>"`` ETags. Annotations (formatted values, lookup
logical names, associated navigation properties) are only added when ``Prefer:
odata.include-annotations`` asks for them, with Dataverse's ``*`` and prefix-wildcard matching.
"""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from typing import Any

import sqlalchemy as sa
from starlette.responses import Response

from lead2cash.crm.metadata import AttributeDef, EntityDef

FORMATTED = "OData.Community.Display.V1.FormattedValue"
LOOKUP_NAME = "Microsoft.Dynamics.CRM.lookuplogicalname"
NAV_NAME = "Microsoft.Dynamics.CRM.associatednavigationproperty"
ODATA_HEADERS = {"OData-Version": "4.0"}


def etag(version: Any) -> str:
    return f'W/"{version}"'


def parse_etag(value: str) -> int | None:
    """``W/"123"`` or ``"123"`` → 123; anything else → None (never matches)."""
    text = value.strip()
    if text.startswith("W/"):
        text = text[2:]
    text = text.strip('"')
    return int(text) if text.isdigit() else None


@dataclass
class Preferences:
    """The parsed ``Prefer`` header(s)."""

    max_page_size: int | None = None
    annotations: tuple[str, ...] = ()
    track_changes: bool = False
    return_representation: bool = False
    continue_on_error: bool = False
    raw: list[str] = field(default_factory=list)

    def wants(self, annotation: str) -> bool:
        for pattern in self.annotations:
            if pattern in ("*", annotation):
                return True
            if pattern.endswith("*") and annotation.startswith(pattern[:-1]):
                return True
        return False


def parse_prefer(headers: Iterable[str]) -> Preferences:
    prefs = Preferences()
    for header in headers:
        for part in _split_prefer(header):
            name, _, value = part.partition("=")
            name, value = name.strip().lower(), value.strip().strip('"')
            prefs.raw.append(part.strip())
            if name == "odata.maxpagesize" and value.isdigit():
                prefs.max_page_size = int(value)
            elif name in ("odata.include-annotations", "include-annotations"):
                prefs.annotations = tuple(v.strip() for v in value.split(",") if v.strip())
            elif name == "odata.track-changes":
                prefs.track_changes = True
            elif name == "return" and value == "representation":
                prefs.return_representation = True
            elif name == "odata.continue-on-error":
                prefs.continue_on_error = True
    return prefs


def _split_prefer(header: str) -> list[str]:
    """Split on commas outside double quotes (annotation lists are quoted comma lists)."""
    parts, buf, quoted = [], [], False
    for ch in header:
        if ch == '"':
            quoted = not quoted
        if ch == "," and not quoted:
            parts.append("".join(buf))
            buf = []
        else:
            buf.append(ch)
    parts.append("".join(buf))
    return [p for p in parts if p.strip()]


def json_value(value: Any) -> Any:
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() and abs(value) < 2**53 else float(value)
    if isinstance(value, datetime):
        return value.strftime("%Y-%m-%dT%H:%M:%SZ")
    if isinstance(value, date):
        return value.isoformat()
    return value


def _default(value: Any) -> Any:
    converted = json_value(value)
    if converted is value:
        raise TypeError(f"not JSON serializable: {type(value).__name__}")
    return converted


def dumps(data: Any) -> bytes:
    return json.dumps(data, default=_default, ensure_ascii=False, separators=(",", ":")).encode()


class ODataResponse(Response):
    """JSON with the OData headers every Dataverse response carries."""

    media_type = "application/json; odata.metadata=minimal"

    def __init__(self, content: Any, status_code: int = 200, headers: dict[str, str] | None = None):
        super().__init__(dumps(content), status_code, {**ODATA_HEADERS, **(headers or {})})


def format_value(attr: AttributeDef, value: Any, row: dict[str, Any], symbols: dict[str, str]) -> str | None:
    """The display text Dataverse sends as ``@OData.Community.Display.V1.FormattedValue``."""
    if value is None:
        return None
    if attr.is_option:
        option = attr.option(value)
        return option.label if option else str(value)
    if attr.attribute_type == "Boolean":
        return "Yes" if value else "No"
    if attr.attribute_type == "Money":
        return f"{symbols.get(row.get('transactioncurrencyid') or '', '')}{value:,.2f}"
    if attr.attribute_type in ("Decimal", "Integer", "BigInt", "Double"):
        return f"{value:,}"
    if isinstance(value, datetime):
        return f"{value.month}/{value.day}/{value.year} {value.strftime('%I:%M %p').lstrip('0')}"
    if isinstance(value, date):
        return f"{value.month}/{value.day}/{value.year}"
    return None


class Serializer:
    """Turns rows of one entity into JSON objects; lookup names are fetched once per page, not per row."""

    def __init__(self, uow: Any, entity: EntityDef, attrs: list[AttributeDef], prefs: Preferences):
        self.uow, self.entity, self.attrs, self.prefs = uow, entity, attrs, prefs
        self.formatted = prefs.wants(FORMATTED)
        self.lookup_meta = prefs.wants(LOOKUP_NAME)
        self.nav_meta = prefs.wants(NAV_NAME)

    def rows(self, rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
        names = self._lookup_names(rows) if self.formatted else {}
        symbols = self._currency_symbols(rows) if self.formatted else {}
        return [self.row(r, names, symbols) for r in rows]

    def row(self, row: dict[str, Any], names: dict | None = None, symbols: dict | None = None) -> dict[str, Any]:
        out: dict[str, Any] = {"@odata.etag": etag(row.get("versionnumber"))}
        for attr in self.attrs:
            name = attr.logical_name
            value = row.get(name)
            if attr.is_lookup:
                key = attr.odata_name
                if value is not None:
                    target = row.get(f"{name}_type") if attr.is_polymorphic else attr.targets[0]
                    target = target or attr.targets[0]
                    if self.formatted and names is not None:
                        label = names.get((target, value))
                        if label is not None:
                            out[f"{key}@{FORMATTED}"] = label
                    if self.nav_meta:
                        out[f"{key}@{NAV_NAME}"] = attr.navigation_property(target)
                    if self.lookup_meta:
                        out[f"{key}@{LOOKUP_NAME}"] = target
                out[key] = value
                continue
            if self.formatted:
                text = format_value(attr, value, row, symbols or {})
                if text is not None:
                    out[f"{name}@{FORMATTED}"] = text
            out[name] = json_value(value)
        out[self.entity.primary_id_attribute] = row.get(self.entity.primary_id_attribute)
        return out

    def _lookup_names(self, rows: list[dict[str, Any]]) -> dict[tuple[str, str], str]:
        wanted: dict[str, set[str]] = defaultdict(set)
        for attr in self.attrs:
            if not attr.is_lookup:
                continue
            for row in rows:
                value = row.get(attr.logical_name)
                if value is not None:
                    target = (row.get(f"{attr.logical_name}_type") if attr.is_polymorphic else None) or attr.targets[0]
                    wanted[target].add(value)
        names: dict[tuple[str, str], str] = {}
        for target, ids in wanted.items():
            target_entity = self.uow.registry.find(target)
            if target_entity is None:
                continue
            t = self.uow.table(target_entity)
            pk, label = t.c[target_entity.primary_id_attribute], t.c.get(target_entity.primary_name_attribute)
            if label is None:
                continue
            for chunk in _chunks(sorted(ids), 500):
                for id_, name in self.uow.conn.execute(sa.select(pk, label).where(pk.in_(chunk))):
                    if name is not None:
                        names[(target, id_)] = name
        return names

    def _currency_symbols(self, rows: list[dict[str, Any]]) -> dict[str, str]:
        ids = {r.get("transactioncurrencyid") for r in rows} - {None}
        if not ids or not any(a.attribute_type == "Money" for a in self.attrs):
            return {}
        t = self.uow.table("transactioncurrency")
        stmt = sa.select(t.c.transactioncurrencyid, t.c.currencysymbol).where(t.c.transactioncurrencyid.in_(ids))
        return {i: s or "" for i, s in self.uow.conn.execute(stmt)}


def _chunks(items: list, size: int):
    for start in range(0, len(items), size):
        yield items[start : start + size]
