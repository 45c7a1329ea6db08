"""Archived versions of quotes and orders (Business Central 'Sales Header Archive').

Each archiving stores the whole header and its lines as they are, under the next version no. of that
document (per document type, no. and occurrence), and emits ``sales_<quote|order>.archived``. Quotes are
archived when they become orders or are revised; orders each time they are posted (when the sales setup
says 'archive orders') and before a fully invoiced order is deleted.
"""

from __future__ import annotations

import uuid
from datetime import date, datetime
from decimal import Decimal
from enum import Enum
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from lead2cash.erp.model import SalesHeader, SalesHeaderArchive
from lead2cash.erp.model.documents import SalesDocumentType
from lead2cash.erp.services.ledgers import document_event
from lead2cash.sqltypes import utcnow

_SKIP = {"row_version", "created_at", "modified_at"}


def _json(value: Any) -> Any:
    if isinstance(value, Enum):
        return value.value
    if isinstance(value, Decimal | uuid.UUID):
        return str(value)
    if isinstance(value, date | datetime):
        return value.isoformat()
    return value


def snapshot(obj) -> dict[str, Any]:
    return {c.key: _json(getattr(obj, c.key)) for c in obj.__table__.c if c.key not in _SKIP}


def archive_document(session: Session, header: SalesHeader, *, reason: str, user: str = "") -> SalesHeaderArchive:
    """Store the next version of ``header`` and its lines; returns the archive record."""
    header.no_of_archived_versions = (header.no_of_archived_versions or 0) + 1
    version = SalesHeaderArchive(
        document_type=header.document_type,
        no=header.no,
        doc_no_occurrence=header.doc_no_occurrence,
        version_no=header.no_of_archived_versions,
        reason=reason[:30],
        archived_at=utcnow(),
        archived_by=user[:50],
        sell_to_customer_no=header.sell_to_customer_no,
        your_reference=header.your_reference,
        status=str(header.status),
        amount=header.amount,
        amount_including_vat=header.amount_including_vat,
        shipment_date=header.shipment_date,
        last_shipment_date=header.last_shipment_date,
        header=snapshot(header),
        lines=[snapshot(line) for line in header.lines],
    )
    session.add(version)
    document_event(session, header, "archived", version_no=version.version_no, reason=version.reason)
    return version


def versions(session: Session, document_type: SalesDocumentType, no: str) -> list[SalesHeaderArchive]:
    stmt = (
        select(SalesHeaderArchive)
        .where(SalesHeaderArchive.document_type == document_type, SalesHeaderArchive.no == no.upper())
        .order_by(SalesHeaderArchive.doc_no_occurrence, SalesHeaderArchive.version_no)
    )
    return list(session.scalars(stmt))
