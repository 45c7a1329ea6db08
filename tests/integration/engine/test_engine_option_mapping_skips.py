"""M14, the option mapping's own run against a real CRM org over HTTP: a payment terms code the CRM has no
choice for is counted *skipped* (no failure, no error row, so the recurring job can go idle), the job's
message names the code and the fix, and once a CRM customizer adds a choice with that label the next run
couples the code, after which customers using it are sent with the choice set."""

from __future__ import annotations

from sqlalchemy import select

from lead2cash.erp.model import Customer, PaymentTerms
from lead2cash.erp.services import records
from lead2cash.integration.coupling_model import Coupling, OptionCoupling
from lead2cash.integration.recurring import was_idle


def create(engine, model, **values) -> None:
    with engine.sessions() as s, s.begin():
        records.create(s, records.RecordType(model), values)


def option_couplings(engine) -> dict[str, int]:
    with engine.sessions() as s:
        return dict(s.execute(select(OptionCoupling.erp_code, OptionCoupling.option_value)).all())


def test_code_without_choice_is_skipped_with_the_fix_then_coupled_once_the_choice_exists(engine, crm):
    create(engine, PaymentTerms, code="NET 30", description="Net 30 days")  # the org has a "Net 30" choice
    create(engine, PaymentTerms, code="CASH", description="Cash")  # … and none for cash

    for _ in range(2):  # the same on every run: never failed, never an error row, never Skipped
        (job,) = engine.run("PAYMENT TERMS")
        assert (job.failed, job.skipped) == (0, 1) and job.errors == []
        assert "Payment terms CASH has no choice labelled CASH in account.paymenttermscode" in job.message
        assert "give the choice the label CASH in the CRM and run the PAYMENT TERMS mapping" in job.message
        assert "NET 30" not in job.message
    assert option_couplings(engine) == {"NET 30": 1}
    assert was_idle([job])  # nothing to do until someone adds the choice: the recurring job may back off

    # a CRM customizer follows the message: a choice labelled CASH on the account's payment terms
    body = {
        "EntityLogicalName": "account",
        "AttributeLogicalName": "paymenttermscode",
        "Label": {"LocalizedLabels": [{"Label": "CASH", "LanguageCode": 1033}]},
    }
    added = crm.post("InsertOptionValue", json=body)
    assert added.status_code == 200, added.text
    cash = added.json()["NewOptionValue"]

    (job,) = engine.run("PAYMENT TERMS")
    assert (job.coupled, job.failed, job.skipped, job.message) == (1, 0, 0, ""), job.message
    assert option_couplings(engine) == {"NET 30": 1, "CASH": cash}

    engine.run("SALESPEOPLE", full=True)
    create(engine, Customer, no="P3", name="Pays cash now", payment_terms_code="CASH", salesperson_code="AT")
    to_job, _ = engine.run("CUSTOMER", full=True)
    assert (to_job.inserted, to_job.failed) == (1, 0), [e.message for e in to_job.errors]
    assert "CASH" not in to_job.message  # no longer left blank
    with engine.sessions() as s:
        erp_id = s.scalars(select(Customer.id).where(Customer.no == "P3")).one()
        crm_id = s.scalars(select(Coupling.crm_id).where(Coupling.erp_id == erp_id)).one()
    assert crm.get(f"accounts({crm_id})").json()["paymenttermscode"] == cash
