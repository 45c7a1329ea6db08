"""Entity references in URLs: ``accounts(<guid>)``, ``accounts(accountnumber='A-1')``, absolute links.

The same reference grammar appears in request paths, ``@odata.bind`` values, ``@odata.id`` of bulk
targets and ``$ref`` bodies, so it is parsed in one place. A key is either the primary GUID or the values
of an alternate key that the entity defines (``'`` doubled inside strings, numbers unquoted); values are
converted to the attribute types so a key lookup compares like a filter would.
"""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any
from urllib.parse import unquote, urlsplit

from lead2cash.crm.metadata import EntityDef, Registry
from lead2cash.crm.odata import errors

_SEGMENT = re.compile(r"^(?P<set>[A-Za-z_][A-Za-z0-9_]*)\((?P<key>.*)\)$", re.S)
_PAIR = re.compile(r"\s*(?P<name>[A-Za-z_][A-Za-z0-9_]*)\s*=\s*(?P<value>'(?:[^']|'')*'|[^,]+?)\s*(?:,|$)")
_API_PATH = re.compile(r"^/?(?:api/data/v9\.[0-2]/)?", re.I)


@dataclass(frozen=True)
class EntityKey:
    """A parsed key: ``id`` for the primary key, otherwise ``alternate`` attribute values."""

    id: str | None = None
    alternate: dict[str, Any] | None = None

    def describe(self) -> str:
        if self.id is not None:
            return self.id
        return ",".join(f"{k}={v!r}" for k, v in (self.alternate or {}).items())


def split_segment(segment: str) -> tuple[str, str | None]:
    """``accounts(…)`` → (``accounts``, ``…``); ``accounts`` → (``accounts``, None)."""
    match = _SEGMENT.match(segment)
    if match:
        return match.group("set"), match.group("key")
    return segment, None


def parse_key(entity: EntityDef, text: str) -> EntityKey:
    """The text between the parentheses of ``entityset(...)`` for ``entity``; 400 when invalid."""
    text = text.strip()
    if "=" not in text:
        return EntityKey(id=_guid(text, entity))
    pairs: dict[str, Any] = {}
    pos = 0
    while pos < len(text):
        match = _PAIR.match(text, pos)
        if not match or match.end() == pos:
            raise errors.bad_request(f"Invalid key '{text}' for {entity.logical_name}.", errors.QUERY_SYNTAX)
        pairs[match.group("name")] = match.group("value")
        pos = match.end()
    if set(pairs) == {entity.primary_id_attribute}:
        return EntityKey(id=_guid(_unquote(pairs[entity.primary_id_attribute]), entity))
    key = entity.key_for(set(pairs))
    if key is None:
        raise errors.bad_request(
            f"The key ({', '.join(pairs)}) is not defined as an alternate key for {entity.logical_name}.",
            errors.QUERY_SYNTAX,
        )
    return EntityKey(alternate={name: _typed(entity, name, raw) for name, raw in pairs.items()})


def parse_reference(registry: Registry, ref: str) -> tuple[EntityDef, EntityKey]:
    """``/accounts(<id>)``, ``accounts(<id>)``, an absolute URL or an alternate-key form → entity + key."""
    path = unquote(urlsplit(ref).path) if "://" in ref else ref
    path = _API_PATH.sub("", path.strip(), count=1)
    if "/api/data/" in path:
        path = path.split("/api/data/", 1)[1].split("/", 1)[1]
    set_name, key = split_segment(path.strip("/"))
    entity = registry.by_entity_set(set_name)
    if entity is None or key is None:
        raise errors.bad_request(f"Invalid entity reference '{ref}'.", errors.QUERY_SYNTAX)
    return entity, parse_key(entity, key)


def format_key(entity: EntityDef, id: str) -> str:
    return f"{entity.entity_set_name}({id})"


def _unquote(raw: str) -> str:
    raw = raw.strip()
    if len(raw) >= 2 and raw[0] == raw[-1] == "'":
        return raw[1:-1].replace("''", "'")
    return raw


def _guid(text: str, entity: EntityDef) -> str:
    try:
        return str(uuid.UUID(text.strip().strip("{}")))
    except ValueError:
        raise errors.bad_request(
            f"'{text}' is not a valid key for {entity.logical_name}: expected a GUID or alternate key values.",
            errors.QUERY_SYNTAX,
        ) from None


def _typed(entity: EntityDef, name: str, raw: str) -> Any:
    attr = entity.attributes[name]
    quoted = raw.strip().startswith("'")
    value = _unquote(raw)
    t = attr.attribute_type
    try:
        if t in ("Integer", "BigInt", "Picklist", "State", "Status"):
            return int(value)
        if t in ("Decimal", "Money"):
            return Decimal(value)
        if t == "Double":
            return float(value)
        if t == "Boolean":
            return value.lower() == "true"
        if t in ("Uniqueidentifier", "Lookup", "Customer", "Owner"):
            return str(uuid.UUID(value))
    except (ValueError, InvalidOperation):
        raise errors.bad_request(f"Invalid value {raw} for key attribute {name}.", errors.QUERY_SYNTAX) from None
    if not quoted and t in ("String", "Memo"):
        raise errors.bad_request(f"The value of key attribute {name} must be quoted.", errors.QUERY_SYNTAX)
    return value
