"""Metadata write API: custom tables, columns, lookups (one-to-many relationships), alternate keys, choices
of choice columns (``InsertOptionValue``, ``UpdateOptionValue``) and enabling change tracking — what a
solution deployment or a customizer does to prepare an org for an integration.

Bodies follow Dataverse's metadata shapes (``EntityMetadata``, ``StringAttributeMetadata`` …,
``OneToManyRelationshipMetadata``, ``EntityKeyMetadata``): logical names are the lowercased
``SchemaName``, labels come from ``DisplayName.LocalizedLabels``. Every change is applied to the live
registry and the SQL schema at once and recorded by the store, so it survives a restart. Privileges
(customizer roles only) are checked by the bearer middleware before these handlers run.
"""

from __future__ import annotations

import dataclasses
import re
from typing import Any

from fastapi import APIRouter, Request
from starlette.concurrency import run_in_threadpool
from starlette.responses import Response

from lead2cash.crm.api.common import check_version, json_object, service_root, store_of
from lead2cash.crm.metadata import AlternateKeyDef, AttributeDef, EntityDef, OptionDef
from lead2cash.crm.odata import errors
from lead2cash.crm.odata.serialize import ODATA_HEADERS

router = APIRouter(tags=["metadata"])
_TYPES = {
    "StringAttributeMetadata": "String", "MemoAttributeMetadata": "Memo", "IntegerAttributeMetadata": "Integer",
    "BigIntAttributeMetadata": "BigInt", "DecimalAttributeMetadata": "Decimal", "DoubleAttributeMetadata": "Double",
    "MoneyAttributeMetadata": "Money", "BooleanAttributeMetadata": "Boolean", "DateTimeAttributeMetadata": "DateTime",
    "PicklistAttributeMetadata": "Picklist", "UniqueIdentifierAttributeMetadata": "Uniqueidentifier",
    "LookupAttributeMetadata": "Lookup",
}  # fmt: skip


def label(value: Any) -> str:
    if isinstance(value, dict):
        labels = value.get("LocalizedLabels") or []
        user = value.get("UserLocalizedLabel") or {}
        return (labels[0].get("Label") if labels else None) or user.get("Label") or ""
    return value if isinstance(value, str) else ""


def _logical(body: dict[str, Any], what: str, *, prefixed: bool = True) -> str:
    """The lowercased SchemaName, which must carry a customization prefix (``l2c_name``) as in Dataverse."""
    name = body.get("LogicalName") or body.get("SchemaName")
    pattern = r"[A-Za-z][A-Za-z0-9]{1,7}_[A-Za-z0-9_]{1,50}" if prefixed else r"[A-Za-z][A-Za-z0-9_]{0,99}"
    if not isinstance(name, str) or not re.fullmatch(pattern, name):
        raise errors.bad_request(
            f"The {what} needs a SchemaName with a customization prefix, such as 'new_name' (letters, digits, '_')."
        )
    if name.lower().startswith("crm_"):
        raise errors.bad_request(f"The prefix 'crm_' is reserved; choose another for the {what}.")
    return name.lower()


def attribute_from(body: dict[str, Any]) -> AttributeDef:
    """An ``AttributeMetadata`` body → an attribute definition (custom)."""
    odata_type = str(body.get("@odata.type", "")).rsplit(".", 1)[-1]
    attr_type = body.get("AttributeType") or _TYPES.get(odata_type)
    if attr_type in (None, "Lookup", "Customer", "Owner", "State", "Status"):
        raise errors.bad_request(f"Unsupported attribute type '{attr_type or odata_type}'; lookups are created "
                                 "through RelationshipDefinitions.")  # fmt: skip
    fmt = body.get("Format") or (body.get("FormatName") or {}).get("Value")
    behavior = (body.get("DateTimeBehavior") or {}).get("Value") or ("DateOnly" if fmt == "DateOnly" else "UserLocal")
    options: tuple[OptionDef, ...] = ()
    if attr_type == "Picklist":
        raw = (body.get("OptionSet") or {}).get("Options") or []
        options = tuple(OptionDef(int(o["Value"]), label(o.get("Label"))) for o in raw)
    required = (body.get("RequiredLevel") or {}).get("Value") in ("ApplicationRequired", "SystemRequired")
    max_length = body.get("MaxLength") if attr_type in ("String", "Memo") else None
    try:
        return AttributeDef(
            _logical(body, "attribute"),
            attr_type,
            max_length=int(max_length or (2000 if attr_type == "Memo" else 100))
            if attr_type in ("String", "Memo")
            else None,
            options=options,
            precision=int(body["Precision"])
            if body.get("Precision") is not None
            else (2 if attr_type == "Money" else None),
            required=required,
            is_custom=True,
            date_behavior=behavior,
            display_name=label(body.get("DisplayName")),
        )
    except ValueError as exc:
        raise errors.bad_request(str(exc)) from None


def _entity_for(request: Request, ref: str) -> EntityDef:
    """``LogicalName='account'`` or a MetadataId."""
    registry = store_of(request).registry
    ref = ref.strip()
    if ref.startswith("LogicalName="):
        entity = registry.find(ref.split("=", 1)[1].strip("'"))
    else:
        entity = next((e for e in registry if e.metadata_id == ref.lower()), None)
    if entity is None:
        raise errors.DataverseError(404, "0x80040217", f"Could not find entity with key {ref}.")
    return entity


def _created(request: Request, version: str, path: str) -> Response:
    return Response(status_code=204, headers={**ODATA_HEADERS, "OData-EntityId": service_root(request, version) + path})


def _add_money_support(request: Request, entity: EntityDef, attr: AttributeDef) -> None:
    """Dataverse adds the currency lookup and exchange rate with a table's first money column."""
    store = store_of(request)
    if "transactioncurrencyid" not in entity.attributes:
        store.add_attribute(
            entity.logical_name, AttributeDef("transactioncurrencyid", "Lookup", targets=("transactioncurrency",))
        )
        rate = AttributeDef("exchangerate", "Decimal", precision=10, valid_for_create=False, valid_for_update=False)
        store.add_attribute(entity.logical_name, rate)
    read_only = {"is_custom": True, "valid_for_create": False, "valid_for_update": False}
    base = AttributeDef(f"{attr.logical_name}_base", "Money", precision=attr.precision, **read_only)
    store.add_attribute(entity.logical_name, base)


@router.post("/api/data/{version}/EntityDefinitions")
async def create_entity(version: str, request: Request) -> Response:
    body = await json_object(request)
    return await run_in_threadpool(_create_entity, version, request, body)


def _create_entity(version: str, request: Request, body: Any) -> Response:
    check_version(version)
    logical = _logical(body, "table")
    attrs_in = body.get("Attributes") or []
    primary = next((a for a in attrs_in if a.get("IsPrimaryName")), None)
    if primary is None:
        raise errors.bad_request("A new table needs a primary name attribute (IsPrimaryName: true).")
    from lead2cash.crm.catalog import ACTIVE_INACTIVE, system_columns

    owned = (body.get("OwnershipType") or "UserOwned") == "UserOwned"
    attrs = system_columns(logical, f"{logical}id", owned=owned, currency=False) + list(ACTIVE_INACTIVE)
    attrs += [attribute_from(a) for a in attrs_in]
    entity = EntityDef(
        logical_name=logical,
        entity_set_name=body.get("EntitySetName") or f"{logical}s",
        primary_id_attribute=f"{logical}id",
        primary_name_attribute=_logical(primary, "attribute"),
        attributes={a.logical_name: a for a in attrs},
        is_custom=True,
        change_tracking=bool(body.get("ChangeTrackingEnabled")),
        ownership="UserOwned" if owned else "OrganizationOwned",
        display_name=label(body.get("DisplayName")),
        display_collection_name=label(body.get("DisplayCollectionName")),
        object_type_code=10000 + sum(1 for e in store_of(request).registry if e.is_custom),
    )
    store_of(request).add_entity(entity)
    money = [a for a in attrs if a.attribute_type == "Money" and a.is_custom]
    for attr in money:
        _add_money_support(request, entity, attr)
    return _created(request, version, f"EntityDefinitions({entity.metadata_id})")


@router.post("/api/data/{version}/EntityDefinitions({ref})/Attributes")
async def create_attribute(version: str, ref: str, request: Request) -> Response:
    body = await json_object(request)
    return await run_in_threadpool(_create_attribute, version, ref, request, body)


def _create_attribute(version: str, ref: str, request: Request, body: Any) -> Response:
    check_version(version)
    entity = _entity_for(request, ref)
    attr = attribute_from(body)
    store_of(request).add_attribute(entity.logical_name, attr)
    if attr.attribute_type == "Money":
        _add_money_support(request, entity, attr)
    return _created(request, version, f"EntityDefinitions({entity.metadata_id})/Attributes({attr.metadata_id})")


@router.post("/api/data/{version}/EntityDefinitions({ref})/Keys")
async def create_key(version: str, ref: str, request: Request) -> Response:
    body = await json_object(request)
    return await run_in_threadpool(_create_key, version, ref, request, body)


def _create_key(version: str, ref: str, request: Request, body: Any) -> Response:
    check_version(version)
    entity = _entity_for(request, ref)
    names = body.get("KeyAttributes")
    if not isinstance(names, list) or not all(isinstance(n, str) for n in names):
        raise errors.bad_request("KeyAttributes must be a list of attribute logical names.")
    logical = _logical(body, "key", prefixed=False)
    key = AlternateKeyDef(logical, tuple(n.lower() for n in names), schema_name=body.get("SchemaName") or logical,
                          display_name=label(body.get("DisplayName")))  # fmt: skip
    store_of(request).add_key(entity.logical_name, key)
    return _created(request, version, f"EntityDefinitions({entity.metadata_id})/Keys({key.metadata_id})")


@router.post("/api/data/{version}/RelationshipDefinitions")
async def create_relationship(version: str, request: Request) -> Response:
    """A one-to-many relationship: creates the lookup column on the referencing table."""
    body = await json_object(request)
    return await run_in_threadpool(_create_relationship, version, request, body)


def _create_relationship(version: str, request: Request, body: Any) -> Response:
    check_version(version)
    store = store_of(request)
    referenced, referencing = body.get("ReferencedEntity"), body.get("ReferencingEntity")
    if store.registry.find(referenced or "") is None or store.registry.find(referencing or "") is None:
        raise errors.bad_request("ReferencedEntity and ReferencingEntity must name existing tables.")
    lookup = body.get("Lookup") or {}
    schema = body.get("SchemaName")
    attr = AttributeDef(_logical(lookup, "lookup"), "Lookup", targets=(referenced,), is_custom=True,
                        display_name=label(lookup.get("DisplayName")), relationship_schema_name=schema)  # fmt: skip
    store.add_attribute(referencing, attr)
    rel = next(r for r in store.registry.many_to_one(referencing) if r.referencing_attribute == attr.logical_name)
    return _created(request, version, f"RelationshipDefinitions({rel.metadata_id})")


@router.put("/api/data/{version}/EntityDefinitions({ref})")
@router.patch("/api/data/{version}/EntityDefinitions({ref})")
async def update_entity(version: str, ref: str, request: Request) -> Response:
    """Only ``ChangeTrackingEnabled`` (and display labels) can change on an existing table here."""
    body = await json_object(request)
    return await run_in_threadpool(_update_entity, version, ref, request, body)


def _update_entity(version: str, ref: str, request: Request, body: Any) -> Response:
    check_version(version)
    entity = _entity_for(request, ref)
    tracking = body.get("ChangeTrackingEnabled")
    if isinstance(tracking, dict):
        tracking = tracking.get("Value")
    if tracking is not None and bool(tracking) != entity.change_tracking:
        store_of(request).set_change_tracking(entity.logical_name, bool(tracking))
    if body.get("DisplayName"):
        entity.display_name = label(body["DisplayName"]) or entity.display_name
    return Response(status_code=204, headers=ODATA_HEADERS)


def _choice_column(request: Request, body: dict[str, Any]) -> tuple[EntityDef, AttributeDef]:
    """The local choice column an option action names (``EntityLogicalName`` + ``AttributeLogicalName``)."""
    registry = store_of(request).registry
    entity = registry.find(str(body.get("EntityLogicalName") or ""))
    attr = entity.attributes.get(str(body.get("AttributeLogicalName") or "")) if entity is not None else None
    if entity is None or attr is None:
        raise errors.bad_request("EntityLogicalName and AttributeLogicalName must name an existing choice column.")
    if attr.attribute_type != "Picklist":
        raise errors.bad_request(f"{entity.logical_name}.{attr.logical_name} is not a choice column.")
    return entity, attr


def _option_label(body: dict[str, Any]) -> str:
    text = label(body.get("Label")).strip()
    if not text:
        raise errors.bad_request("The option needs a Label with at least one LocalizedLabels entry.")
    return text


@router.post("/api/data/{version}/InsertOptionValue")
async def insert_option_value(version: str, request: Request) -> dict[str, int]:
    """Add a choice to a choice column; without ``Value`` the next value from 100000000 up is given."""
    body = await json_object(request)
    return await run_in_threadpool(_insert_option_value, version, request, body)


def _insert_option_value(version: str, request: Request, body: Any) -> dict[str, int]:
    check_version(version)
    entity, attr = _choice_column(request, body)
    text = _option_label(body)
    values = [o.value for o in attr.options]
    value = body.get("Value")
    value = int(value) if value is not None else max([99_999_999, *values]) + 1
    if value in values:
        raise errors.DataverseError(412, errors.DUPLICATE_KEY, f"An option with the value {value} already exists.")
    store_of(request).set_options(entity.logical_name, attr.logical_name, (*attr.options, OptionDef(value, text)))
    return {"NewOptionValue": value}


@router.post("/api/data/{version}/UpdateOptionValue")
async def update_option_value(version: str, request: Request) -> Response:
    """Relabel a choice of a choice column."""
    body = await json_object(request)
    return await run_in_threadpool(_update_option_value, version, request, body)


def _update_option_value(version: str, request: Request, body: Any) -> Response:
    check_version(version)
    entity, attr = _choice_column(request, body)
    text = _option_label(body)
    value = body.get("Value")
    if value is None or attr.option(int(value)) is None:
        raise errors.DataverseError(404, "0x80040217", f"{entity.logical_name}.{attr.logical_name} has no option "
                                    f"with the value {value}.")  # fmt: skip
    options = tuple(dataclasses.replace(o, label=text) if o.value == int(value) else o for o in attr.options)
    store_of(request).set_options(entity.logical_name, attr.logical_name, options)
    return Response(status_code=204, headers=ODATA_HEADERS)
