"""Change tracking: ``Prefer: odata.track-changes`` → ``@odata.deltaLink``; ``$deltatoken`` → changes.

A delta token is ``<versionnumber>!<UTC timestamp>`` like Dataverse's. The initial request returns every
row (paged as usual) and, on its last page, a delta link holding the org version read in the same
snapshot as the first page; rows changed while the client pages are therefore reported again next time
(at-least-once, never lost). A delta request returns rows with a newer version, then ``$deletedEntity``
entries from the tombstones, both bounded by the version current at its first page, and a new delta link
at that bound. Tokens older than the org's expiry (``expirechangetrackingindays``, default 7) are refused.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import urlencode

import sqlalchemy as sa
from starlette.requests import Request
from starlette.responses import Response

from lead2cash.crm.api.common import service_root
from lead2cash.crm.metadata import EntityDef
from lead2cash.crm.odata import errors, query
from lead2cash.crm.odata.serialize import ODataResponse, Preferences
from lead2cash.crm.store import UnitOfWork, tombstones

NOT_ENABLED = "0x80072491"
EXPIRED = "0x80044352"  # ExpiredVersionStamp
_TOKEN_TIME = "%m/%d/%Y %H:%M:%S"


def make_token(version: int, when: datetime) -> str:
    return f"{version}!{when.astimezone(UTC).strftime(_TOKEN_TIME)}"


def parse_token(token: str) -> tuple[int, datetime]:
    version, _, stamp = token.partition("!")
    try:
        return int(version), datetime.strptime(stamp, _TOKEN_TIME).replace(tzinfo=UTC)
    except ValueError:
        raise errors.bad_request(f"The delta token '{token}' is invalid.", errors.QUERY_SYNTAX) from None


def expiry(uow: UnitOfWork) -> timedelta:
    org = uow.table("organization")
    days = uow.conn.execute(sa.select(org.c.expirechangetrackingindays).limit(1)).scalar()
    return timedelta(days=days) if days else uow.store.change_tracking_expiry


def _delta_link(request: Request, version: str, entity: EntityDef, token: str) -> str:
    items = [(k, v) for k, v in request.query_params.multi_items() if k in ("$select",)]
    items.append(("$deltatoken", token))
    return f"{service_root(request, version)}{entity.entity_set_name}?{urlencode(items, safe='$,')}"


def _next_link(request: Request, version: str, entity: EntityDef, page: dict[str, Any]) -> str:
    items = [(k, v) for k, v in request.query_params.multi_items() if k != "$skiptoken"]
    items.append(("$skiptoken", query.encode_token(page)))
    return f"{service_root(request, version)}{entity.entity_set_name}?{urlencode(items, safe='$,!')}"


def tracked_collection(
    uow: UnitOfWork, request: Request, version: str, entity: EntityDef, params: Any, prefs: Preferences
) -> Response:
    if not entity.change_tracking:
        raise errors.bad_request(f"Change tracking is not enabled for the entity {entity.logical_name}.", NOT_ENABLED)
    for option in ("$filter", "$orderby", "$expand", "$top"):
        if params.get(option):
            raise errors.bad_request(
                f"The '{option}' query parameter isn't supported when Change Tracking is enabled.", errors.QUERY_SYNTAX
            )
    opts = query.parse_options(uow.registry, entity, {k: v for k, v in params.items() if k == "$select"})
    page = query.decode_token(params["$skiptoken"]) if params.get("$skiptoken") else {}
    size = int(page.get("n") or min(prefs.max_page_size or query.MAX_PAGE_SIZE, query.MAX_PAGE_SIZE))
    root = service_root(request, version)
    sel = f"({opts.select_text})" if opts.select_text else ""
    headers = {"Preference-Applied": "odata.track-changes"}
    if "$deltatoken" not in params:
        bound = page.get("v", uow.current_version())
        rows, last = query.fetch(uow, opts, page_size=size, after=page.get("k"))
        body: dict[str, Any] = {"@odata.context": f"{root}$metadata#{entity.entity_set_name}{sel}"}
        body["value"] = query.render(uow, opts, rows, prefs)
        if last is not None:
            body["@odata.nextLink"] = _next_link(request, version, entity, {"k": last, "n": size, "v": bound})
        else:
            body["@odata.deltaLink"] = _delta_link(request, version, entity, make_token(bound, uow.now))
        return ODataResponse(body, headers=headers)

    since, issued = parse_token(params["$deltatoken"])
    if issued < uow.now - expiry(uow):
        raise errors.bad_request(
            "Version stamp associated with the client has expired. Please perform a full sync.", EXPIRED
        )
    bound = int(page.get("v", uow.current_version()))
    body = {"@odata.context": f"{root}$metadata#{entity.entity_set_name}{sel}/$delta"}
    table = uow.table(entity)
    out: list[dict[str, Any]] = []
    last: Any = None
    phase = page.get("p", "rows")
    after = page.get("a", since)
    if phase == "rows":
        stmt = (
            sa.select(table)
            .where(table.c.versionnumber > after, table.c.versionnumber <= bound)
            .order_by(table.c.versionnumber)
            .limit(size + 1)
        )
        rows = [dict(r) for r in uow.conn.execute(stmt).mappings()]
        more = len(rows) > size
        rows = rows[:size]
        out = query.render(uow, opts, rows, prefs)
        if more:
            last = {"p": "rows", "a": rows[-1]["versionnumber"]}
        else:
            phase, after = "deleted", since
    if phase == "deleted" and len(out) < size:
        t = tombstones
        stmt = (
            sa.select(t.c.objectid, t.c.versionnumber)
            .where(t.c.entity == entity.logical_name, t.c.versionnumber > after, t.c.versionnumber <= bound)
            .order_by(t.c.versionnumber)
            .limit(size - len(out) + 1)
        )
        gone = uow.conn.execute(stmt).all()
        room = size - len(out)
        context = f"{root}$metadata#{entity.entity_set_name}/$deletedEntity"
        out += [{"@odata.context": context, "id": oid, "reason": "deleted"} for oid, _v in gone[:room]]
        if len(gone) > room:
            last = {"p": "deleted", "a": gone[room - 1][1]}
    elif phase == "deleted":
        last = {"p": "deleted", "a": since}
    body["value"] = out
    if last is not None:
        body["@odata.nextLink"] = _next_link(request, version, entity, {**last, "n": size, "v": bound})
    else:
        body["@odata.deltaLink"] = _delta_link(request, version, entity, make_token(bound, uow.now))
    return ODataResponse(body, headers=headers)
