"""Security-role assignment through the Web API: ``systemusers(<id>)/systemuserroles_association``.

The integration's setup signs in as an administrator and gives the integration user its roles, and checks
that the administrator holds System Administrator and Solution Customizer — against a real org through
this many-to-many relationship between ``systemuser`` and ``role``. The same requests work here: list a
user's roles, associate one with ``POST …/$ref`` (``{"@odata.id": "…/roles(<roleid>)"}``) and remove it
with ``DELETE …/systemuserroles_association(<roleid>)/$ref``. Only administrators may change assignments
(the privilege check treats these as writes to ``systemuser``).
"""

from __future__ import annotations

import uuid
from typing import Any

import sqlalchemy as sa
from fastapi import APIRouter, Request
from starlette.responses import JSONResponse, Response

from lead2cash.crm import security
from lead2cash.crm.api.common import check_version, json_body, service_root, store_of
from lead2cash.crm.odata import errors
from lead2cash.crm.odata.keys import split_segment

router = APIRouter(tags=["security roles"])
NAV = "systemuserroles_association"
HEADERS = {"OData-Version": "4.0"}


def _user_id(request: Request, key: str) -> uuid.UUID:
    try:
        user_id = uuid.UUID(key.strip().strip("{}'"))
    except ValueError:
        raise errors.bad_request(f"'{key}' is not a valid systemuserid.", errors.QUERY_SYNTAX) from None
    table = store_of(request).table("systemuser")
    with store_of(request).read_engine.connect() as conn:
        found = conn.execute(sa.select(table.c.systemuserid).where(table.c.systemuserid == str(user_id))).first()
    if found is None:
        raise errors.not_found("systemuser", str(user_id))
    return user_id


def _role(request: Request, roleid: str) -> str:
    name = security.role_name(roleid.strip().strip("{}'"))
    if name is None:
        raise errors.not_found("role", roleid)
    return name


def _forget(request: Request, user_id: uuid.UUID) -> None:
    authenticator = getattr(request.app.state, "l2c_authenticator", None)
    if authenticator is not None:
        authenticator.forget(user_id)


def _role_row(request: Request, name: str) -> dict[str, Any]:
    store = store_of(request)
    table = store.table("role")
    roleid = str(security.role_id(name))
    with store.read_engine.connect() as conn:
        row = conn.execute(sa.select(table).where(table.c.roleid == roleid)).mappings().first()
    unit = row["businessunitid"] if row else None
    return {"roleid": roleid, "name": name, "_businessunitid_value": unit}


@router.get("/api/data/{version}/systemusers({key})/" + NAV)
def list_roles(version: str, key: str, request: Request) -> Response:
    check_version(version)
    user_id = _user_id(request, key)
    with store_of(request).engine.connect() as conn:
        names = sorted(security.roles_of(conn, user_id))
    body = {"@odata.context": f"{service_root(request, version)}$metadata#roles", "value": []}
    body["value"] = [_role_row(request, name) for name in names]
    return JSONResponse(body, headers=HEADERS)


@router.post("/api/data/{version}/systemusers({key})/" + NAV + "/$ref")
async def associate(version: str, key: str, request: Request) -> Response:
    check_version(version)
    user_id = _user_id(request, key)
    ref = (await json_body(request) or {}).get("@odata.id")
    if not isinstance(ref, str):
        raise errors.bad_request('The body must name the role: {"@odata.id": "roles(<roleid>)"}.')
    set_name, roleid = split_segment(ref.rstrip("/").rsplit("/", 1)[-1])
    if set_name != "roles" or roleid is None:
        raise errors.bad_request(f"'{ref}' is not a reference to a role.", errors.QUERY_SYNTAX)
    name = _role(request, roleid)
    with store_of(request).engine.begin() as conn:
        security.add_role(conn, user_id, name)
    _forget(request, user_id)
    return Response(status_code=204, headers=HEADERS)


@router.delete("/api/data/{version}/systemusers({key})/" + NAV + "({roleid})/$ref")
@router.delete("/api/data/{version}/systemusers({key})/" + NAV + "/$ref")
def disassociate(version: str, key: str, request: Request, roleid: str | None = None) -> Response:
    check_version(version)
    user_id = _user_id(request, key)
    if roleid is None:  # the other spelling: …/$ref?$id=<url of the role>
        ref = request.query_params.get("$id", "")
        roleid = split_segment(ref.rstrip("/").rsplit("/", 1)[-1])[1] or ""
    name = _role(request, roleid)
    with store_of(request).engine.begin() as conn:
        security.remove_role(conn, user_id, name)
    _forget(request, user_id)
    return Response(status_code=204, headers=HEADERS)
