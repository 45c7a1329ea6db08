"""Collection-valued navigation properties: associate, disassociate and create related rows.

``POST accounts(<id>)/contact_customer_accounts/$ref`` with ``{"@odata.id": "contacts(<id>)"}`` points the
contact's lookup at the account; ``DELETE accounts(<id>)/contact_customer_accounts(<contactid>)/$ref``
clears it; ``POST accounts(<id>)/contact_customer_accounts`` with a contact body creates the contact already
related. All three are writes of the *referencing* row's lookup, as in Dataverse.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from starlette.concurrency import run_in_threadpool
from starlette.responses import Response

from lead2cash.crm.api.common import REFERENCES_SCOPE_KEY, json_body, service_root, unit_of_work
from lead2cash.crm.metadata import EntityDef, RelationshipDef
from lead2cash.crm.odata import errors
from lead2cash.crm.odata.keys import format_key, parse_key, parse_reference, split_segment
from lead2cash.crm.odata.serialize import ODATA_HEADERS
from lead2cash.crm.payload import parse_body, resolve_id
from lead2cash.crm.store import UnitOfWork

router = APIRouter(tags=["data"])


def _parent(uow: UnitOfWork, request: Request, segment: str) -> tuple[EntityDef, str]:
    from lead2cash.crm.api.data import _target

    entity, key = _target(request, request.path_params["version"], segment)
    if key is None:
        raise errors.DataverseError(405, errors.BAD_REQUEST, "The operation needs a single entity.")
    return entity, resolve_id(uow, entity, key)


def _relationship(uow: UnitOfWork, entity: EntityDef, nav: str) -> RelationshipDef:
    rel = uow.registry.collection_navigation(entity, nav)
    if rel is None:
        raise errors.DataverseError(404, errors.QUERY_SYNTAX, f"Resource not found for the segment '{nav}'.")
    return rel


def _link(child: EntityDef, rel: RelationshipDef, parent_entity: EntityDef, parent_id: str) -> dict[str, Any]:
    values: dict[str, Any] = {rel.referencing_attribute: parent_id}
    if child.attributes[rel.referencing_attribute].is_polymorphic:  # remember which table it points to
        values[f"{rel.referencing_attribute}_type"] = parent_entity.logical_name
    return values


@router.post("/api/data/{version}/{segment}/{rest:path}")
async def post_related(version: str, segment: str, rest: str, request: Request) -> Response:
    body = await json_body(request)
    return await run_in_threadpool(_post_related, version, segment, rest, request, body)


def _post_related(version: str, segment: str, rest: str, request: Request, body: Any) -> Response:
    with unit_of_work(request) as uow:
        parent_entity, parent_id = _parent(uow, request, segment)
        nav = rest.removesuffix("/$ref")
        rel = _relationship(uow, parent_entity, nav)
        child = uow.registry.get(rel.referencing_entity)
        if rest.endswith("/$ref"):
            ref = body.get("@odata.id") if isinstance(body, dict) else None
            if not isinstance(ref, str):
                raise errors.bad_request("The body must contain '@odata.id'.")
            ref_entity, key = parse_reference(uow.registry, ref)
            if ref_entity.logical_name != child.logical_name:
                raise errors.bad_request(f"'{nav}' relates {child.entity_set_name}, not {ref_entity.entity_set_name}.")
            uow.update(child, resolve_id(uow, child, key), _link(child, rel, parent_entity, parent_id))
            return Response(status_code=204, headers=ODATA_HEADERS)
        values = parse_body(uow, child, body, creating=True, references=request.scope.get(REFERENCES_SCOPE_KEY))
        child_id = uow.create(child, {**values, **_link(child, rel, parent_entity, parent_id)})
    entity_id = service_root(request, version) + format_key(child, child_id)
    return Response(status_code=204, headers={**ODATA_HEADERS, "OData-EntityId": entity_id})


def disassociate(uow: UnitOfWork, request: Request, parent: EntityDef, parent_id: str, rest: str) -> bool:
    """``<collection nav>(<child key>)/$ref``: clear the child's lookup. False when ``rest`` is not that."""
    if not rest.endswith("/$ref"):
        return False
    nav, key_text = split_segment(rest.removesuffix("/$ref"))
    rel = uow.registry.collection_navigation(parent, nav)
    if rel is None or key_text is None:
        return False
    child = uow.registry.get(rel.referencing_entity)
    child_id = resolve_id(uow, child, parse_key(child, key_text))
    row = uow.get(child, child_id)
    if row is None or row.get(rel.referencing_attribute) != parent_id:
        raise errors.bad_request(f"The {child.logical_name} is not related to this {parent.logical_name}.")
    cleared: dict[str, Any] = {rel.referencing_attribute: None}
    if f"{rel.referencing_attribute}_type" in uow.table(child).c:
        cleared[f"{rel.referencing_attribute}_type"] = None
    uow.update(child, child_id, cleared, existing=row)
    return True
