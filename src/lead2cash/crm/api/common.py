"""Request plumbing shared by the Web API routers: the unit of work, the caller, base URLs, `Prefer`.

The unit of work is taken from ``request.scope["l2c.uow"]`` when a caller (``$batch`` for changeset
members) already holds one; then the route neither commits nor rolls back, the owner does. Otherwise the
route opens its own transaction and commits when the handler returns normally. Either way the work the
request's writes deferred (see ``UnitOfWork.defer``) runs when the handler's block ends.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from starlette.requests import Request

from lead2cash.crm.odata import errors
from lead2cash.crm.odata.serialize import Preferences, parse_prefer
from lead2cash.crm.store import Store, UnitOfWork

UOW_SCOPE_KEY = "l2c.uow"
CALLER_SCOPE_KEY = "l2c.caller"
REFERENCES_SCOPE_KEY = "l2c.references"  # $batch: Content-ID "$n" → entity URL
VERSIONS = ("v9.0", "v9.1", "v9.2")


def store_of(request: Request) -> Store:
    return request.app.state.l2c_store


def caller_of(request: Request) -> Any:
    return getattr(request.state, "caller", None) or request.scope.get(CALLER_SCOPE_KEY)


@contextmanager
def unit_of_work(request: Request, *, readonly: bool = False) -> Iterator[UnitOfWork]:
    shared = request.scope.get(UOW_SCOPE_KEY)
    if shared is not None:
        yield shared
        shared.flush()  # this request's deferred work (header totals) is done before the next part runs
        return
    with store_of(request).unit_of_work(caller_of(request), readonly=readonly) as uow:
        yield uow


def check_version(version: str) -> None:
    if version not in VERSIONS:
        raise errors.DataverseError(404, errors.QUERY_SYNTAX, f"Resource not found for the segment '{version}'.")


def service_root(request: Request, version: str = "v9.2") -> str:
    """``https://host:port/api/data/v9.2/`` as the client addressed us (absolute links point back here)."""
    return f"{str(request.base_url).rstrip('/')}/api/data/{version}/"


def preferences(request: Request) -> Preferences:
    return parse_prefer(request.headers.getlist("prefer"))


async def json_body(request: Request) -> Any:
    import json

    raw = await request.body()
    if not raw.strip():
        return {}
    try:
        return json.loads(raw)
    except ValueError as exc:
        raise errors.bad_request(f"The request body is not valid JSON: {exc}", "0x80048d19") from None


async def json_object(request: Request) -> dict[str, Any]:
    body = await json_body(request)
    if not isinstance(body, dict):
        raise errors.bad_request("The request body must be a JSON object.", "0x80048d19")
    return body
