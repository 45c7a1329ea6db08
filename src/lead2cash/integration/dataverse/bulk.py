"""Bulk writes: ``CreateMultiple``, ``UpdateMultiple`` and ``UpsertMultiple``, chunked and run concurrently.

One request per chunk (``bulk_chunk_size`` targets; Dataverse recommends 100 to 1,000) instead of one per
row; chunks run in parallel up to the transport's concurrency. Each target carries ``@odata.type`` (from
the table's metadata) and its key, which is what makes the writes safe to repeat:

- ``CreateMultiple`` targets get a client-generated primary key when they have none. A standard table
  applies a chunk all or nothing, so if a retry after a lost answer reports "already exists", the
  chunk's ids are read back and, when every one is there, the chunk counts as applied.
- ``UpdateMultiple`` / ``UpsertMultiple`` set the same values again when repeated.

A chunk that fails does not stop the others; when any failed, :class:`BulkWriteError` lists the failed
chunks (their record positions and errors) so the caller can isolate the bad record — e.g. by writing
that chunk's records one by one.
"""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import anyio

from lead2cash.integration.dataverse import odata
from lead2cash.integration.dataverse.errors import DataverseError, PreconditionFailed
from lead2cash.integration.dataverse.metadata import Metadata, TableInfo
from lead2cash.integration.dataverse.transport import Transport


@dataclass(frozen=True)
class ChunkFailure:
    start: int  # position of the chunk's first record in the caller's sequence
    stop: int
    error: DataverseError


class BulkWriteError(DataverseError):
    """Some chunks failed (the others were applied); ``failures`` says which records and why."""

    def __init__(self, action: str, entity_set: str, failures: list[ChunkFailure], total: int):
        first = failures[0].error
        failed = sum(f.stop - f.start for f in failures)
        super().__init__(
            first.status,
            first.code,
            f"{action} on {entity_set}: {failed} of {total} records failed "
            f"({len(failures)} chunk(s)); first error: {first.message}",
        )
        self.failures = failures

    @property
    def failed_positions(self) -> list[int]:
        return [i for f in self.failures for i in range(f.start, f.stop)]


_IDS_PER_QUERY = 300


def _action(entity_set: str, name: str) -> str:
    return f"{entity_set}/Microsoft.Dynamics.CRM.{name}"


def _targets(table: TableInfo, records: Sequence[Mapping[str, Any]], *, need_key: bool) -> list[dict[str, Any]]:
    targets = []
    for index, record in enumerate(records):
        target = {**record, "@odata.type": table.odata_type}
        if need_key and not target.get(table.primary_id_attribute) and "@odata.id" not in target:
            raise ValueError(f"record {index} needs '{table.primary_id_attribute}' or '@odata.id' (alternate key)")
        targets.append(target)
    return targets


async def _run_chunks(
    action: str,
    entity_set: str,
    targets: list[dict[str, Any]],
    chunk_size: int,
    send: Callable[[list[dict[str, Any]]], Awaitable[None]],
    concurrency: int | None,
) -> None:
    failures: list[ChunkFailure] = []
    limiter = anyio.CapacityLimiter(concurrency or 1_000_000)

    async def run(start: int) -> None:
        async with limiter:
            try:
                await send(targets[start : start + chunk_size])
            except DataverseError as exc:
                failures.append(ChunkFailure(start, min(start + chunk_size, len(targets)), exc))

    async with anyio.create_task_group() as group:
        for start in range(0, len(targets), chunk_size):
            group.start_soon(run, start)
    if failures:
        failures.sort(key=lambda f: f.start)
        raise BulkWriteError(action, entity_set, failures, len(targets))


async def create_multiple(
    transport: Transport,
    metadata: Metadata,
    entity_set: str,
    records: Sequence[Mapping[str, Any]],
    *,
    chunk_size: int,
    concurrency: int | None = None,
) -> list[str]:
    """Create every record; returns their GUIDs in order (given ones kept, missing ones generated)."""
    table = await metadata.table(entity_set)
    pk = table.primary_id_attribute
    targets = _targets(table, records, need_key=False)
    for target in targets:
        target[pk] = str(target.get(pk) or uuid.uuid4()).lower()

    async def send(chunk: list[dict[str, Any]]) -> None:
        try:
            await transport.request(
                "POST", _action(table.entity_set_name, "CreateMultiple"), json={"Targets": chunk}, idempotent=True
            )
        except PreconditionFailed as exc:
            if not (exc.already_exists and exc.after_uncertain_attempt and await _all_exist(transport, table, chunk)):
                raise

    await _run_chunks("CreateMultiple", entity_set, targets, chunk_size, send, concurrency)
    return [t[pk] for t in targets]


async def _all_exist(transport: Transport, table: TableInfo, chunk: list[dict[str, Any]]) -> bool:
    pk = table.primary_id_attribute
    wanted = sorted({t[pk] for t in chunk})
    found: set[str] = set()
    for start in range(0, len(wanted), _IDS_PER_QUERY):  # keep each URL well under Dataverse's 32 KB
        ids = wanted[start : start + _IDS_PER_QUERY]
        path = table.entity_set_name + odata.query_string(select=[pk], filter=odata.filter_in(pk, ids))
        body = (await transport.request("GET", path, headers=odata.prefer(max_page_size=5000))).json()
        found |= {str(r.get(pk)).lower() for r in body.get("value") or []}
    return found.issuperset(wanted)


async def update_multiple(
    transport: Transport,
    metadata: Metadata,
    entity_set: str,
    records: Sequence[Mapping[str, Any]],
    *,
    chunk_size: int,
    concurrency: int | None = None,
) -> None:
    """Update existing rows (each record has its primary key or ``@odata.id``); all-or-nothing per chunk."""
    await _keyed_multiple("UpdateMultiple", transport, metadata, entity_set, records, chunk_size, concurrency)


async def upsert_multiple(
    transport: Transport,
    metadata: Metadata,
    entity_set: str,
    records: Sequence[Mapping[str, Any]],
    *,
    chunk_size: int,
    concurrency: int | None = None,
) -> None:
    """Create or update rows by primary key or alternate key (``"@odata.id": "accounts(accountnumber='A')"``)."""
    await _keyed_multiple("UpsertMultiple", transport, metadata, entity_set, records, chunk_size, concurrency)


async def _keyed_multiple(
    action: str,
    transport: Transport,
    metadata: Metadata,
    entity_set: str,
    records: Sequence[Mapping[str, Any]],
    chunk_size: int,
    concurrency: int | None,
) -> None:
    """Send a bulk action whose targets all carry their key, so repeating a chunk is safe (idempotent)."""
    table = await metadata.table(entity_set)
    targets = _targets(table, records, need_key=True)

    async def send(chunk: list[dict[str, Any]]) -> None:
        await transport.request(
            "POST", _action(table.entity_set_name, action), json={"Targets": chunk}, idempotent=True
        )

    await _run_chunks(action, entity_set, targets, chunk_size, send, concurrency)
