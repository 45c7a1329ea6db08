"""The ``$batch`` endpoint: runs each part through the same app, changesets in one transaction.

Every part is dispatched in-process to the app itself, so a request inside a batch behaves exactly like
the same request sent alone (routes, privilege checks, Sales rules, error JSON). The outer caller travels
in the scope (the bearer check and the limiter trust it: a ``$batch`` counts as one request). A changeset
shares one unit of work: the data routes find it in ``scope["l2c.uow"]`` and neither commit nor roll back;
this module commits when every part succeeded and rolls everything back at the first failure, which then
is the changeset's only response part, as in Dataverse.

Without ``Prefer: odata.continue-on-error`` processing stops at the first failed part and the batch
answers ``400`` (still multipart, holding the responses so far); with it, every part runs and the batch
answers ``200``.
"""

from __future__ import annotations

import asyncio
import json
from contextlib import AbstractContextManager
from typing import Any
from urllib.parse import unquote

from anyio import to_thread
from fastapi import APIRouter, Request
from starlette.responses import Response

from lead2cash.crm.api.common import (
    CALLER_SCOPE_KEY,
    REFERENCES_SCOPE_KEY,
    UOW_SCOPE_KEY,
    caller_of,
    check_version,
    preferences,
    store_of,
)
from lead2cash.crm.odata.batch import (
    BatchRequest,
    BatchResponse,
    ChangeSet,
    ResponseItem,
    parse_batch,
    resolve_url,
    serialize_batch,
)
from lead2cash.crm.odata.errors import DataverseError
from lead2cash.crm.odata.serialize import ODATA_HEADERS
from lead2cash.crm.store import UnitOfWork

router = APIRouter(tags=["batch"])
_DROPPED_HEADERS = frozenset({"content-length", "transfer-encoding", "connection"})
_HEADER_NAMES = {
    name.lower(): name for name in ("OData-Version", "OData-EntityId", "ETag", "Preference-Applied", "WWW-Authenticate")
}


@router.post("/api/data/{version}/$batch")
async def batch(version: str, request: Request) -> Response:
    check_version(version)
    items = parse_batch(request.headers.get("content-type"), await request.body())
    keep_going = preferences(request).continue_on_error
    runner = _BatchRunner(request, f"/api/data/{version}/")
    responses: list[ResponseItem] = []
    failed = False
    for item in items:
        if isinstance(item, ChangeSet):
            outcome = await runner.changeset(item)
            responses.append(outcome if not (len(outcome) == 1 and outcome[0].failed) else outcome[0])
            failed = any(r.failed for r in outcome)
        else:
            outcome_one = await runner.single(item, references=runner.references)
            responses.append(outcome_one)
            failed = outcome_one.failed
        if failed and not keep_going:
            break
    content_type, body = serialize_batch(responses)
    headers = dict(ODATA_HEADERS)
    if keep_going:
        headers["Preference-Applied"] = "odata.continue-on-error"
    status = 400 if failed and not keep_going else 200
    return Response(body, status_code=status, media_type=content_type, headers=headers)


class _Rollback(Exception):
    """Aborts a changeset's transaction; carries the failing part's response."""

    def __init__(self, response: BatchResponse):
        self.response = response


class _BatchRunner:
    def __init__(self, request: Request, root_path: str):
        self.request = request
        self.root_path = root_path
        self.caller = caller_of(request)
        self.references: dict[str, str] = {}  # "$n" → entity URL, for the whole batch

    async def changeset(self, changeset: ChangeSet) -> list[BatchResponse]:
        """All parts in one transaction; the failing part's response alone when any fails."""
        manager: AbstractContextManager[UnitOfWork] = store_of(self.request).unit_of_work(self.caller)
        uow = await to_thread.run_sync(manager.__enter__)
        references = dict(self.references)
        responses: list[BatchResponse] = []
        try:
            for part in changeset.requests:
                response = await self.single(part, uow=uow, references=references)
                if response.failed:
                    raise _Rollback(response)
                responses.append(response)
        except _Rollback as abort:
            await to_thread.run_sync(manager.__exit__, type(abort), abort, abort.__traceback__)
            return [abort.response]
        except BaseException as exc:
            await to_thread.run_sync(manager.__exit__, type(exc), exc, exc.__traceback__)
            raise
        await to_thread.run_sync(manager.__exit__, None, None, None)
        self.references.update(references)
        return responses

    async def single(
        self, part: BatchRequest, *, references: dict[str, str], uow: UnitOfWork | None = None
    ) -> BatchResponse:
        """Run one part through the app; errors become that part's error response."""
        try:
            path, query = resolve_url(part.url, self.root_path, references)
        except DataverseError as exc:
            return _error_response(exc, part.content_id)
        body = _substitute_references(part, references)
        status, headers, content = await self._dispatch(part, path, query, body, uow, references)
        if part.content_id is not None and status < 400:
            location = _header(headers, "odata-entityid") or _header(headers, "location")
            if location:
                references[f"${part.content_id}"] = location
        if part.method == "POST" and not _header(headers, "location"):
            entity_id = _header(headers, "odata-entityid")
            if entity_id:
                headers.append(("Location", entity_id))
        return BatchResponse(status, headers, content, part.content_id)

    async def _dispatch(
        self,
        part: BatchRequest,
        path: str,
        query: str,
        body: bytes,
        uow: UnitOfWork | None,
        references: dict[str, str],
    ) -> tuple[int, list[tuple[str, str]], bytes]:
        outer = self.request.scope
        headers = [
            (name.lower().encode("latin-1"), value.encode("latin-1", "replace"))
            for name, value in part.headers
            if name.lower() not in ("host", "content-length", "authorization")
        ]
        host = self.request.headers.get("host")
        if host:
            headers.append((b"host", host.encode("latin-1")))
        headers.append((b"content-length", str(len(body)).encode()))
        scope: dict[str, Any] = {
            "type": "http",
            "asgi": outer.get("asgi", {"version": "3.0"}),
            "http_version": "1.1",
            "method": part.method,
            "scheme": outer.get("scheme", "http"),
            "server": outer.get("server"),
            "client": outer.get("client"),
            "root_path": outer.get("root_path", ""),
            "path": unquote(path),
            "raw_path": path.encode("latin-1", "replace"),
            "query_string": query.encode("latin-1", "replace"),
            "headers": headers,
            "state": {},
            CALLER_SCOPE_KEY: self.caller,
            REFERENCES_SCOPE_KEY: references,
        }
        if uow is not None:
            scope[UOW_SCOPE_KEY] = uow
        sent = False
        status = 500
        response_headers: list[tuple[str, str]] = []
        chunks: list[bytes] = []

        async def receive() -> dict[str, Any]:
            nonlocal sent
            if not sent:
                sent = True
                return {"type": "http.request", "body": body, "more_body": False}
            await asyncio.Event().wait()  # never disconnects while the part runs
            raise RuntimeError("unreachable")

        async def send(message: dict[str, Any]) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = int(message["status"])
                for name, value in message.get("headers", []):
                    text = name.decode("latin-1")
                    if text.lower() not in _DROPPED_HEADERS:
                        response_headers.append((_canonical(text), value.decode("latin-1")))
            elif message["type"] == "http.response.body":
                chunks.append(message.get("body", b""))

        await self.request.app(scope, receive, send)
        return status, response_headers, b"".join(chunks)


def _canonical(name: str) -> str:
    """Header names as Dataverse writes them (ASGI hands them over in lower case)."""
    lower = name.lower()
    return _HEADER_NAMES.get(lower) or "-".join(word.capitalize() for word in lower.split("-"))


def _header(headers: list[tuple[str, str]], name: str) -> str | None:
    return next((value for key, value in headers if key.lower() == name), None)


def _error_response(exc: DataverseError, content_id: str | None) -> BatchResponse:
    body = json.dumps(exc.body()).encode()
    headers = [("Content-Type", "application/json; odata.metadata=minimal"), ("OData-Version", "4.0")]
    return BatchResponse(exc.status, headers, body, content_id)


def _substitute_references(part: BatchRequest, references: dict[str, str]) -> bytes:
    """``"$n"`` as an ``@odata.bind``/``@odata.id`` value → the URL of the entity part ``n`` created."""
    if not references or b'"$' not in part.body:
        return part.body
    try:
        document = json.loads(part.body)
    except ValueError:
        return part.body  # the route reports the invalid JSON
    if not isinstance(document, dict):
        return part.body
    changed = False
    for key, value in document.items():
        is_reference = key.endswith("@odata.bind") or key == "@odata.id"
        if is_reference and isinstance(value, str) and value in references:
            document[key] = references[value]
            changed = True
    return json.dumps(document).encode() if changed else part.body
