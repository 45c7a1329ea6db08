"""``WhoAmI``: the signed-in user's id, business unit and organization, as clients check their connection.

Read from the org's seeded rows (``systemuser.businessunitid``, the ``organization`` row); an org without
them (tests with a bare store) still answers, with stable made-up ids.
"""

from __future__ import annotations

import uuid

import sqlalchemy as sa
from fastapi import APIRouter, Request

from lead2cash.crm.auth import current_caller

router = APIRouter(tags=["authentication"])
_ORG_NS = uuid.UUID("3f0d8f1e-64c4-4d5e-a1d7-52a0f3b9c6e1")


def _first_id(request: Request, table: str, column: str, where: tuple[str, str] | None = None) -> str | None:
    store = getattr(request.app.state, "l2c_store", None)
    if store is None or table not in getattr(store, "tables", {}):
        return None
    t = store.tables[table]
    query = sa.select(t.c[column]).limit(1)
    if where is not None:
        query = query.where(t.c[where[0]] == where[1])
    with store.read_engine.connect() as conn:
        value = conn.execute(query).scalar()
    return str(value) if value is not None else None


@router.get("/api/data/{version}/WhoAmI")
@router.get("/api/data/{version}/WhoAmI()")
def who_am_i(version: str, request: Request) -> dict:
    """``WhoAmI`` function: the caller's user id, business unit and organization."""
    caller = current_caller(request)
    user_id = str(caller.systemuserid)
    base = str(request.base_url).rstrip("/")
    org = _first_id(request, "organization", "organizationid") or str(uuid.uuid5(_ORG_NS, base))
    unit = _first_id(request, "systemuser", "businessunitid", ("systemuserid", user_id))
    unit = unit or _first_id(request, "businessunit", "businessunitid") or str(uuid.uuid5(_ORG_NS, "unit"))
    return {
        "@odata.context": f"{base}/api/data/{version}/$metadata#Microsoft.Dynamics.CRM.WhoAmIResponse",
        "BusinessUnitId": unit,
        "UserId": user_id,
        "OrganizationId": org,
    }
