"""One-off background jobs of the manual operations (reference §8.2): synchronize chosen records.

A manual synchronization (sync after coupling, synchronize now, create in CRM / in the ERP, restore) is
queued as a job naming the mapping, the direction and the records, so the page or command returns at once
and the work survives a restart. Ids are chunked so no job carries more than ``CHUNK`` of them; the jobs
of one mapping run one at a time (serial key = mapping name), never alongside its recurring run.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable

from sqlalchemy.orm import Session

from lead2cash.integration.couplings import chunks
from lead2cash.integration.mapping.enums import Direction
from lead2cash.integration.mapping.model import TableMapping
from lead2cash.jobs import JobSpec, store

SYNC_RECORDS = "integration.sync_records"
CHUNK = 400


def schedule_sync(
    session: Session,
    mapping: TableMapping,
    direction: Direction,
    *,
    erp_ids: Iterable[uuid.UUID] = (),
    crm_ids: Iterable[uuid.UUID] = (),
    only_coupled: bool = True,
) -> int | None:
    """Queue the synchronization of these records in ``direction``; returns the first job's id (None: nothing).

    ``only_coupled=False`` lets the engine create and couple records that have no counterpart yet (the
    create operations); otherwise uncoupled records are left alone.
    """
    first = None
    for key, ids in (("erp_ids", list(erp_ids)), ("crm_ids", list(crm_ids))):
        for page in chunks(dict.fromkeys(ids), CHUNK):
            payload = {
                "mapping": mapping.name,
                "direction": direction.value,
                key: [str(i) for i in page],
                "only_coupled": only_coupled,
            }
            job_id, _ = store.enqueue(
                session, JobSpec(SYNC_RECORDS, payload, serial_key=mapping.name, max_attempts=2, rerun_delay_s=30)
            )
            first = first or job_id
    return first
