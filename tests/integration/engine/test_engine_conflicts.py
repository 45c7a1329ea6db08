"""Incremental changes both ways, update conflicts (three policies and the merge), deletions, skipping."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from lead2cash.erp.model import Customer, Salesperson
from lead2cash.erp.services import records
from lead2cash.integration.coupling_model import Coupling
from lead2cash.integration.mapping.enums import DeletionConflict, UpdateConflict
from lead2cash.integration.mapping.model import TableMapping


@pytest.fixture
def synced(engine, crm):
    """Salespeople from the CRM and three customers sent over; returns {customer no: account id}."""
    engine.run("SALESPEOPLE", full=True)
    with engine.sessions() as s, s.begin():
        for i in range(3):
            values = {"no": f"K{i}", "name": f"Kunde {i}", "city": "Aalst", "salesperson_code": "AT"}
            records.create(s, records.RecordType(Customer), values)
    to_job, from_job = engine.run("CUSTOMER", full=True)
    assert to_job.inserted == 3 and from_job.failed == 0
    with engine.sessions() as s:
        rows = s.execute(select(Customer.no, Coupling.crm_id).join(Coupling, Coupling.erp_id == Customer.id))
        return dict(rows.all())


def set_policy(engine, **values) -> None:
    with engine.sessions() as s, s.begin():
        mapping = s.get(TableMapping, "CUSTOMER")
        for k, v in values.items():
            setattr(mapping, k, v)


def erp_update(engine, no: str, **changes) -> None:
    with engine.sessions() as s, s.begin():
        customer = s.scalars(select(Customer).where(Customer.no == no)).one()
        records.update(s, customer, changes)


def erp_customer(engine, no: str) -> Customer:
    with engine.sessions() as s:
        return s.scalars(select(Customer).where(Customer.no == no)).one()


def account(crm, crm_id) -> dict:
    return crm.get(f"accounts({crm_id})").raise_for_status().json()


def test_incremental_changes_both_ways(engine, crm, synced):
    erp_update(engine, "K0", name="Kunde Null")
    crm.patch(f"accounts({synced['K1']})", json={"telephone1": "+32 9 123"}).raise_for_status()
    to_job, from_job = engine.run("CUSTOMER")
    assert (to_job.modified, to_job.inserted) == (1, 0)
    assert (from_job.modified, from_job.failed) == (1, 0), [e.message for e in from_job.errors]
    assert account(crm, synced["K0"])["name"] == "Kunde Null"
    assert erp_customer(engine, "K1").phone_no == "+32 9 123"
    # a new CRM customer account (scheduled runs synchronize only coupled records: not created)
    erp_before, crm_before = engine.erp_version(), engine.crm_version()
    for job in engine.run("CUSTOMER"):
        assert job.inserted == job.modified == 0
    assert (engine.erp_version(), engine.crm_version()) == (erp_before, crm_before)


def test_different_fields_changed_on_both_sides_are_merged(engine, crm, synced):
    erp_update(engine, "K0", city="Brugge")
    crm.patch(f"accounts({synced['K0']})", json={"telephone1": "555"}).raise_for_status()
    to_job, from_job = engine.run("CUSTOMER")
    assert to_job.failed == from_job.failed == 0, [e.message for e in to_job.errors]
    assert account(crm, synced["K0"])["address1_city"] == "Brugge"
    assert account(crm, synced["K0"])["telephone1"] == "555"
    customer = erp_customer(engine, "K0")
    assert (customer.city, customer.phone_no) == ("Brugge", "555")
    # converged: the next run writes nothing
    erp_before, crm_before = engine.erp_version(), engine.crm_version()
    engine.run("CUSTOMER")
    assert (engine.erp_version(), engine.crm_version()) == (erp_before, crm_before)


@pytest.mark.parametrize(
    ("policy", "winner"),
    [(UpdateConflict.SEND_TO_CRM, "ERP side"), (UpdateConflict.GET_FROM_CRM, "CRM side"), (UpdateConflict.NONE, None)],
)
def test_same_field_changed_on_both_sides(engine, crm, synced, policy, winner):
    set_policy(engine, update_conflict=policy)
    erp_update(engine, "K2", name="ERP side")
    crm.patch(f"accounts({synced['K2']})", json={"name": "CRM side"}).raise_for_status()
    to_job, _ = engine.run("CUSTOMER")
    if winner is None:
        assert to_job.failed == 1
        assert "changed on both sides" in to_job.errors[0].message
        assert "name / name" in to_job.errors[0].message
        # the same error again: the pair is parked as skipped (R15)
        to_job, _ = engine.run("CUSTOMER")
        with engine.sessions() as s:
            assert s.scalars(select(Coupling.skipped).where(Coupling.crm_id == synced["K2"])).one() is True
        erp_update(engine, "K2", city="Gent")  # when it comes up again it is counted as skipped, not retried
        to_job, _ = engine.run("CUSTOMER")
        assert to_job.skipped == 1 and to_job.failed == 0
        return
    assert to_job.failed == 0
    assert account(crm, synced["K2"])["name"] == winner
    assert erp_customer(engine, "K2").name == winner


def test_deletion_in_crm_policies(engine, crm, synced):
    crm.delete(f"accounts({synced['K0']})").raise_for_status()
    _, from_job = engine.run("CUSTOMER")  # detected from the change-tracking deletion
    assert from_job.failed == 1 and "coupled to a deleted account row" in from_job.errors[0].message
    set_policy(engine, deletion_conflict=DeletionConflict.RESTORE_RECORDS)
    crm.delete(f"accounts({synced['K1']})").raise_for_status()
    engine.run("CUSTOMER")
    with engine.sessions() as s:
        k1 = s.scalars(select(Customer).where(Customer.no == "K1")).one()
        new_id = s.scalars(select(Coupling.crm_id).where(Coupling.erp_id == k1.id)).one()
    assert new_id != synced["K1"]
    assert account(crm, new_id)["name"] == "Kunde 1"
    set_policy(engine, deletion_conflict=DeletionConflict.REMOVE_COUPLING)
    crm.delete(f"accounts({synced['K2']})").raise_for_status()
    engine.run("CUSTOMER")
    with engine.sessions() as s:
        assert s.scalars(select(Coupling).where(Coupling.crm_id == synced["K2"])).first() is None
        assert s.scalars(select(Customer).where(Customer.no == "K2")).one()  # data never deleted (C4)


def test_deletion_in_erp_detected_from_tombstones(engine, crm, synced):
    with engine.sessions() as s, s.begin():
        records.delete(s, s.scalars(select(Customer).where(Customer.no == "K0")).one())
    to_job, _ = engine.run("CUSTOMER")
    assert to_job.failed == 1 and "deleted" in to_job.errors[0].message
    set_policy(engine, deletion_conflict=DeletionConflict.RESTORE_RECORDS)
    with engine.sessions() as s, s.begin():
        records.delete(s, s.scalars(select(Customer).where(Customer.no == "K1")).one())
    engine.run("CUSTOMER")
    with engine.sessions() as s:  # recreated from the account, under its old number (test_engine_restore.py)
        restored = s.scalars(
            select(Customer).join(Coupling, Coupling.erp_id == Customer.id).where(Coupling.crm_id == synced["K1"])
        ).one()
    assert (restored.no, restored.name, restored.city) == ("K1", "Kunde 1", "Aalst")
    assert account(crm, synced["K1"])["name"] == "Kunde 1"


def test_bad_records_rejected_with_clear_messages_while_the_rest_sync(engine, crm, synced):
    with engine.sessions() as s, s.begin():
        records.create(s, records.RecordType(Salesperson), {"code": "NOPE", "name": "Not in the CRM"})
        records.create(s, records.RecordType(Customer), {"no": "BAD1", "name": "Bad owner", "salesperson_code": "NOPE"})
        records.create(s, records.RecordType(Customer), {"no": "LONG", "name": "x" * 100, "city": "y" * 30})
        records.create(s, records.RecordType(Customer), {"no": "GOOD", "name": "Fine"})
    to_job, _ = engine.run("CUSTOMER", full=True)
    assert (to_job.inserted, to_job.failed) == (2, 1), [e.message for e in to_job.errors]
    [error] = to_job.errors
    assert error.source == "Customer BAD1" and "Salesperson NOPE" in error.message
    # a CRM user types an e-mail the ERP refuses: that row fails naming the field, the others go on
    crm.patch(f"accounts({synced['K0']})", json={"emailaddress1": "not-an-address"}).raise_for_status()
    crm.patch(f"accounts({synced['K1']})", json={"telephone1": "123"}).raise_for_status()
    _, from_job = engine.run("CUSTOMER")
    assert (from_job.modified, from_job.failed) == (1, 1), [e.message for e in from_job.errors]
    assert "email" in from_job.errors[0].message
