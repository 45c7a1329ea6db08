"""Row versions, tombstones and the outbox: the bookkeeping incremental readers (the sync) depend on.

Every insert and update takes a version from one counter in the same transaction; a delete leaves a
tombstone; one ``<table>.changed`` event per table and transaction goes to the outbox. All of it commits or
rolls back together with the change.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal

import pytest
from sqlalchemy import func, select
from sqlalchemy.exc import StatementError

from lead2cash.erp import versioning
from lead2cash.erp.errors import ValidationFailed
from lead2cash.erp.model import Customer, Item, Outbox, Salesperson, Tombstone, UnitOfMeasure
from lead2cash.erp.services import records
from lead2cash.erp.services.records import RecordType

CUSTOMERS = RecordType(Customer, "customer_nos")
SALESPEOPLE = RecordType(Salesperson)
UOM = RecordType(UnitOfMeasure)


def counter(erp_db) -> int:
    with erp_db.engine.connect() as conn:
        return versioning.current_version(conn)


def events(erp_db, after: int = 0) -> list[Outbox]:
    with erp_db.sessions() as session:
        return list(session.scalars(select(Outbox).where(Outbox.row_version > after).order_by(Outbox.row_version)))


def test_inserts_and_updates_take_increasing_versions_from_one_counter(erp_db):
    start = counter(erp_db)
    seen = []
    with erp_db.sessions() as session, session.begin():
        sp = records.create(session, SALESPEOPLE, {"code": "JO"})
        customer = records.create(session, CUSTOMERS, {"name": "Adatum", "salesperson_code": "JO"})
        seen += [sp.row_version, customer.row_version]
    with erp_db.sessions() as session, session.begin():
        customer = records.get(session, Customer, customer.no)
        first_modified = customer.modified_at
        records.update(session, customer, {"name": "Adatum Corp"})
        seen.append(customer.row_version)
        assert customer.modified_at >= first_modified and customer.created_at <= customer.modified_at
    with erp_db.sessions() as session, session.begin():
        records.update(session, records.get(session, Salesperson, "JO"), {"name": "John"})
        seen.append(records.get(session, Salesperson, "JO").row_version)
    assert seen == sorted(seen) and len(set(seen)) == len(seen)
    assert seen[0] > start
    assert counter(erp_db) >= seen[-1], "the counter is never behind a version handed out"


def test_an_update_that_changes_nothing_takes_no_version(erp_db):
    with erp_db.sessions() as session, session.begin():
        sp = records.create(session, SALESPEOPLE, {"code": "JO", "name": "John"})
    before = counter(erp_db)
    with erp_db.sessions() as session, session.begin():
        same = records.update(session, records.get(session, Salesperson, "JO"), {"name": "John"})
    assert same.row_version == sp.row_version and counter(erp_db) == before


def test_versions_of_one_transaction_are_distinct_and_contiguous(erp_db):
    with erp_db.sessions() as session, session.begin():
        session.add_all([UnitOfMeasure(code=f"U{i}") for i in range(5)])
    with erp_db.sessions() as session:
        versions = sorted(session.scalars(select(UnitOfMeasure.row_version)))
        assert len(set(versions)) == 5
        assert versions == list(range(versions[0], versions[0] + 5))


def test_delete_leaves_a_tombstone(erp_db):
    with erp_db.sessions() as session, session.begin():
        uom = records.create(session, UOM, {"code": "PCS"})
    with erp_db.sessions() as session, session.begin():
        records.delete(session, records.get(session, UnitOfMeasure, "PCS"))
    with erp_db.sessions() as session:
        stone = session.scalars(select(Tombstone)).one()
    assert (stone.table_name, stone.record_id, stone.record_key) == ("unit_of_measure", uom.id, "PCS")
    assert stone.row_version > uom.row_version
    assert stone.deleted_at.tzinfo is not None and stone.deleted_at.utcoffset().total_seconds() == 0


def test_outbox_gets_changed_events_in_the_same_transaction(erp_db):
    start = counter(erp_db)
    with erp_db.sessions() as session, session.begin():
        records.create(session, SALESPEOPLE, {"code": "A"})
        records.create(session, SALESPEOPLE, {"code": "B"})
        session.add_all([UnitOfMeasure(code="PCS"), UnitOfMeasure(code="BOX")])
        session.flush()
    written = events(erp_db, start)
    assert {e.event_type for e in written} == {"salesperson.changed", "unit_of_measure.changed"}
    # one event per table and flush, covering the versions that flush handed out
    uom = [e for e in written if e.table_name == "unit_of_measure"]
    assert len(uom) == 1 and uom[0].payload["inserted"] == 2
    with erp_db.sessions() as session:
        uom_versions = sorted(session.scalars(select(UnitOfMeasure.row_version)))
    assert [uom[0].payload["from_version"], uom[0].payload["to_version"]] == uom_versions
    people = [e for e in written if e.table_name == "salesperson"]
    assert sum(e.payload["inserted"] for e in people) == 2
    assert all(e.payload["modified"] == 0 and e.payload["deleted"] == 0 for e in written)
    assert all(e.occurred_at.tzinfo is not None for e in written)

    mark = counter(erp_db)
    with erp_db.sessions() as session, session.begin():
        records.delete(session, records.get(session, Salesperson, "A"))
    (deleted,) = events(erp_db, mark)
    assert deleted.event_type == "salesperson.changed" and deleted.payload["deleted"] == 1


def test_emit_writes_business_events_in_the_transaction(erp_db):
    mark = counter(erp_db)
    with erp_db.sessions() as session, session.begin():
        versioning.emit(session, "order.released", table="sales_header", payload={"no": "SO1"})
    (event,) = events(erp_db, mark)
    assert event.event_type == "order.released" and event.payload == {"no": "SO1"}


def test_a_rolled_back_change_leaves_no_version_tombstone_or_event(erp_db):
    with erp_db.sessions() as session, session.begin():
        records.create(session, UOM, {"code": "OLD"})
    before = counter(erp_db)
    outbox_before = len(events(erp_db))
    with pytest.raises(RuntimeError), erp_db.sessions() as session, session.begin():
        records.create(session, SALESPEOPLE, {"code": "JO"})
        records.delete(session, records.get(session, UnitOfMeasure, "OLD"))
        versioning.emit(session, "something.happened")
        session.flush()
        raise RuntimeError("the caller fails after the writes were flushed")
    with erp_db.sessions() as session:
        assert session.scalar(select(func.count()).select_from(Salesperson)) == 0
        assert session.scalar(select(func.count()).select_from(Tombstone)) == 0
        assert records.get(session, UnitOfMeasure, "OLD").code == "OLD"
    assert len(events(erp_db)) == outbox_before
    assert counter(erp_db) == before, "the counter rolled back with the change"


def test_a_refused_record_in_a_unit_of_work_rolls_back_everything_before_it(erp_db):
    before = counter(erp_db)
    with pytest.raises(ValidationFailed), erp_db.sessions() as session, session.begin():
        records.create(session, SALESPEOPLE, {"code": "OK"})
        records.create(session, CUSTOMERS, {"name": "Bad", "salesperson_code": "MISSING"})
    with erp_db.sessions() as session:
        assert session.scalars(select(Salesperson)).all() == []
    assert counter(erp_db) == before and events(erp_db, before) == []


def test_reading_by_watermark_returns_changes_and_deletions(erp_db):
    with erp_db.sessions() as session, session.begin():
        for code in ("A", "B", "C"):
            records.create(session, UOM, {"code": code})
    watermark = counter(erp_db)
    with erp_db.sessions() as session, session.begin():
        records.update(session, records.get(session, UnitOfMeasure, "B"), {"description": "Box"})
        records.delete(session, records.get(session, UnitOfMeasure, "C"))
        records.create(session, UOM, {"code": "D"})
    with erp_db.sessions() as session:
        changed = session.scalars(
            select(UnitOfMeasure.code).where(UnitOfMeasure.row_version > watermark).order_by(UnitOfMeasure.code)
        ).all()
        deleted = session.scalars(select(Tombstone.record_key).where(Tombstone.row_version > watermark)).all()
    assert changed == ["B", "D"] and deleted == ["C"]


def test_decimal_amounts_round_trip_exactly(erp_db):
    values = [
        Decimal("0.00001"),
        Decimal("1000.50"),
        Decimal("123456789012.12345"),
        Decimal("0.1") + Decimal("0.2"),
        Decimal("99999999.99999"),
    ]
    with erp_db.sessions() as session, session.begin():
        for i, value in enumerate(values):
            session.add(Item(no=f"I{i}", unit_price=value, unit_cost=-value))
    with erp_db.sessions() as session:
        stored = dict(session.execute(select(Item.no, Item.unit_price)).all())
        total = session.scalar(select(func.sum(Item.unit_price)))
    for i, value in enumerate(values):
        assert stored[f"I{i}"] == value and isinstance(stored[f"I{i}"], Decimal)
    assert total == sum(values), "summing in SQL stays exact too"


def test_decimals_are_rounded_half_up_to_the_column_scale(erp_db):
    with erp_db.sessions() as session, session.begin():
        session.add(Item(no="R1", unit_price=Decimal("1.000005")))
        session.add(Item(no="R2", unit_price=Decimal("2.000004")))
        session.add(Item(no="R3", unit_price=0.1))
    with erp_db.sessions() as session:
        stored = dict(session.execute(select(Item.no, Item.unit_price)).all())
    assert stored == {"R1": Decimal("1.00001"), "R2": Decimal("2"), "R3": Decimal("0.1")}


def test_timestamps_are_utc_aware(erp_db):
    with erp_db.sessions() as session, session.begin():
        records.create(session, UOM, {"code": "PCS"})
    with erp_db.sessions() as session:
        uom = records.get(session, UnitOfMeasure, "PCS")
    for moment in (uom.created_at, uom.modified_at):
        assert moment.tzinfo is not None and moment.utcoffset().total_seconds() == 0
        assert moment.tzinfo == UTC


def test_naive_datetimes_are_refused(erp_db):
    naive = datetime(2026, 1, 1, 12, 0)
    with pytest.raises(StatementError, match="naive datetime"), erp_db.sessions() as session, session.begin():
        session.add(Tombstone(table_name="x", record_id=uuid.uuid4(), record_key="x", row_version=1, deleted_at=naive))
        session.flush()


def test_other_time_zones_are_stored_as_the_same_instant(erp_db):
    local = datetime(2026, 6, 1, 14, 0, tzinfo=timezone(timedelta(hours=2)))
    with erp_db.sessions() as session, session.begin():
        session.add(Tombstone(table_name="x", record_id=uuid.uuid4(), record_key="x", row_version=1, deleted_at=local))
    with erp_db.sessions() as session:
        stored = session.scalars(select(Tombstone.deleted_at)).one()
    assert stored == local and stored.tzinfo == UTC and stored.hour == 12


def test_api_shows_decimals_as_exact_strings_and_times_in_utc(erp_client):
    item = erp_client.post("/api/v1/items", json={"no": "1000", "unit_price": "123456789012.12345"}).json()
    assert item["unit_price"] == "123456789012.12345"
    again = erp_client.get("/api/v1/items/1000").json()
    assert again["unit_price"] == "123456789012.12345"
    assert again["created_at"].endswith(("Z", "+00:00"))
