"""Read-only metadata endpoints: service document, ``$metadata``, ``EntityDefinitions`` and its
``Attributes``/``Keys``/relationship collections, ``RelationshipDefinitions``, ``GlobalOptionSetDefinitions``.

Clients use these before they touch data: Microsoft's Python client resolves a table's entity set and
primary key through ``EntityDefinitions?$filter=LogicalName eq '…'`` and reads option labels through
``Attributes/Microsoft.Dynamics.CRM.PicklistAttributeMetadata?$expand=OptionSet($select=Options)``; ETL
clients expand ``Attributes`` to map columns and read ``DateTimeBehavior``; generic OData clients read
``$metadata``. Everything is rendered from the live registry (``crm/metadata_json.py``, ``crm/csdl.py``),
with ``$select``, ``$filter`` (``crm/odata/dict_filter.py``) and ``$expand`` applied to the objects.
Metadata changes (creating tables, columns, keys) are served by the metadata write routes.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from typing import Any

from fastapi import APIRouter, Request
from starlette.responses import JSONResponse, Response

from lead2cash.crm import metadata_json as mj
from lead2cash.crm.api.common import check_version, service_root, store_of
from lead2cash.crm.csdl import csdl
from lead2cash.crm.metadata import AttributeDef, EntityDef, Registry, RelationshipDef
from lead2cash.crm.odata import errors
from lead2cash.crm.odata.dict_filter import compile_filter
from lead2cash.crm.odata.query import split_top_level
from lead2cash.crm.store import CASCADE_DELETE

router = APIRouter(tags=["metadata"])
CAST_PREFIX = "Microsoft.Dynamics.CRM."
JSON_HEADERS = {"OData-Version": "4.0"}
_NAMED_KEY = re.compile(r"^\s*(\w+)\s*=\s*'((?:[^']|'')*)'\s*$")
_SEGMENT = re.compile(r"^([A-Za-z.]+)(?:\((.*)\))?$")
Options = dict[str, str]


def _json(body: dict[str, Any]) -> JSONResponse:
    return JSONResponse(body, headers=JSON_HEADERS, media_type="application/json; odata.metadata=minimal")


def _not_found(what: str) -> errors.DataverseError:
    return errors.DataverseError(404, errors.NOT_FOUND, what)


def _segment_error(segment: str) -> errors.DataverseError:
    return errors.DataverseError(404, errors.QUERY_SYNTAX, f"Resource not found for the segment '{segment}'.")


# ---- query options on JSON objects ----


def _expand_options(text: str | None) -> dict[str, Options]:
    """``Attributes($select=A,B;$filter=…),Keys`` → {"Attributes": {"$select": "A,B", "$filter": …}, "Keys": {}}."""
    out: dict[str, Options] = {}
    for item in split_top_level(text or "", ","):
        name, _, rest = item.partition("(")
        nested: Options = {}
        for option in split_top_level(rest[:-1] if rest.endswith(")") else rest, ";"):
            key, _, value = option.partition("=")
            nested[key.strip()] = value.strip()
        out[name.strip()] = nested
    return out


def _query(
    items: Iterable[tuple[Any, dict[str, Any]]],
    options: Options,
    expanders: dict[str, Callable[[Any, Options], Any]] | None = None,
) -> list[dict[str, Any]]:
    """Apply ``$filter``, ``$select`` and ``$expand`` to (source, full JSON) pairs."""
    pairs = list(items)
    if options.get("$filter"):
        known = set().union(*(body.keys() for _, body in pairs)) if pairs else set()
        keep = compile_filter(options["$filter"], known | set(expanders or {}))
        pairs = [(src, body) for src, body in pairs if keep(body)]
    return [_shape(src, body, options, expanders or {}) for src, body in pairs]


def _shape(
    src: Any, body: dict[str, Any], options: Options, expanders: dict[str, Callable[[Any, Options], Any]]
) -> dict[str, Any]:
    select = [s for s in options.get("$select", "").split(",") if s.strip()]
    if select:
        out = {k: body[k] for k in ("@odata.type", "MetadataId") if k in body}
        out |= {name.strip(): body.get(name.strip()) for name in select if name.strip() not in expanders}
    else:
        out = dict(body)
    for name, nested in _expand_options(options.get("$expand")).items():
        expander = expanders.get(name)
        if expander is None:
            raise errors.bad_request(f"Could not find a navigation property named '{name}' to expand.")
        out[name] = expander(src, nested)
    return out


def _context(request: Request, version: str, path: str, options: Options, single: bool = False) -> str:
    select = options.get("$select")
    suffix = f"({select})" if select else ""
    return f"{service_root(request, version)}$metadata#{path}{suffix}{'/$entity' if single else ''}"


def _options(request: Request) -> Options:
    return {k: v for k, v in request.query_params.items() if k.startswith("$")}


# ---- lookups by key ----


def _key(text: str, name_property: str) -> tuple[str, str]:
    """``LogicalName='account'`` → ("name", "account"); ``<guid>`` → ("id", guid)."""
    named = _NAMED_KEY.match(text)
    if named:
        if named.group(1) != name_property:
            raise errors.bad_request(f"'{named.group(1)}' cannot be used as a key here; use {name_property}.")
        return "name", named.group(2).replace("''", "'")
    return "id", text.strip().strip("'{}").lower()


def _entity(registry: Registry, key: str) -> EntityDef:
    kind, value = _key(key, "LogicalName")
    for entity in registry:
        if (entity.logical_name if kind == "name" else entity.metadata_id) == value:
            return entity
    raise _not_found(f"Could not find an entity with the specified name or id: '{value}'.")


def _attribute(entity: EntityDef, key: str) -> AttributeDef:
    kind, value = _key(key, "LogicalName")
    for attr in entity.attributes.values():
        if (attr.logical_name if kind == "name" else attr.metadata_id) == value:
            return attr
    raise _not_found(f"Could not find an attribute '{value}' on entity '{entity.logical_name}'.")


# ---- expanders ----


def _option_set(attr: AttributeDef, entity: EntityDef) -> dict[str, Any] | None:
    return mj.option_set_json(attr, entity)


def _attribute_expanders(entity: EntityDef) -> dict[str, Callable[[Any, Options], Any]]:
    def option_set(attr: AttributeDef, nested: Options) -> Any:
        body = _option_set(attr, entity)
        return None if body is None else _shape(attr, body, nested, {})

    return {"OptionSet": option_set, "GlobalOptionSet": lambda attr, nested: None}


def _attributes(entity: EntityDef, cast: str | None) -> list[tuple[AttributeDef, dict[str, Any]]]:
    types = mj.CASTS[cast] if cast else None
    return [
        (attr, mj.attribute_json(attr, entity))
        for attr in entity.attributes.values()
        if types is None or attr.attribute_type in types
    ]


def _parental(rel: RelationshipDef) -> bool:
    return (rel.referencing_entity, rel.referencing_attribute) in CASCADE_DELETE


def _relationships(rels: list[RelationshipDef]) -> list[tuple[RelationshipDef, dict[str, Any]]]:
    return [(rel, mj.relationship_json(rel, _parental(rel))) for rel in rels]


def _entity_expanders(registry: Registry) -> dict[str, Callable[[Any, Options], Any]]:
    def attributes(entity: EntityDef, nested: Options) -> list:
        return _query(_attributes(entity, None), nested, _attribute_expanders(entity))

    return {
        "Attributes": attributes,
        "Keys": lambda entity, nested: _query(((k, mj.key_json(k, entity)) for k in entity.alternate_keys), nested),
        "OneToManyRelationships": lambda e, nested: _query(
            _relationships(registry.one_to_many(e.logical_name)), nested
        ),
        "ManyToOneRelationships": lambda e, nested: _query(
            _relationships(registry.many_to_one(e.logical_name)), nested
        ),
        "ManyToManyRelationships": lambda e, nested: [],
    }


# ---- routes ----


@router.get("/api/data/{version}/")
@router.get("/api/data/{version}")
def service_document(version: str, request: Request) -> Response:
    check_version(version)
    registry = store_of(request).registry
    sets = [e.entity_set_name for e in registry]
    sets += ["EntityDefinitions", "RelationshipDefinitions", "GlobalOptionSetDefinitions"]
    value = [{"name": name, "kind": "EntitySet", "url": name} for name in sets]
    value.append({"name": "WhoAmI", "kind": "FunctionImport", "url": "WhoAmI"})
    return _json({"@odata.context": f"{service_root(request, version)}$metadata", "value": value})


@router.get("/api/data/{version}/$metadata")
def metadata_document(version: str, request: Request) -> Response:
    check_version(version)
    annotations = request.query_params.get("annotations", "").lower() == "true"
    body = csdl(store_of(request).registry, annotations=annotations)
    return Response(body, media_type="application/xml", headers=JSON_HEADERS)


@router.get("/api/data/{version}/EntityDefinitions")
def entity_definitions(version: str, request: Request) -> Response:
    check_version(version)
    registry = store_of(request).registry
    options = _options(request)
    value = _query(((e, mj.entity_json(e)) for e in registry), options, _entity_expanders(registry))
    return _json({"@odata.context": _context(request, version, "EntityDefinitions", options), "value": value})


@router.get("/api/data/{version}/EntityDefinitions({key})")
def entity_definition(version: str, key: str, request: Request) -> Response:
    check_version(version)
    registry = store_of(request).registry
    entity = _entity(registry, key)
    options = _options(request)
    body = _shape(entity, mj.entity_json(entity), options, _entity_expanders(registry))
    return _json({"@odata.context": _context(request, version, "EntityDefinitions", options, True), **body})


@router.get("/api/data/{version}/EntityDefinitions({key})/{rest:path}")
def entity_definition_part(version: str, key: str, rest: str, request: Request) -> Response:
    """``Attributes``, ``Attributes(…)``, type casts, ``OptionSet``, ``Keys``, relationship collections."""
    check_version(version)
    registry = store_of(request).registry
    entity = _entity(registry, key)
    options = _options(request)
    segments = [s for s in rest.split("/") if s]
    head = _SEGMENT.match(segments[0])
    if head is None:
        raise _segment_error(segments[0])
    name, inner = head.group(1), head.group(2)
    tail = segments[1:]
    cast = tail.pop(0).removeprefix(CAST_PREFIX) if tail and tail[0].startswith(CAST_PREFIX) else None
    if cast is not None and cast not in mj.CASTS:
        raise _segment_error(CAST_PREFIX + cast)
    context = f"EntityDefinitions({entity.metadata_id})/{name}" + (f"/{CAST_PREFIX}{cast}" if cast else "")
    if name == "Attributes":
        expanders = _attribute_expanders(entity)
        if inner is None and not tail:
            value = _query(_attributes(entity, cast), options, expanders)
            return _json({"@odata.context": _context(request, version, context, options), "value": value})
        if inner is None:
            raise _segment_error(tail[0])
        attr = _attribute(entity, inner)
        if cast is not None and attr.attribute_type not in mj.CASTS[cast]:
            raise _not_found(f"The attribute '{attr.logical_name}' is not a {cast}.")
        if tail == ["OptionSet"] or tail == ["GlobalOptionSet"]:
            option_set = _option_set(attr, entity) if tail == ["OptionSet"] else None
            if option_set is None:
                raise _not_found(f"The attribute '{attr.logical_name}' has no {tail[0]}.")
            return _json({"@odata.context": _context(request, version, f"{context}/{tail[0]}", options, True)}
                         | _shape(attr, option_set, options, {}))  # fmt: skip
        if tail:
            raise _segment_error(tail[0])
        body = _shape(attr, mj.attribute_json(attr, entity), options, expanders)
        return _json({"@odata.context": _context(request, version, context, options, True), **body})
    if tail or cast is not None:
        raise _segment_error("/".join(segments[1:]))
    if name == "Keys":
        items = [(k, mj.key_json(k, entity)) for k in entity.alternate_keys]
        return _collection_or_single(request, version, context, options, items, inner, "LogicalName")
    if name in ("OneToManyRelationships", "ManyToOneRelationships", "ManyToManyRelationships"):
        rels = {
            "OneToManyRelationships": registry.one_to_many(entity.logical_name),
            "ManyToOneRelationships": registry.many_to_one(entity.logical_name),
        }.get(name, [])
        return _collection_or_single(request, version, context, options, _relationships(rels), inner, "SchemaName")
    raise _segment_error(segments[0])


def _collection_or_single(
    request: Request,
    version: str,
    context: str,
    options: Options,
    items: list[tuple[Any, dict[str, Any]]],
    key: str | None,
    name_property: str,
) -> Response:
    if key is None:
        value = _query(items, options)
        return _json({"@odata.context": _context(request, version, context, options), "value": value})
    kind, wanted = _key(key, name_property)
    field = name_property if kind == "name" else "MetadataId"
    for src, body in items:
        if str(body.get(field)).lower() == wanted.lower():
            shaped = _shape(src, body, options, {})
            return _json({"@odata.context": _context(request, version, context, options, True), **shaped})
    raise _not_found(f"Could not find '{wanted}'.")


@router.get("/api/data/{version}/RelationshipDefinitions")
@router.get("/api/data/{version}/RelationshipDefinitions({key})")
@router.get("/api/data/{version}/RelationshipDefinitions/{cast}")
def relationship_definitions(version: str, request: Request, key: str | None = None, cast: str | None = None):
    check_version(version)
    items = _relationships(store_of(request).registry.relationships)
    if cast is not None and cast.removeprefix(CAST_PREFIX) != "OneToManyRelationshipMetadata":
        if cast.removeprefix(CAST_PREFIX) not in ("ManyToManyRelationshipMetadata", "RelationshipMetadataBase"):
            raise _segment_error(cast)
        items = [] if cast.endswith("ManyToManyRelationshipMetadata") else items
    return _collection_or_single(
        request, version, "RelationshipDefinitions", _options(request), items, key, "SchemaName"
    )


@router.get("/api/data/{version}/GlobalOptionSetDefinitions")
@router.get("/api/data/{version}/GlobalOptionSetDefinitions({key})")
def global_option_sets(version: str, request: Request, key: str | None = None) -> Response:
    """Option sets that carry a shared name in the registry (choices reused by several tables)."""
    check_version(version)
    seen: dict[str, tuple[AttributeDef, dict[str, Any]]] = {}
    for entity in store_of(request).registry:
        for attr in entity.attributes.values():
            if attr.option_set_name and attr.option_set_name not in seen:
                body = mj.option_set_json(attr, entity) or {}
                seen[attr.option_set_name] = (attr, body | {"IsGlobal": True})
    return _collection_or_single(
        request, version, "GlobalOptionSetDefinitions", _options(request), list(seen.values()), key, "Name"
    )
