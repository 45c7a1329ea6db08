"""The coupled-data-synchronization-errors list pages by key: every line exactly once, newest change first."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

from lead2cash.db import transaction
from lead2cash.integration.coupling_model import Coupling
from lead2cash.integration.manual import sync_errors


def test_error_pages_cover_every_skipped_coupling_once_in_order(erp_db):
    start = datetime(2026, 1, 1, tzinfo=UTC)
    with transaction(erp_db.sessions) as session:
        for n in range(7):
            session.add(
                Coupling(
                    erp_table="customer",
                    erp_id=uuid.uuid4(),
                    crm_entity="account",
                    crm_id=uuid.uuid4(),
                    skipped=True,
                    modified_at=start + timedelta(minutes=n // 2),
                )
            )  # ties on purpose
        session.add(Coupling(erp_table="customer", erp_id=uuid.uuid4(), crm_entity="account", crm_id=uuid.uuid4()))
    seen, cursor = [], None
    while True:
        with transaction(erp_db.sessions) as session:
            page = sync_errors.list_errors(session, limit=3, after=cursor)
        assert page["total"] == 7
        seen.extend(line["coupling_id"] for line in page["lines"])
        cursor = page["next"]
        if cursor is None:
            break
    assert len(seen) == len(set(seen)) == 7  # the healthy coupling is not listed; no line twice
    with transaction(erp_db.sessions) as session:
        stamps = {c.id: (c.modified_at, c.id) for c in session.query(Coupling)}
    assert [stamps[i] for i in seen] == sorted((stamps[i] for i in seen), reverse=True)
