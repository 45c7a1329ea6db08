"""Batch creation (``records.create_many``): the checks of ``create``, set-based, one refusal per record.

The CRM → ERP synchronization creates a page of records at once through it, so what a user would notice is
what ``create`` promises one by one: a refused record is named with its field and fix while the rest are
created, numbers come from the series without gaps for refused records, and a key is never used twice.
"""

from __future__ import annotations

import pytest
from sqlalchemy import select

from lead2cash.erp.errors import Conflict, ValidationFailed
from lead2cash.erp.model import Contact, Customer, Salesperson
from lead2cash.erp.model.enums import ContactType
from lead2cash.erp.services import records
from lead2cash.erp.services.records import RecordType

CUSTOMERS = RecordType(Customer, "customer_nos")


@pytest.fixture
def tx(erp_db):
    def run(work):
        with erp_db.sessions() as session, session.begin():
            return work(session)

    return run


def test_batch_creates_the_good_records_and_names_each_refused_one(tx):
    tx(lambda s: records.create(s, RecordType(Salesperson), {"code": "AT", "name": "Alicia"}))
    tx(lambda s: records.create(s, CUSTOMERS, {"no": "TAKEN", "name": "Existing"}))
    items = [
        {"name": "First", "salesperson_code": "AT"},
        {"name": "Unknown salesperson", "salesperson_code": "ZZ"},
        {"no": "TAKEN", "name": "Duplicate of an existing no."},
        {"no": "TWICE", "name": "Once"},
        {"no": "TWICE", "name": "Twice in the batch"},
        {"name": "Last"},
    ]
    results = tx(lambda s: records.create_many(s, CUSTOMERS, items))
    created = [r for r in results if isinstance(r, Customer)]
    assert [c.name for c in created] == ["First", "Once", "Last"]
    assert all(c.row_version for c in created)
    refused = results[1]
    assert isinstance(refused, ValidationFailed) and refused.field == "salesperson_code"
    assert "'ZZ' does not exist as a salesperson" in refused.message and refused.fix
    assert isinstance(results[2], Conflict) and "TAKEN already exists" in results[2].message
    assert isinstance(results[4], Conflict) and "TWICE already exists" in results[4].message
    # numbers from the series for the two good records without one, and none for the refused one
    assert [created[0].no, created[2].no] == ["C00010", "C00011"]
    assert tx(lambda s: records.create(s, CUSTOMERS, {"name": "Next"})).no == "C00012"
    names = set(tx(lambda s: s.scalars(select(Customer.name)).all()))
    assert names == {"Existing", "First", "Once", "Last", "Next"}


def test_a_reference_to_a_record_of_the_same_batch_counts_as_existing(tx):
    company = {"no": "KCOMP", "type": ContactType.COMPANY, "name": "Company", "company_no": "KCOMP"}
    person = {"no": "KPERS", "type": ContactType.PERSON, "surname": "Person", "company_no": "KCOMP"}
    orphan = {"no": "KORPH", "type": ContactType.PERSON, "surname": "Orphan", "company_no": "KNONE"}
    results = tx(lambda s: records.create_many(s, RecordType(Contact, "contact_nos"), [company, person, orphan]))
    assert [getattr(r, "no", r) for r in results[:2]] == ["KCOMP", "KPERS"]
    assert isinstance(results[2], ValidationFailed) and results[2].field == "company_no"


def test_a_constraint_no_check_covers_falls_back_to_one_by_one(tx, erp_db):
    """Two records with the same id: the batch insert fails in the database; created one by one, only the
    second is refused and the first is kept."""
    import uuid

    same = uuid.uuid4()
    items = [{"id": same, "no": "D1", "name": "One"}, {"id": same, "no": "D2", "name": "Two"}]
    results = tx(lambda s: records.create_many(s, CUSTOMERS, items))
    assert isinstance(results[0], Customer) and results[0].no == "D1"
    assert isinstance(results[1], Conflict)
    assert tx(lambda s: s.scalars(select(Customer.no).where(Customer.no.in_(["D1", "D2"]))).all()) == ["D1"]
