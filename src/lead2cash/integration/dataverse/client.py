"""``DataverseClient``: the integration's only way to the CRM — records, queries, pages, actions.

The API is asynchronous (httpx's ``AsyncClient`` with a bounded number of requests in flight), because the
work that needs speed — bulk writes of a full synchronization, reading many pages — is many independent
HTTP requests, and an event loop runs those concurrently without a thread per request.
:mod:`~lead2cash.integration.dataverse.sync` wraps it for the synchronous engine code.

Reads stream: :meth:`DataverseClient.pages` yields one page at a time (``Prefer: odata.maxpagesize``,
following ``@odata.nextLink`` verbatim), so memory stays bounded whatever the table size. Writes never
duplicate on retry: :meth:`DataverseClient.create` sends the client's own GUID as a create-only upsert
(``PATCH /<set>(<id>)`` with ``If-None-Match: *``), so a retry after a lost answer finds the row and is
reported as applied. Specialised parts hang off the client: :attr:`metadata`, :attr:`changes` (change
tracking), :meth:`batch` and the bulk actions (:mod:`.bulk`).
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import httpx

from lead2cash.integration.dataverse import bulk, odata
from lead2cash.integration.dataverse.auth import TokenProvider
from lead2cash.integration.dataverse.batch import Batch, BatchResult, execute_batch
from lead2cash.integration.dataverse.changes import ChangeTracking
from lead2cash.integration.dataverse.errors import NotFound, PreconditionFailed
from lead2cash.integration.dataverse.metadata import Metadata
from lead2cash.integration.dataverse.odata import Key
from lead2cash.integration.dataverse.settings import DataverseSettings
from lead2cash.integration.dataverse.transport import Transport

Fields = Sequence[str] | str | None


@dataclass(frozen=True)
class Page:
    """One page of a collection read: its rows and the link to the next page (None on the last)."""

    rows: list[dict[str, Any]]
    next_link: str | None
    count: int | None = None


@dataclass(frozen=True)
class WhoAmI:
    user_id: str
    business_unit_id: str
    organization_id: str


class DataverseClient:
    """A Dataverse Web API client for one org (use as ``async with DataverseClient(settings) as dv``)."""

    def __init__(
        self,
        settings: DataverseSettings,
        *,
        tokens: TokenProvider | None = None,
        transport: Transport | None = None,
    ):
        self.settings = settings
        self.transport = transport or Transport(settings, tokens or settings.token_provider())
        self.metadata = Metadata(self.transport)
        self.changes = ChangeTracking(self.transport, settings.page_size)

    async def __aenter__(self) -> DataverseClient:
        return self

    async def __aexit__(self, *_exc: object) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        await self.transport.aclose()

    # ---- functions and actions ----

    async def who_am_i(self) -> WhoAmI:
        body = (await self.transport.request("GET", "WhoAmI")).json()
        return WhoAmI(str(body["UserId"]), str(body["BusinessUnitId"]), str(body["OrganizationId"]))

    async def call_function(self, name: str, params: Mapping[str, Any] | None = None) -> Any:
        """An unbound function (``GET /<name>(p=@p)?@p=…``); parameters are sent as aliases."""
        path = name
        if params:
            names = ",".join(f"{k}=@{k}" for k in params)
            values = {f"@{k}": odata.literal(v) for k, v in params.items()}
            path = f"{name}({names}){odata.query_string(extra=values)}"
        return _json_or_none(await self.transport.request("GET", path))

    async def call_action(
        self,
        name: str,
        params: Mapping[str, Any] | None = None,
        *,
        entity_set: str | None = None,
        key: Key | None = None,
        idempotent: bool = False,
    ) -> Any:
        """An action: unbound (``POST /<name>``), bound to a collection (``entity_set``) or a row (+ ``key``).

        Actions are not repeated after an unknown outcome unless ``idempotent`` says they are safe to repeat;
        refusals before they ran (429, 503) are always retried.
        """
        prefix = ""
        if entity_set:
            prefix = (odata.entity_path(entity_set, key) if key is not None else entity_set) + "/"
        qualified = name if "." in name or not prefix else f"Microsoft.Dynamics.CRM.{name}"
        response = await self.transport.request(
            "POST", prefix + qualified, json=dict(params or {}), idempotent=idempotent
        )
        return _json_or_none(response)

    # ---- reads ----

    async def get(
        self,
        entity_set: str,
        key: Key,
        *,
        select: Fields = None,
        expand: Fields = None,
        annotations: str | None = None,
    ) -> dict[str, Any]:
        """One row by GUID or alternate key; :class:`NotFound` when it does not exist."""
        path = odata.entity_path(entity_set, key) + odata.query_string(select=select, expand=expand)
        response = await self.transport.request("GET", path, headers=odata.prefer(annotations=annotations))
        return response.json()

    async def find(self, entity_set: str, key: Key, **options: Any) -> dict[str, Any] | None:
        """Like :meth:`get`, but ``None`` when the row does not exist."""
        try:
            return await self.get(entity_set, key, **options)
        except NotFound:
            return None

    async def pages(
        self,
        entity_set: str,
        *,
        select: Fields = None,
        filter: str | None = None,
        orderby: Fields = None,
        expand: Fields = None,
        count: bool = False,
        page_size: int | None = None,
        annotations: str | None = None,
    ) -> AsyncIterator[Page]:
        """Every matching row, one page per request, following ``@odata.nextLink`` until the last page."""
        size = page_size or self.settings.page_size
        headers = odata.prefer(max_page_size=size, annotations=annotations)
        link: str | None = entity_set + odata.query_string(
            select=select, filter=filter, orderby=orderby, expand=expand, count=count
        )
        while link is not None:
            body = (await self.transport.request("GET", link, headers=headers)).json()
            link = body.get("@odata.nextLink")
            yield Page(list(body.get("value") or []), link, body.get("@odata.count"))

    async def rows(self, entity_set: str, **options: Any) -> AsyncIterator[dict[str, Any]]:
        """The rows of :meth:`pages`, one by one (still fetched a page at a time)."""
        async for page in self.pages(entity_set, **options):
            for row in page.rows:
                yield row

    async def query(
        self,
        entity_set: str,
        *,
        select: Fields = None,
        filter: str | None = None,
        orderby: Fields = None,
        expand: Fields = None,
        top: int | None = None,
    ) -> list[dict[str, Any]]:
        """A small read in one request (``$top`` caps it; without it, at most one page)."""
        path = entity_set + odata.query_string(select=select, filter=filter, orderby=orderby, expand=expand, top=top)
        headers = {} if top is not None else odata.prefer(max_page_size=self.settings.page_size)
        return list((await self.transport.request("GET", path, headers=headers)).json().get("value") or [])

    # ---- writes ----

    async def create(self, entity_set: str, record: Mapping[str, Any], *, id: str | uuid.UUID | None = None) -> str:
        """Create a row with a client-chosen GUID (generated when not given) and return that GUID.

        Sent as ``PATCH /<set>(<id>)`` with ``If-None-Match: *``: it can only create. If the answer of an
        attempt is lost and the retry finds the row, the create is reported as done. A row that already
        existed before this call raises :class:`PreconditionFailed` (``already_exists``).
        """
        row_id = str(id or uuid.uuid4()).lower()
        return await self._create_only(entity_set, row_id, record)

    async def create_by_key(self, entity_set: str, key: Mapping[str, Any], record: Mapping[str, Any]) -> str:
        """Create a row identified by an alternate key (create-only, like :meth:`create`); returns its GUID."""
        return await self._create_only(entity_set, key, record)

    async def _create_only(self, entity_set: str, key: Key, record: Mapping[str, Any]) -> str:
        path = odata.entity_path(entity_set, key)
        try:
            response = await self.transport.request("PATCH", path, json=dict(record), headers={"If-None-Match": "*"})
        except PreconditionFailed as exc:
            if not (exc.already_exists and exc.after_uncertain_attempt):
                raise
            # the attempt whose answer was lost created the row
            if isinstance(key, Mapping):
                table = await self.metadata.table(entity_set)
                row = await self.get(entity_set, key, select=[table.primary_id_attribute])
                return str(row[table.primary_id_attribute])
            return str(key).lower()
        found = odata.id_from_entity_url(response.headers.get("OData-EntityId"))
        return found or ("" if isinstance(key, Mapping) else str(key).lower())

    async def update(self, entity_set: str, key: Key, changes: Mapping[str, Any], *, etag: str | None = None) -> None:
        """Change an existing row (``If-Match: *``, or the given ETag for optimistic concurrency).

        Raises :class:`NotFound` if the row is gone, :class:`PreconditionFailed` if ``etag`` is stale.
        """
        headers = {"If-Match": etag or "*"}
        await self.transport.request("PATCH", odata.entity_path(entity_set, key), json=dict(changes), headers=headers)

    async def upsert(self, entity_set: str, key: Key, record: Mapping[str, Any]) -> str | None:
        """Create or update the row at ``key`` (plain ``PATCH``); returns its GUID when the org says it."""
        response = await self.transport.request("PATCH", odata.entity_path(entity_set, key), json=dict(record))
        return odata.id_from_entity_url(response.headers.get("OData-EntityId"))

    async def delete(self, entity_set: str, key: Key, *, etag: str | None = None, missing_ok: bool = False) -> bool:
        """Delete a row; ``False`` if it was already gone and ``missing_ok``. A retry that finds the row
        gone after a lost answer counts as deleted."""
        headers = {"If-Match": etag} if etag else {}
        try:
            await self.transport.request("DELETE", odata.entity_path(entity_set, key), headers=headers)
        except NotFound as exc:
            if exc.after_uncertain_attempt:
                return True
            if missing_ok:
                return False
            raise
        return True

    # ---- bulk and batch ----

    async def create_multiple(self, entity_set: str, records: Sequence[Mapping[str, Any]], **options: Any) -> list[str]:
        """``CreateMultiple`` in chunks; each record gets a client GUID, returned in order (see :mod:`.bulk`)."""
        return await bulk.create_multiple(self.transport, self.metadata, entity_set, records, **self._chunking(options))

    async def update_multiple(self, entity_set: str, records: Sequence[Mapping[str, Any]], **options: Any) -> None:
        """``UpdateMultiple`` in chunks; each record carries its primary key or ``@odata.id``."""
        await bulk.update_multiple(self.transport, self.metadata, entity_set, records, **self._chunking(options))

    async def upsert_multiple(self, entity_set: str, records: Sequence[Mapping[str, Any]], **options: Any) -> None:
        """``UpsertMultiple`` in chunks; each record carries its primary key or alternate key ``@odata.id``."""
        await bulk.upsert_multiple(self.transport, self.metadata, entity_set, records, **self._chunking(options))

    def _chunking(self, options: dict[str, Any]) -> dict[str, Any]:
        options.setdefault("chunk_size", self.settings.bulk_chunk_size)
        return options

    def batch(self) -> Batch:
        """A new ``$batch`` to fill (reads and changesets) and pass to :meth:`execute`."""
        return Batch(self.transport.service_root)

    async def execute(self, batch: Batch, *, continue_on_error: bool = False) -> BatchResult:
        """Send a ``$batch``; the result holds one response per request, in order."""
        return await execute_batch(self.transport, batch, continue_on_error=continue_on_error)


def _json_or_none(response: httpx.Response) -> Any:
    if response.status_code == 204 or not response.content:
        return None
    return response.json()
