"""Entry numbers for the ledgers, and the document events every posting step writes to the outbox.

Entry numbers are reserved in blocks with one ``UPDATE … RETURNING`` on the ledger's counter row, which
also serializes concurrent posters until commit, so entry numbers grow in commit order like row versions.
"""

from __future__ import annotations

import functools
from typing import Any

from sqlalchemy import update
from sqlalchemy.orm import Session

from lead2cash.erp import versioning
from lead2cash.erp.model import EntryNoCounter, SalesHeader

_COUNTER = EntryNoCounter.__table__


def reserve_entry_nos(session: Session, table: str, count: int) -> int:
    """Reserve ``count`` consecutive entry nos. of ledger ``table``; returns the first."""
    top = session.execute(
        update(_COUNTER)
        .where(_COUNTER.c.table_name == table)
        .values(last_entry_no=_COUNTER.c.last_entry_no + count)
        .returning(_COUNTER.c.last_entry_no)
    ).scalar_one()
    return top - count + 1


def document_event(session: Session, header: SalesHeader, action: str, **payload: Any) -> None:
    """Emit ``sales_<quote|order>.<action>`` for ``header`` with the keys a consumer needs to find it."""
    body = {
        "document_type": str(header.document_type),
        "no": header.no,
        "doc_no_occurrence": header.doc_no_occurrence,
        "sell_to_customer_no": header.sell_to_customer_no,
        "your_reference": header.your_reference,
        "status": str(header.status),
    }
    body.update({k: _plain(v) for k, v in payload.items()})
    versioning.emit(
        session,
        f"sales_{str(header.document_type).lower()}.{action}",
        table="sales_header",
        record_id=header.id,
        payload=body,
    )


def _plain(value: Any) -> Any:
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if value is None or isinstance(value, bool | int | str):
        return value
    return str(value)


def batched(fn):
    """Run a service call without autoflush: its queries read committed master data, and its own changes go to
    the database in the few explicit flushes it makes (one batched statement per table) instead of one flush
    before every query. Setup lookups (local currency, precisions) are memoized for the call."""

    @functools.wraps(fn)
    def wrapper(session: Session, *args, **kwargs):
        outermost = not session.info.get("erp.batched")
        if outermost:  # setup lookups memoized by ``pricing`` live for one service call, never longer
            session.info.pop("erp.pricing", None)
            session.info["erp.batched"] = True
        try:
            with session.no_autoflush:
                return fn(session, *args, **kwargs)
        finally:
            if outermost:
                session.info.pop("erp.batched", None)
                session.info.pop("erp.pricing", None)

    return wrapper
