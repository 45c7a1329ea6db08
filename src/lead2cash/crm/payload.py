"""Request bodies → column values: type checks, option-set ranges, lengths and ``@odata.bind`` lookups.

A client writes plain attributes by logical name and lookups only through navigation properties
(``parentcustomerid_account@odata.bind: "/accounts(<id>)"``); ``_x_value`` is read-only. Every value is
converted to the column's Python type here (``Decimal`` for money, aware UTC ``datetime``, lowercase GUID
text) so the store never sees JSON, and every mistake is a 400 that names the property — the same rules
for single writes, ``$batch`` parts and the bulk actions.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from datetime import UTC, date, datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from lead2cash.crm.metadata import AttributeDef, EntityDef
from lead2cash.crm.odata import errors
from lead2cash.crm.odata.keys import EntityKey, parse_reference

VALIDATION = "0x80044331"
OUT_OF_RANGE = "0x8004431a"
INVALID_PROPERTY = "0x80048d19"
_INTEGERS = ("Integer", "BigInt", "Picklist", "State", "Status")


def parse_body(
    uow: Any,
    entity: EntityDef,
    body: Any,
    *,
    creating: bool,
    references: Mapping[str, str] | None = None,
) -> dict[str, Any]:
    """Column values for ``body``. Read-only system columns are ignored as Dataverse ignores them.

    ``references`` maps ``$n`` Content-ID references of a ``$batch`` changeset to entity URLs.
    """
    if not isinstance(body, dict):
        raise errors.bad_request("The request body must be a JSON object.", INVALID_PROPERTY)
    values: dict[str, Any] = {}
    for name, raw in body.items():
        if "@" in name:
            prop, _, annotation = name.partition("@")
            if annotation == "odata.bind" and prop:
                _bind(uow, entity, prop, raw, values, references)
            continue  # @odata.type, @odata.etag and other annotations carry no data
        attr = entity.attributes.get(name)
        if attr is None or attr.is_lookup:
            if attr is None and isinstance(raw, dict | list) and uow.registry.single_navigation(entity, name):
                raise errors.bad_request(f"Deep insert through '{name}' is not supported.", INVALID_PROPERTY)
            hint = f" Use '{name}@odata.bind' to set a lookup." if attr is not None else ""
            raise errors.bad_request(
                f"The property '{name}' does not exist on type 'Microsoft.Dynamics.CRM.{entity.logical_name}'. "
                f"Make sure to only use property names that are defined by the type.{hint}",
                INVALID_PROPERTY,
            )
        writable = attr.valid_for_create if creating else attr.valid_for_update
        if name == entity.primary_id_attribute:
            writable = True
        if not writable:
            continue
        values[name] = coerce(entity, attr, raw)
    return values


def coerce(entity: EntityDef, attr: AttributeDef, raw: Any) -> Any:
    """One JSON value → the column's Python value; 400 naming the attribute when it does not fit."""
    if raw is None:
        return None
    t = attr.attribute_type
    where = f"'{attr.logical_name}' of '{entity.logical_name}'"
    try:
        if t in ("String", "Memo", "EntityName"):
            if not isinstance(raw, str):
                raise TypeError
            if attr.max_length and len(raw) > attr.max_length:
                raise errors.bad_request(
                    f"A validation error occurred. The length of the '{attr.logical_name}' attribute of the "
                    f"'{entity.logical_name}' entity exceeded the maximum allowed length of '{attr.max_length}'.",
                    VALIDATION,
                )
            return raw
        if t in _INTEGERS:
            if isinstance(raw, bool) or not isinstance(raw, int | str):
                raise TypeError
            value = int(raw)
            if attr.options and attr.option(value) is None:
                raise errors.bad_request(
                    f"A validation error occurred. The value {value} of {where} is outside the valid range.",
                    OUT_OF_RANGE,
                )
            if t == "Integer" and not -(2**31) <= value < 2**31:
                raise ValueError
            return value
        if t in ("Decimal", "Money"):
            if isinstance(raw, bool) or not isinstance(raw, int | float | str):
                raise TypeError
            value = Decimal(str(raw))
            if not value.is_finite() or abs(value) >= Decimal(10) ** 12:
                raise ValueError
            return value
        if t == "Double":
            if isinstance(raw, bool):
                raise TypeError
            return float(raw)
        if t == "Boolean":
            if not isinstance(raw, bool):
                raise TypeError
            return raw
        if t == "DateTime":
            return parse_datetime(raw, date_only=attr.date_behavior == "DateOnly")
        if t == "Uniqueidentifier":
            return str(uuid.UUID(str(raw).strip("{}")))
    except errors.DataverseError:
        raise
    except (TypeError, ValueError, InvalidOperation, OverflowError):
        raise errors.bad_request(
            f"Cannot convert the literal '{raw}' to the expected type '{_edm(t)}' for {where}.", INVALID_PROPERTY
        ) from None
    raise errors.bad_request(f"The attribute {where} cannot be written.", INVALID_PROPERTY)


def parse_datetime(raw: Any, *, date_only: bool = False) -> datetime | date:
    if not isinstance(raw, str):
        raise TypeError
    text = raw.strip()
    if date_only and len(text) == 10:
        return date.fromisoformat(text)
    if len(text) == 10:
        value = datetime.fromisoformat(text).replace(tzinfo=UTC)
    else:
        value = datetime.fromisoformat(text.replace("Z", "+00:00"))
        if value.tzinfo is None:
            value = value.replace(tzinfo=UTC)
    return value.date() if date_only else value.astimezone(UTC)


def _edm(attribute_type: str) -> str:
    return {
        "String": "Edm.String", "Memo": "Edm.String", "Integer": "Edm.Int32", "BigInt": "Edm.Int64",
        "Picklist": "Edm.Int32", "State": "Edm.Int32", "Status": "Edm.Int32", "Decimal": "Edm.Decimal",
        "Money": "Edm.Decimal", "Double": "Edm.Double", "Boolean": "Edm.Boolean",
        "DateTime": "Edm.DateTimeOffset", "Uniqueidentifier": "Edm.Guid",
    }.get(attribute_type, "Edm.String")  # fmt: skip


def _bind(
    uow: Any,
    entity: EntityDef,
    nav: str,
    raw: Any,
    values: dict[str, Any],
    references: Mapping[str, str] | None,
) -> None:
    found = uow.registry.single_navigation(entity, nav)
    if found is None:
        raise errors.bad_request(
            f"An undeclared property '{nav}' which only has property annotations in the payload but no property "
            f"value was found in the payload. In OData, only declared navigation properties and declared named "
            f"streams can be represented as properties without values.",
            INVALID_PROPERTY,
        )
    attr, target = found
    if raw is None:
        values[attr.logical_name] = None
        if attr.is_polymorphic:
            values[f"{attr.logical_name}_type"] = None
        return
    if not isinstance(raw, str):
        raise errors.bad_request(f"The value of '{nav}@odata.bind' must be an entity URL.", INVALID_PROPERTY)
    ref = raw.strip()
    if ref.startswith("$") and references is not None:
        if ref not in references:
            raise errors.bad_request(
                f"Content-ID Reference: '{ref}' does not exist in the batch context.", errors.QUERY_SYNTAX
            )
        ref = references[ref]
    ref_entity, key = parse_reference(uow.registry, ref)
    if attr.attribute_type == "Owner" and ref_entity.logical_name in attr.targets:
        target = ref_entity.logical_name
    if ref_entity.logical_name != target:
        raise errors.bad_request(
            f"'{nav}@odata.bind' expects a reference to {target}, got {ref_entity.entity_set_name}.",
            INVALID_PROPERTY,
        )
    values[attr.logical_name] = resolve_id(uow, ref_entity, key)
    if attr.is_polymorphic:
        values[f"{attr.logical_name}_type"] = target


def resolve_id(uow: Any, entity: EntityDef, key: EntityKey) -> str:
    """The GUID of the row ``key`` names; 404 when there is none."""
    row = uow.get(entity, key.id) if key.id is not None else uow.find_by_key(entity, key.alternate or {})
    if row is None:
        if key.id is not None:
            raise errors.not_found(entity.logical_name, key.id)
        raise errors.DataverseError(
            404, "0x80060891", f"A record with the specified key values does not exist in {entity.logical_name} entity"
        )
    return row[entity.primary_id_attribute]
