"""Entity data routes: ``/api/data/v9.2/<entityset>`` collections and ``<entityset>(<key>)`` rows.

Semantics are the Dataverse ones clients depend on: POST answers ``204`` with ``OData-EntityId`` (``201``
and the row with ``Prefer: return=representation``); PATCH is an upsert unless ``If-Match`` says the row
must exist (``*``) or must still have a given version (``W/"<n>"`` → 412 when stale), and
``If-None-Match: *`` makes it create-only (412 when the row exists); keys are GUIDs or alternate keys.
This router is included last: specific routes (``$batch``, actions, metadata) take precedence.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from starlette.concurrency import run_in_threadpool
from starlette.responses import Response

from lead2cash.crm.api import changes, navigation
from lead2cash.crm.api.common import (
    REFERENCES_SCOPE_KEY,
    caller_of,
    check_version,
    json_body,
    preferences,
    service_root,
    unit_of_work,
)
from lead2cash.crm.metadata import EntityDef
from lead2cash.crm.odata import errors, query
from lead2cash.crm.odata.keys import EntityKey, format_key, parse_key, parse_reference, split_segment
from lead2cash.crm.odata.serialize import ODATA_HEADERS, ODataResponse, Preferences, etag, parse_etag
from lead2cash.crm.payload import parse_body, resolve_id
from lead2cash.crm.security import Access, require_privilege
from lead2cash.crm.store import UnitOfWork

router = APIRouter(tags=["data"])


def _entity(request: Request, version: str, set_name: str) -> EntityDef:
    check_version(version)
    entity = request.app.state.l2c_store.registry.by_entity_set(set_name)
    if entity is None:
        raise errors.DataverseError(404, errors.QUERY_SYNTAX, f"Resource not found for the segment '{set_name}'.")
    return entity


def _target(request: Request, version: str, segment: str) -> tuple[EntityDef, EntityKey | None]:
    set_name, key_text = split_segment(segment)
    entity = _entity(request, version, set_name)
    return entity, (parse_key(entity, key_text) if key_text is not None else None)


def _find(uow: UnitOfWork, entity: EntityDef, key: EntityKey, *, lock: bool = False) -> dict[str, Any] | None:
    if key.id is not None:
        return uow.get(entity, key.id, lock=lock)
    return uow.find_by_key(entity, key.alternate or {}, lock=lock)


def _missing(entity: EntityDef, key: EntityKey) -> errors.DataverseError:
    if key.id is not None:
        return errors.not_found(entity.logical_name, key.id)
    return errors.DataverseError(
        404, "0x80060891", f"A record with the specified key values does not exist in {entity.logical_name} entity"
    )


def _entity_id_headers(request: Request, version: str, entity: EntityDef, id: str) -> dict[str, str]:
    return {"OData-EntityId": service_root(request, version) + format_key(entity, id)}


def _single_body(
    uow: UnitOfWork, request: Request, version: str, entity: EntityDef, row: dict, params: Any, prefs: Preferences
) -> dict[str, Any]:
    opts = query.parse_options(uow.registry, entity, params)
    body = query.render(uow, opts, [row], prefs)[0]
    sel = f"({opts.select_text})" if opts.select_text else ""
    return {
        "@odata.context": f"{service_root(request, version)}$metadata#{entity.entity_set_name}{sel}/$entity",
        **body,
    }


@router.get("/api/data/{version}/{segment}")
def get(version: str, segment: str, request: Request) -> Response:
    entity, key = _target(request, version, segment)
    prefs = preferences(request)
    params = request.query_params
    with unit_of_work(request, readonly=True) as uow:
        if key is None:
            return _collection(uow, request, version, entity, params, prefs)
        row = _find(uow, entity, key)
        if row is None:
            raise _missing(entity, key)
        tag = etag(row["versionnumber"])
        inm = request.headers.get("if-none-match")
        unchanged = inm and inm != "null" and parse_etag(inm) == row["versionnumber"]
        if unchanged and "$expand" not in params and not prefs.annotations:
            return Response(status_code=304, headers={**ODATA_HEADERS, "ETag": tag})
        body = _single_body(uow, request, version, entity, row, params, prefs)
        return ODataResponse(body, headers={"ETag": tag, **_applied(prefs)})


def _applied(prefs: Preferences) -> dict[str, str]:
    applied = []
    if prefs.annotations:
        applied.append(f'odata.include-annotations="{",".join(prefs.annotations)}"')
    return {"Preference-Applied": ",".join(applied)} if applied else {}


def _collection(
    uow: UnitOfWork, request: Request, version: str, entity: EntityDef, params: Any, prefs: Preferences
) -> Response:
    token = query.decode_token(params["$skiptoken"]) if params.get("$skiptoken") else {}
    if "$deltatoken" in params or prefs.track_changes or "v" in token:  # "v": a tracked load's later page
        return changes.tracked_collection(uow, request, version, entity, params, prefs)
    opts = query.parse_options(uow.registry, entity, params)
    page_size = int(token.get("n") or min(prefs.max_page_size or query.MAX_PAGE_SIZE, query.MAX_PAGE_SIZE))
    paging = opts.top is None
    rows, last = query.fetch(uow, opts, page_size=page_size if paging else opts.top, after=token.get("k"))
    root = service_root(request, version)
    sel = f"({opts.select_text})" if opts.select_text else ""
    body: dict[str, Any] = {"@odata.context": f"{root}$metadata#{entity.entity_set_name}{sel}"}
    if opts.count:
        total = query.count(uow, opts)
        body["@odata.count"] = min(total, query.COUNT_LIMIT)
        body["@Microsoft.Dynamics.CRM.totalrecordcountlimitexceeded"] = total > query.COUNT_LIMIT
    body["value"] = query.render(uow, opts, rows, prefs)
    headers = _applied(prefs)
    if prefs.max_page_size and paging:
        headers["Preference-Applied"] = ",".join(filter(None, [headers.get("Preference-Applied"),
                                                               f"odata.maxpagesize={page_size}"]))  # fmt: skip
    if last is not None and paging:
        body["@odata.nextLink"] = next_link(request, version, entity, {"k": last, "n": page_size})
    return ODataResponse(body, headers=headers)


def next_link(request: Request, version: str, entity: EntityDef, token: dict[str, Any]) -> str:
    from urllib.parse import urlencode

    items = [(k, v) for k, v in request.query_params.multi_items() if k != "$skiptoken"]
    items.append(("$skiptoken", query.encode_token(token)))
    return f"{service_root(request, version)}{entity.entity_set_name}?{urlencode(items, safe='$@,()')}"


@router.post("/api/data/{version}/{segment}")
async def create(version: str, segment: str, request: Request) -> Response:
    body = await json_body(request)
    return await run_in_threadpool(_create, version, segment, request, body)  # database work off the event loop


def _create(version: str, segment: str, request: Request, body: Any) -> Response:
    entity, key = _target(request, version, segment)
    if key is not None:
        raise errors.DataverseError(405, errors.BAD_REQUEST, "POST is not allowed on a single entity; use PATCH.")
    prefs = preferences(request)
    with unit_of_work(request) as uow:
        values = parse_body(uow, entity, body, creating=True, references=request.scope.get(REFERENCES_SCOPE_KEY))
        id = uow.create(entity, values)
        headers = _entity_id_headers(request, version, entity, id)
        if prefs.return_representation:
            uow.flush()
            row = uow.get(entity, id)
            out = _single_body(uow, request, version, entity, row, request.query_params, prefs)
            headers.update(ETag=etag(row["versionnumber"]), **{"Preference-Applied": "return=representation"})
            return ODataResponse(out, 201, headers)
    return Response(status_code=204, headers={**ODATA_HEADERS, **headers})


def check_conditions(request: Request, entity: EntityDef, key: EntityKey, row: dict | None) -> None:
    """``If-Match`` / ``If-None-Match`` against the current row (None when it does not exist)."""
    if_match = request.headers.get("if-match")
    if_none = request.headers.get("if-none-match")
    if if_match and if_match != "null":
        if row is None:
            raise _missing(entity, key)
        if if_match.strip() != "*" and parse_etag(if_match) != row["versionnumber"]:
            raise errors.DataverseError(
                412,
                errors.ETAG_MISMATCH,
                "The version of the existing record doesn't match the RowVersion property provided.",
            )
    if if_none and if_none.strip() == "*" and row is not None:
        raise errors.DataverseError(412, errors.ALREADY_EXISTS, "A record with matching key values already exists.")


@router.patch("/api/data/{version}/{segment}")
async def upsert(version: str, segment: str, request: Request) -> Response:
    body = await json_body(request)
    return await run_in_threadpool(_upsert, version, segment, request, body)


def _upsert(version: str, segment: str, request: Request, body: Any) -> Response:
    entity, key = _target(request, version, segment)
    if key is None:
        raise errors.DataverseError(405, errors.BAD_REQUEST, "PATCH is not allowed on a collection.")
    prefs = preferences(request)
    with unit_of_work(request) as uow:
        row = _find(uow, entity, key, lock=True)
        check_conditions(request, entity, key, row)
        refs = request.scope.get(REFERENCES_SCOPE_KEY)
        values = parse_body(uow, entity, body, creating=row is None, references=refs)
        if row is None:
            caller = caller_of(request)
            if caller is not None and hasattr(caller, "has_privilege"):  # an upsert that creates needs Create
                require_privilege(caller, Access.CREATE, entity.logical_name)
            if key.id is not None:
                given = values.get(entity.primary_id_attribute)
                if given is not None and given != key.id:
                    raise errors.bad_request("The primary key in the body does not match the URL.")
                values[entity.primary_id_attribute] = key.id
            else:
                values.update(key.alternate or {})
            id = uow.create(entity, values)
            status = 201
        else:
            id = row[entity.primary_id_attribute]
            uow.update(entity, id, values, existing=row)
            status = 200
        headers = _entity_id_headers(request, version, entity, id)
        if prefs.return_representation:
            uow.flush()
            fresh = uow.get(entity, id)
            out = _single_body(uow, request, version, entity, fresh, request.query_params, prefs)
            headers.update(ETag=etag(fresh["versionnumber"]), **{"Preference-Applied": "return=representation"})
            return ODataResponse(out, status, headers)
    return Response(status_code=204, headers={**ODATA_HEADERS, **headers})


@router.delete("/api/data/{version}/{segment}")
def delete(version: str, segment: str, request: Request) -> Response:
    entity, key = _target(request, version, segment)
    if key is None:
        raise errors.DataverseError(405, errors.BAD_REQUEST, "DELETE is not allowed on a collection.")
    with unit_of_work(request) as uow:
        row = _find(uow, entity, key, lock=True)
        check_conditions(request, entity, key, row)
        if row is None:
            raise _missing(entity, key)
        uow.delete(entity, row[entity.primary_id_attribute], existing=row)
    return Response(status_code=204, headers=ODATA_HEADERS)


# ---- single properties, navigation properties and $ref ----


@router.get("/api/data/{version}/{segment}/{rest:path}")
def get_property(version: str, segment: str, rest: str, request: Request) -> Response:
    entity, key = _target(request, version, segment)
    if key is None:
        if rest == "$count":
            with unit_of_work(request, readonly=True) as uow:
                opts = query.parse_options(uow.registry, entity, request.query_params)
                return Response(str(query.count(uow, opts)), media_type="text/plain", headers=ODATA_HEADERS)
        raise errors.DataverseError(404, errors.QUERY_SYNTAX, f"Resource not found for the segment '{rest}'.")
    prefs = preferences(request)
    with unit_of_work(request, readonly=True) as uow:
        row = _find(uow, entity, key)
        if row is None:
            raise _missing(entity, key)
        root = service_root(request, version)
        attr = entity.attribute_by_odata_name(rest)
        if attr is not None:
            body = query.render(uow, query.parse_options(uow.registry, entity, {}), [row], prefs)[0]
            ctx = f"{root}$metadata#{entity.entity_set_name}({row[entity.primary_id_attribute]})/{rest}"
            return ODataResponse({"@odata.context": ctx, "value": body.get(attr.odata_name)})
        single = uow.registry.single_navigation(entity, rest)
        if single is not None:
            lookup, target = single
            ref = row.get(lookup.logical_name)
            if ref is None or (lookup.is_polymorphic and (row.get(f"{lookup.logical_name}_type") or target) != target):
                return Response(status_code=204, headers=ODATA_HEADERS)
            target_entity = uow.registry.get(target)
            related = uow.get(target_entity, ref)
            if related is None:
                return Response(status_code=204, headers=ODATA_HEADERS)
            body = _single_body(uow, request, version, target_entity, related, request.query_params, prefs)
            return ODataResponse(body)
        rel = uow.registry.collection_navigation(entity, rest)
        if rel is not None:
            child = uow.registry.get(rel.referencing_entity)
            opts = query.parse_options(uow.registry, child, request.query_params)
            col = uow.table(child).c[rel.referencing_attribute]
            rows, _ = query.fetch(
                uow, opts, page_size=opts.top or query.MAX_PAGE_SIZE, extra=col == row[entity.primary_id_attribute]
            )
            return ODataResponse(
                {
                    "@odata.context": f"{root}$metadata#{child.entity_set_name}",
                    "value": query.render(uow, opts, rows, prefs),
                }
            )
    raise errors.DataverseError(404, errors.QUERY_SYNTAX, f"Resource not found for the segment '{rest}'.")


@router.put("/api/data/{version}/{segment}/{rest:path}")
async def put_property(version: str, segment: str, rest: str, request: Request) -> Response:
    body = await json_body(request)
    return await run_in_threadpool(_put_property, version, segment, rest, request, body)


def _put_property(version: str, segment: str, rest: str, request: Request, body: Any) -> Response:
    entity, key = _target(request, version, segment)
    with unit_of_work(request) as uow:
        row = _row_for_write(uow, request, entity, key)
        if rest.endswith("/$ref"):
            nav = rest[: -len("/$ref")]
            ref = body.get("@odata.id") if isinstance(body, dict) else None
            if not ref:
                raise errors.bad_request("The body must contain '@odata.id'.")
            values = parse_body(uow, entity, {f"{nav}@odata.bind": ref}, creating=False)
        else:
            if not isinstance(body, dict) or "value" not in body:
                raise errors.bad_request("The body must be an object with a 'value' property.")
            values = parse_body(uow, entity, {rest: body["value"]}, creating=False)
        uow.update(entity, row[entity.primary_id_attribute], values, existing=row)
    return Response(status_code=204, headers=ODATA_HEADERS)


@router.delete("/api/data/{version}/{segment}/{rest:path}")
def delete_property(version: str, segment: str, rest: str, request: Request) -> Response:
    entity, key = _target(request, version, segment)
    with unit_of_work(request) as uow:
        row = _row_for_write(uow, request, entity, key)
        if navigation.disassociate(uow, request, entity, row[entity.primary_id_attribute], rest):
            return Response(status_code=204, headers=ODATA_HEADERS)
        nav = rest[: -len("/$ref")] if rest.endswith("/$ref") else rest
        if uow.registry.single_navigation(entity, nav) is not None:
            values = parse_body(uow, entity, {f"{nav}@odata.bind": None}, creating=False)
        else:
            values = parse_body(uow, entity, {nav: None}, creating=False)
        uow.update(entity, row[entity.primary_id_attribute], values, existing=row)
    return Response(status_code=204, headers=ODATA_HEADERS)


def _row_for_write(uow: UnitOfWork, request: Request, entity: EntityDef, key: EntityKey | None) -> dict:
    if key is None:
        raise errors.DataverseError(405, errors.BAD_REQUEST, "The operation needs a single entity.")
    row = _find(uow, entity, key, lock=True)
    if row is None:
        raise _missing(entity, key)
    check_conditions(request, entity, key, row)
    return row


def reference_id(uow: UnitOfWork, ref: str) -> tuple[EntityDef, str]:
    """Resolve an entity URL (``@odata.id``) to its entity and GUID; 404 when it names no row."""
    entity, key = parse_reference(uow.registry, ref)
    return entity, resolve_id(uow, entity, key)
