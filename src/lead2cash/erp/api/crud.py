"""Builds the five REST endpoints of a master-data resource from its schema and record type.

``GET /{path}`` lists with equality filters and keyset paging, ``POST /{path}`` creates, and
``GET|PATCH|DELETE /{path}/{ref}`` address one record by its key (no./code) or its SystemId. ``ETag`` carries
the row version; ``If-Match`` on PATCH/DELETE makes the write conditional (412 when stale).
"""

from typing import Any, Literal

from fastapi import APIRouter, Depends, Header, Query, Response
from pydantic import BaseModel, ConfigDict, Field, create_model
from sqlalchemy.orm import Session

from lead2cash.erp.api.auth import ALL_ROLES, MASTER_DATA_WRITERS, db_session, require
from lead2cash.erp.api.schemas import In, constrained, derive
from lead2cash.erp.errors import PreconditionFailed, invalid
from lead2cash.erp.services import records
from lead2cash.erp.services.records import RecordType

ERROR_RESPONSES: dict[int | str, dict[str, Any]] = {
    401: {"description": "Not authenticated"},
    403: {"description": "Role not allowed"},
    404: {"description": "No such record"},
    409: {"description": "Conflicts with existing data"},
    412: {"description": "Row version changed"},
    422: {"description": "Invalid input"},
}


def etag(version: int) -> str:
    return f'W/"{version}"'


def parse_if_match(value: str | None) -> int | None:
    if value is None or value.strip() == "*":
        return None
    raw = value.strip().removeprefix("W/").strip('"')
    if not raw.isdigit():
        raise PreconditionFailed(
            f"If-Match '{value}' is not an ETag of this API.",
            fix='Send the ETag header of the record you read, like W/"42".',
        )
    return int(raw)


def _query_model(name: str, rtype: RecordType, schema: type[In]) -> type[BaseModel]:
    fields: dict[str, Any] = {f: (constrained(schema.model_fields[f]) | None, None) for f in rtype.filters}
    sortable = (
        tuple(dict.fromkeys([rtype.key, "row_version"])) if rtype.key in rtype.model.__table__.c else ("row_version",)
    )
    fields["order_by"] = (Literal[sortable] | None, None)  # type: ignore[valid-type]
    fields["limit"] = (int, Field(100, ge=1, le=1000))
    fields["after"] = (
        str | None,
        Field(None, max_length=500, description="The 'next' of the previous page."),
    )
    fields["row_version_gt"] = (int | None, Field(None, ge=0, le=2**62))
    return create_model(f"{name}Query", __config__=ConfigDict(extra="forbid"), **fields)


def add_resource(
    router: APIRouter,
    path: str,
    rtype: RecordType,
    schema: type[In],
    *,
    extra_out: dict[str, Any] | None = None,
    read_roles=ALL_ROLES,
    write_roles=MASTER_DATA_WRITERS,
) -> None:
    name = schema.__name__.removesuffix("In")
    patch_model, out_model = derive(schema, name, extra_out)
    page_model = create_model(f"{name}Page", items=(list[out_model], ...), next=(str | None, None))
    query_model = _query_model(name, rtype, schema)
    tag = [rtype.label]
    readers, writers = require(read_roles), require(write_roles)

    @router.get(
        f"/{path}",
        response_model=page_model,
        tags=tag,
        responses=ERROR_RESPONSES,
        summary=f"List {rtype.label.lower()} records",
        operation_id=f"list_{path}",
    )
    def list_records(q: query_model = Query(), session: Session = Depends(db_session), _=Depends(readers)):
        params = q.model_dump()
        filters = {f: params[f] for f in rtype.filters}
        page = records.list_page(
            session,
            rtype,
            filters,
            order_by=params["order_by"],
            limit=params["limit"],
            after=params["after"],
            row_version_gt=params["row_version_gt"],
        )
        return {"items": page.items, "next": page.next_cursor}

    @router.post(
        f"/{path}",
        response_model=out_model,
        status_code=201,
        tags=tag,
        responses=ERROR_RESPONSES,
        summary=f"Create a {rtype.label.lower()}",
        operation_id=f"create_{path}",
    )
    def create_record(body: schema, response: Response, session: Session = Depends(db_session), _=Depends(writers)):
        obj = records.create(session, rtype, body.model_dump())
        response.headers["ETag"] = etag(obj.row_version)
        return obj

    @router.get(
        f"/{path}/{{ref}}",
        response_model=out_model,
        tags=tag,
        responses=ERROR_RESPONSES,
        summary=f"Read a {rtype.label.lower()}",
        operation_id=f"get_{path}",
    )
    def read_record(ref: str, response: Response, session: Session = Depends(db_session), _=Depends(readers)):
        obj = records.get(session, rtype.model, ref)
        response.headers["ETag"] = etag(obj.row_version)
        return obj

    @router.patch(
        f"/{path}/{{ref}}",
        response_model=out_model,
        tags=tag,
        responses=ERROR_RESPONSES,
        summary=f"Change a {rtype.label.lower()}",
        operation_id=f"update_{path}",
    )
    def update_record(
        ref: str,
        body: patch_model,
        response: Response,
        if_match: str | None = Header(None),
        session: Session = Depends(db_session),
        _=Depends(writers),
    ):
        obj = records.get(session, rtype.model, ref, for_update=True)
        changes = body.model_dump(exclude_unset=True)
        for field, value in changes.items():
            column = rtype.model.__table__.c[field]
            if value is None and not column.nullable:
                raise invalid(
                    records.describe(obj),
                    field,
                    "cannot be empty (null)",
                    f"Send a value for {field} or leave it out.",
                )
        obj = records.update(session, obj, changes, if_version=parse_if_match(if_match))
        response.headers["ETag"] = etag(obj.row_version)
        return obj

    @router.delete(
        f"/{path}/{{ref}}",
        status_code=204,
        tags=tag,
        responses=ERROR_RESPONSES,
        summary=f"Delete a {rtype.label.lower()}",
        operation_id=f"delete_{path}",
    )
    def delete_record(
        ref: str,
        if_match: str | None = Header(None),
        session: Session = Depends(db_session),
        _=Depends(writers),
    ):
        obj = records.get(session, rtype.model, ref, for_update=True)
        expected = parse_if_match(if_match)
        if expected is not None and expected != obj.row_version:
            raise PreconditionFailed(
                f"{records.describe(obj)} was changed by someone else.",
                record=records.describe(obj),
                fix="Read it again before deleting.",
            )
        records.delete(session, obj)
        return Response(status_code=204)
