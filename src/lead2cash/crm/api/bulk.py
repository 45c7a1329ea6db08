"""Routes of the bulk actions bound to an entity set: ``POST /<set>/Microsoft.Dynamics.CRM.CreateMultiple``,
``…UpdateMultiple`` and ``…UpsertMultiple`` with ``{"Targets": [...]}``.

Each target is an entity body like a single POST/PATCH would send, plus the ``@odata.type`` Dataverse
requires (``Microsoft.Dynamics.CRM.<logical name>``) and, for upserts, optionally ``@odata.id``. Bodies are
converted by the same ``payload.parse_body`` as single writes; the ``@odata.bind`` references of all
targets are resolved up front with one query per referenced table, and the writes themselves are
set-based (:mod:`lead2cash.crm.bulk`) and run in the thread pool, off the event loop. The whole action is
one unit of work: any failing target fails the request and nothing is written.
"""

from __future__ import annotations

from collections import defaultdict
from typing import Any

from fastapi import APIRouter, Request
from starlette.concurrency import run_in_threadpool
from starlette.responses import Response

from lead2cash.crm import bulk
from lead2cash.crm.api.common import (
    REFERENCES_SCOPE_KEY,
    check_version,
    json_body,
    service_root,
    unit_of_work,
)
from lead2cash.crm.metadata import EntityDef
from lead2cash.crm.odata import errors
from lead2cash.crm.odata.keys import parse_reference
from lead2cash.crm.odata.serialize import ODATA_HEADERS, ODataResponse
from lead2cash.crm.payload import parse_body
from lead2cash.crm.store import UnitOfWork

router = APIRouter(tags=["bulk"])
NAMESPACE = "Microsoft.Dynamics.CRM."
INVALID = "0x80048d19"


def _entity(request: Request, version: str, set_name: str) -> EntityDef:
    check_version(version)
    entity = request.app.state.l2c_store.registry.by_entity_set(set_name)
    if entity is None:
        raise errors.DataverseError(404, errors.QUERY_SYNTAX, f"Resource not found for the segment '{set_name}'.")
    return entity


async def _targets(request: Request, entity: EntityDef) -> list[dict[str, Any]]:
    body = await json_body(request)
    targets = body.get("Targets") if isinstance(body, dict) else None
    if not isinstance(targets, list) or not targets:
        raise errors.bad_request("The request must contain a non-empty 'Targets' array.", INVALID)
    expected = f"{NAMESPACE}{entity.logical_name}"
    for index, target in enumerate(targets):
        if not isinstance(target, dict):
            raise errors.bad_request(f"Targets[{index}] must be an entity object.", INVALID)
        kind = target.get("@odata.type")
        if kind is None:
            raise errors.bad_request(f"Targets[{index}] needs '@odata.type': '{expected}'.", INVALID)
        if str(kind).removeprefix("#") != expected:
            raise errors.bad_request(f"Targets[{index}] has '@odata.type' {kind!r}; expected '{expected}'.", INVALID)
    return targets


class _PrefetchedReads:
    """Stands in for the unit of work while bodies are parsed: ``get`` by id answers from ids fetched in
    one query per referenced table, so resolving N ``@odata.bind`` values costs no N queries."""

    def __init__(self, uow: UnitOfWork, known: dict[str, set[str]]):
        self._uow = uow
        self._known = known
        self.registry = uow.registry

    def get(self, entity: EntityDef, id: str) -> dict | None:
        known = self._known.get(entity.logical_name)
        if known is None:
            return self._uow.get(entity, id)
        return {entity.primary_id_attribute: id} if id in known else None

    def find_by_key(self, entity: EntityDef, values: dict[str, Any]) -> dict | None:
        return self._uow.find_by_key(entity, values)


def _prefetch(uow: UnitOfWork, targets: list[dict[str, Any]]) -> _PrefetchedReads:
    wanted: dict[str, set[str]] = defaultdict(set)
    for target in targets:
        for name, value in target.items():
            if name.endswith("@odata.bind") and isinstance(value, str) and not value.startswith("$"):
                try:
                    ref_entity, key = parse_reference(uow.registry, value)
                except errors.DataverseError:
                    continue  # parse_body reports it, naming the property
                if key.id is not None:
                    wanted[ref_entity.logical_name].add(key.id)
    known = {name: set(bulk.existing_by_id(uow, uow.registry.get(name), ids)) for name, ids in wanted.items()}
    return _PrefetchedReads(uow, known)


@router.post("/api/data/{version}/{set_name}/Microsoft.Dynamics.CRM.CreateMultiple")
async def create_multiple(version: str, set_name: str, request: Request) -> Response:
    entity = _entity(request, version, set_name)
    targets = await _targets(request, entity)
    return await run_in_threadpool(_create_multiple, version, request, entity, targets)


def _create_multiple(version: str, request: Request, entity: EntityDef, targets: list[dict]) -> Response:
    refs = request.scope.get(REFERENCES_SCOPE_KEY)
    with unit_of_work(request) as uow:
        reads = _prefetch(uow, targets)
        values = [parse_body(reads, entity, t, creating=True, references=refs) for t in targets]
        ids = bulk.create_many(uow, entity, values)
    context = f"{service_root(request, version)}$metadata#Microsoft.Dynamics.CRM.CreateMultipleResponse"
    return ODataResponse({"@odata.context": context, "Ids": ids})


@router.post("/api/data/{version}/{set_name}/Microsoft.Dynamics.CRM.UpdateMultiple")
async def update_multiple(version: str, set_name: str, request: Request) -> Response:
    entity = _entity(request, version, set_name)
    targets = await _targets(request, entity)
    return await run_in_threadpool(_update_multiple, request, entity, targets)


def _update_multiple(request: Request, entity: EntityDef, targets: list[dict]) -> Response:
    refs = request.scope.get(REFERENCES_SCOPE_KEY)
    with unit_of_work(request) as uow:
        reads = _prefetch(uow, targets)
        keyed = [bulk.upsert_target(uow, entity, t) for t in targets]
        rows = bulk.find_upsert_rows(uow, entity, keyed)
        items, current = [], {}
        for index, (target, row) in enumerate(zip(keyed, rows, strict=True)):
            if target.key is None:
                raise errors.bad_request(
                    f"Targets[{index}] must contain '{entity.primary_id_attribute}' or an alternate key.", INVALID
                )
            if row is None:
                raise errors.not_found(entity.logical_name, target.key.describe())
            values = parse_body(reads, entity, target.body, creating=False, references=refs)
            items.append((row[entity.primary_id_attribute], values))
            current[row[entity.primary_id_attribute]] = row
        bulk.update_many(uow, entity, items, current)
    return Response(status_code=204, headers=ODATA_HEADERS)


@router.post("/api/data/{version}/{set_name}/Microsoft.Dynamics.CRM.UpsertMultiple")
async def upsert_multiple(version: str, set_name: str, request: Request) -> Response:
    entity = _entity(request, version, set_name)
    targets = await _targets(request, entity)
    return await run_in_threadpool(_upsert_multiple, request, entity, targets)


def _upsert_multiple(request: Request, entity: EntityDef, targets: list[dict]) -> Response:
    refs = request.scope.get(REFERENCES_SCOPE_KEY)
    with unit_of_work(request) as uow:
        reads = _prefetch(uow, targets)
        keyed = [bulk.upsert_target(uow, entity, t) for t in targets]
        rows = bulk.find_upsert_rows(uow, entity, keyed)
        creates: list[dict[str, Any]] = []
        updates: list[tuple[str, dict[str, Any]]] = []
        current: dict[str, dict] = {}
        for target, row in zip(keyed, rows, strict=True):
            values = parse_body(reads, entity, target.body, creating=row is None, references=refs)
            if row is not None:
                updates.append((row[entity.primary_id_attribute], values))
                current[row[entity.primary_id_attribute]] = row
                continue
            if target.key is not None and target.key.id is not None:
                values[entity.primary_id_attribute] = target.key.id
            elif target.key is not None:
                values.update(target.key.alternate or {})
            creates.append(values)
        if creates:
            bulk.create_many(uow, entity, creates)
        if updates:
            bulk.update_many(uow, entity, updates, current)
    return Response(status_code=204, headers=ODATA_HEADERS)
