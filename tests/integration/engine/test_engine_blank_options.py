"""M14 against a real CRM org over HTTP: a customer whose payment terms code has no CRM option is synchronized
with the choice left blank, not failed; a later change to such a code clears the choice, and the blank
choice read back from the CRM never clears the ERP's code (the customer mapping synchronizes both ways)."""

from __future__ import annotations

from sqlalchemy import select

from lead2cash.erp.model import Customer, PaymentTerms
from lead2cash.erp.services import records
from lead2cash.integration.coupling_model import Coupling


def create(engine, model, **values):
    with engine.sessions() as s, s.begin():
        return records.create(s, records.RecordType(model), values).id


def update(engine, no: str, **values) -> None:
    with engine.sessions() as s, s.begin():
        records.update(s, s.scalars(select(Customer).where(Customer.no == no)).one(), values)


def account(engine, crm, no: str) -> dict:
    with engine.sessions() as s:
        erp_id = s.scalars(select(Customer.id).where(Customer.no == no)).one()
        crm_id = s.scalars(select(Coupling.crm_id).where(Coupling.erp_id == erp_id)).one()
    return crm.get(f"accounts({crm_id})").json()


def erp_customer(engine, no: str) -> tuple[str | None, str | None]:
    with engine.sessions() as s:
        c = s.scalars(select(Customer).where(Customer.no == no)).one()
        return c.payment_terms_code, c.phone_no


def setup_terms_and_customers(engine) -> None:
    engine.run("SALESPEOPLE", full=True)
    create(engine, PaymentTerms, code="NET 30", description="Net 30 days")  # the org has a "Net 30" choice
    create(engine, PaymentTerms, code="CASH", description="Cash")  # … and none for cash
    engine.run("PAYMENT TERMS")
    create(engine, Customer, no="P1", name="Pays in 30", payment_terms_code="NET 30", salesperson_code="AT")
    create(engine, Customer, no="P2", name="Pays cash", payment_terms_code="CASH", salesperson_code="AT")


def test_code_without_option_is_left_blank_then_cleared_on_change_and_never_read_back_as_blank(engine, crm):
    setup_terms_and_customers(engine)
    to_job, _ = engine.run("CUSTOMER", full=True)
    assert (to_job.inserted, to_job.failed) == (2, 0), [e.message for e in to_job.errors]
    assert account(engine, crm, "P1")["paymenttermscode"] == 1
    assert account(engine, crm, "P2")["paymenttermscode"] is None

    # the ERP switches P1 to cash: the CRM choice is cleared rather than left showing "Net 30"
    update(engine, "P1", payment_terms_code="CASH")
    to_job, _ = engine.run("CUSTOMER")
    assert (to_job.modified, to_job.failed) == (1, 0), [e.message for e in to_job.errors]
    assert account(engine, crm, "P1")["paymenttermscode"] is None

    # a CRM user edits another field of P2: the blank choice does not clear the ERP's CASH
    crm.patch(f"accounts({account(engine, crm, 'P2')['accountid']})", json={"telephone1": "555 0100"})
    _, from_job = engine.run("CUSTOMER")
    assert (from_job.modified, from_job.failed) == (1, 0), [e.message for e in from_job.errors]
    assert erp_customer(engine, "P2") == ("CASH", "555 0100")

    # the ERP changes P2 while the CRM changed it too (the three-way merge): CASH still stays
    update(engine, "P2", name="Pays cash Ltd")
    crm.patch(f"accounts({account(engine, crm, 'P2')['accountid']})", json={"telephone1": "555 0199"})
    to_job, from_job = engine.run("CUSTOMER")
    assert to_job.failed == from_job.failed == 0, [e.message for e in to_job.errors + from_job.errors]
    assert erp_customer(engine, "P2") == ("CASH", "555 0199")
    assert account(engine, crm, "P2")["name"] == "Pays cash Ltd"

    # a user picking a choice in the CRM is a real change: it reaches the ERP
    crm.patch(f"accounts({account(engine, crm, 'P1')['accountid']})", json={"paymenttermscode": 1})
    _, from_job = engine.run("CUSTOMER")
    assert from_job.failed == 0, [e.message for e in from_job.errors]
    assert erp_customer(engine, "P1")[0] == "NET 30"

    # and then nothing moves any more
    erp_before, crm_before = engine.erp_version(), engine.crm_version()
    for job in engine.run("CUSTOMER"):
        assert job.inserted == job.modified == job.failed == 0, job.counts
    assert (engine.erp_version(), engine.crm_version()) == (erp_before, crm_before)


def test_the_job_log_says_what_was_left_blank_and_what_went_out_in_the_base_currency(engine, crm):
    setup_terms_and_customers(engine)
    to_job, _ = engine.run("CUSTOMER", full=True)
    assert to_job.failed == 0 and not to_job.errors
    notes = to_job.message.splitlines()
    assert any(n.startswith("Payment terms CASH has no CRM option in account.paymenttermscode") for n in notes)
    assert not any("NET 30" in n for n in notes)
    # R5: the org (base USD) has no EUR currency yet, so the customers' local amounts went out in USD
    assert any(n.startswith("The CRM has no currency EUR") for n in notes)
    assert len(notes) == 2  # each note once, not once per record
