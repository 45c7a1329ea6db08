"""Deletion policy *Restore records* (R14) brings a deleted record back as it was: same number, same coupling.

An ERP record deleted while coupled is recreated from its CRM row under the number it had (read from the
ERP's tombstone), not under a fresh one from the number series; when another record took that number
meanwhile, the record fails with a message naming the number and the fix, and the coupling stays. The other
way round, a CRM row deleted in the CRM is recreated from the ERP record with its key columns.
"""

from __future__ import annotations

import uuid
from decimal import Decimal

import pytest
from sqlalchemy import select

from lead2cash.erp.model import Contact, Customer, Item, UnitOfMeasure
from lead2cash.erp.model.enums import ContactType
from lead2cash.erp.services import records
from lead2cash.integration.coupling_model import Coupling
from lead2cash.integration.engine.context import SyncContext
from lead2cash.integration.engine.passes import pass_from_crm
from lead2cash.integration.manual import sync_errors
from lead2cash.integration.mapping.enums import DeletionConflict
from lead2cash.integration.mapping.model import TableMapping


def create(engine, model, series=None, **values):
    with engine.sessions() as s, s.begin():
        record = records.create(s, records.RecordType(model, series), values)
        return record.id, record.key_value


def delete(engine, model, key: str) -> uuid.UUID:
    with engine.sessions() as s, s.begin():
        record = s.scalars(select(model).where(getattr(model, model.__key__) == key)).one()
        records.delete(s, record)
        return record.id


def restore_policy(engine, name: str) -> None:
    with engine.sessions() as s, s.begin():
        s.get(TableMapping, name).deletion_conflict = DeletionConflict.RESTORE_RECORDS


def coupled_record(engine, model, crm_id):
    """The ERP record the CRM row is coupled to now (None: coupled to nothing alive), and the coupling."""
    with engine.sessions() as s:
        coupling = s.scalars(select(Coupling).where(Coupling.crm_id == crm_id)).one_or_none()
        record = s.get(model, coupling.erp_id) if coupling is not None else None
        if record is not None:
            s.expunge(record)
        if coupling is not None:
            s.expunge(coupling)
        return record, coupling


def crm_id_of(engine, erp_id) -> uuid.UUID:
    with engine.sessions() as s:
        return s.scalars(select(Coupling.crm_id).where(Coupling.erp_id == erp_id)).one()


@pytest.fixture
def customers(engine, crm):
    """Three customers numbered by the series (C00010 …), sent to the CRM; returns {no: account id}."""
    engine.run("SALESPEOPLE", full=True)
    ids = {}
    for city in ("Aalst", "Brugge", "Gent"):
        erp_id, no = create(engine, Customer, "customer_nos", name=f"Kunde {city}", city=city, salesperson_code="AT")
        ids[no] = erp_id
    assert list(ids) == ["C00010", "C00011", "C00012"]
    to_job, _ = engine.run("CUSTOMER", full=True)
    assert to_job.inserted == 3, [e.message for e in to_job.errors]
    restore_policy(engine, "CUSTOMER")
    return {no: crm_id_of(engine, erp_id) for no, erp_id in ids.items()}


def test_customer_deleted_in_erp_comes_back_with_its_number(engine, crm, customers):
    old_id = delete(engine, Customer, "C00011")
    to_job, from_job = engine.run("CUSTOMER")
    assert to_job.failed == from_job.failed == 0, [e.message for e in to_job.errors + from_job.errors]
    restored, coupling = coupled_record(engine, Customer, customers["C00011"])
    assert restored is not None and restored.id != old_id
    assert (restored.no, restored.name, restored.city) == ("C00011", "Kunde Brugge", "Brugge")
    assert coupling.erp_row_version == restored.row_version
    # the account is the same row, untouched; the number series did not hand out a number for the restore
    assert crm.get(f"accounts({customers['C00011']})").raise_for_status().json()["name"] == "Kunde Brugge"
    assert create(engine, Customer, "customer_nos", name="New")[1] == "C00013"
    # converged: the next run writes nothing on either side
    before = engine.erp_version(), engine.crm_version()
    for job in engine.run("CUSTOMER"):
        assert job.failed == job.inserted == job.modified == 0
    with engine.sessions() as s:
        assert s.scalars(select(Customer.no).where(Customer.name == "Kunde Brugge")).all() == ["C00011"]
    assert (engine.erp_version(), engine.crm_version()) == before


def test_restore_refused_while_another_record_has_the_number(engine, crm, customers):
    delete(engine, Customer, "C00011")
    create(engine, Customer, no="C00011", name="Someone else")  # a user reuses the number by hand
    _, from_job = engine.run("CUSTOMER")
    assert from_job.failed == 1
    message = from_job.errors[0].message
    assert "Cannot restore the deleted customer C00011" in message
    assert f"account {customers['C00011']}" in message
    assert "no C00011 is now used by another customer" in message
    assert "Free the number" in message and "delete this coupling" in message
    record, coupling = coupled_record(engine, Customer, customers["C00011"])
    assert coupling is not None and record is None  # kept, and not pointed at the other customer
    with engine.sessions() as s:
        other = s.scalars(select(Customer).where(Customer.no == "C00011")).one()
        assert other.name == "Someone else"
        assert s.scalars(select(Coupling).where(Coupling.erp_id == other.id)).first() is None
    # the fix: the duplicate goes, the pair is retried, and the customer comes back under its number
    delete(engine, Customer, "C00011")
    with engine.sessions() as s, s.begin():
        sync_errors.retry(s, [coupling.id])
    _, from_job = engine.run("CUSTOMER")
    assert from_job.failed == 0, [e.message for e in from_job.errors]
    restored, _ = coupled_record(engine, Customer, customers["C00011"])
    assert (restored.no, restored.name) == ("C00011", "Kunde Brugge")


def test_customer_deleted_in_erp_while_the_account_changed(engine, crm, customers):
    """Noticed by the CRM → ERP pass (the changed account meets a deleted customer): the same restore."""
    delete(engine, Customer, "C00012")
    crm.patch(f"accounts({customers['C00012']})", json={"telephone1": "+32 9 555"}).raise_for_status()
    ctx = SyncContext.open(engine.sessions, engine.client)
    job = engine.jobs([pass_from_crm(ctx, "CUSTOMER")])[0]
    assert job.failed == 0, [e.message for e in job.errors]
    restored, _ = coupled_record(engine, Customer, customers["C00012"])
    assert (restored.no, restored.name, restored.phone_no) == ("C00012", "Kunde Gent", "+32 9 555")


def test_contact_and_item_deleted_in_erp_keep_their_numbers(engine, crm):
    engine.run("SALESPEOPLE", full=True)
    create(engine, Customer, no="C1", name="Fabrikam", salesperson_code="AT")
    create(engine, Contact, no="K-COMP", type=ContactType.COMPANY, name="Fabrikam", customer_no="C1")
    person, _ = create(engine, Contact, "contact_nos", type=ContactType.PERSON, company_no="K-COMP",
                       first_name="Ann", surname="Lee", email="ann@fabrikam.example")  # fmt: skip
    create(engine, UnitOfMeasure, code="PCS", description="Pieces")
    item, item_no = create(engine, Item, "item_nos", description="Bicycle", base_unit_of_measure="PCS",
                           unit_price=Decimal("199.90"))  # fmt: skip
    for name in ("CUSTOMER", "CONTACT", "UNIT OF MEASURE", "ITEM-PRODUCT"):
        for job in engine.run(name, full=True):
            assert job.failed == 0, [e.message for e in job.errors]
    contact_row, product = crm_id_of(engine, person), crm_id_of(engine, item)
    with engine.sessions() as s:
        contact_no = s.get(Contact, person).no
    restore_policy(engine, "CONTACT")
    restore_policy(engine, "ITEM-PRODUCT")
    delete(engine, Contact, contact_no)
    delete(engine, Item, item_no)
    for name in ("CONTACT", "ITEM-PRODUCT"):
        for job in engine.run(name):
            assert job.failed == 0, [e.message for e in job.errors]
    contact, _ = coupled_record(engine, Contact, contact_row)
    assert (contact.no, contact.first_name, contact.surname, contact.company_no) == (contact_no, "Ann", "Lee", "K-COMP")
    assert contact.id != person
    restored_item, _ = coupled_record(engine, Item, product)
    assert (restored_item.no, restored_item.description, restored_item.base_unit_of_measure) == (
        item_no, "Bicycle", "PCS")  # fmt: skip
    assert restored_item.id != item


def test_rows_deleted_in_crm_come_back_with_their_key_columns(engine, crm):
    """The other way round: the restored CRM row is written from the ERP record, number included."""
    create(engine, UnitOfMeasure, code="PCS", description="Pieces")
    item, item_no = create(engine, Item, "item_nos", description="Bicycle", base_unit_of_measure="PCS",
                           unit_price=Decimal("199.90"))  # fmt: skip
    engine.run("UNIT OF MEASURE", full=True)
    engine.run("ITEM-PRODUCT", full=True)
    restore_policy(engine, "ITEM-PRODUCT")
    old_product = crm_id_of(engine, item)
    crm.delete(f"products({old_product})").raise_for_status()
    for job in engine.run("ITEM-PRODUCT"):
        assert job.failed == 0, [e.message for e in job.errors]
    new_product = crm_id_of(engine, item)
    assert new_product != old_product
    product = crm.get(f"products({new_product})").raise_for_status().json()
    assert (product["productnumber"], product["name"], product["price"]) == (item_no, "Bicycle", 199.9)
