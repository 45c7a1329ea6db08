"""M14 and C6 together, against a real CRM org: a payment terms code without a CRM option never blocks the
coupling of the customers that use it (their choice is left blank when they are sent), while a missing
record coupling still does; the option mapping itself couples only codes the CRM has a choice for."""

from __future__ import annotations

from decimal import Decimal

import pytest
from sqlalchemy import select

from lead2cash.db import transaction
from lead2cash.erp.errors import Conflict
from lead2cash.erp.model.master import PaymentTerms, ShipmentMethod
from lead2cash.integration import couplings
from lead2cash.integration.coupling_model import OptionCoupling
from lead2cash.integration.manual.coupling import set_up_coupling
from lead2cash.integration.manual.matching import match_based_coupling
from lead2cash.integration.mapping.model import TableMapping


def _match_on_name(session) -> None:
    for row in session.get(TableMapping, "CUSTOMER").field_mappings:
        row.use_for_matching = row.erp_field == "name"
    session.flush()


def test_codes_without_a_crm_option_do_not_block_coupling_a_customer(erp_env, org, crm, tag, rows):
    manual = org.account(f"Cash manual {tag}")
    org.account(f"Cash matched {tag}")
    with transaction(erp_env.sessions) as session:
        session.add(PaymentTerms(code=f"CA{tag}", description="Cash", discount_pct=Decimal(0)))
        session.add(ShipmentMethod(code=f"SM{tag}", description="Pick-up"))
        session.flush()
        options = {"payment_terms_code": f"CA{tag}", "shipment_method_code": f"SM{tag}"}
        one = rows.customer(session, f"M{tag}", f"Cash manual {tag}", **options)
        two = rows.customer(session, f"A{tag}", f"Cash matched {tag}", **options)
        # set up coupling (C1): not refused for the uncoupled option codes
        assert set_up_coupling(session, crm, "CUSTOMER", one.id, crm_id=manual).crm_id == manual
        # match-based coupling (C5): coupled, not failed
        _match_on_name(session)
        report = match_based_coupling(session, crm, "CUSTOMER", erp_ids=[two.id], create_new=False)
        assert (report.coupled, report.failed) == (1, 0), report.messages
        assert couplings.by_erp_ids(session, "customer", [two.id])


def test_a_missing_record_coupling_is_still_named_next_to_an_uncoupled_option_code(erp_env, org, crm, tag, rows):
    row = org.account(f"Blocked {tag}")
    with transaction(erp_env.sessions) as session:
        session.add(PaymentTerms(code=f"CB{tag}", description="Cash", discount_pct=Decimal(0)))
        rows.currency(session, "NOK")
        customer = rows.customer(session, f"B{tag}", "Blocked", payment_terms_code=f"CB{tag}", currency_code="NOK")
        with pytest.raises(Conflict) as caught:
            set_up_coupling(session, crm, "CUSTOMER", customer.id, crm_id=row)
        assert "Currency NOK" in caught.value.message and f"CB{tag}" not in caught.value.message


def test_the_option_mapping_couples_only_codes_with_a_choice(erp_env, crm, tag):
    with transaction(erp_env.sessions) as session:
        for code in ("NET 30", f"CC{tag}"):
            session.add(PaymentTerms(code=code, description=code, discount_pct=Decimal(0)))
        session.flush()
        report = match_based_coupling(session, crm, "PAYMENT TERMS")
        coupled = set(session.scalars(select(OptionCoupling.erp_code)))
        assert coupled == {"NET 30"}  # no option is created in the CRM for the other code
        assert (report.failed, report.skipped) == (0, 1)
        assert any(f"CC{tag} has no choice labelled CC{tag}" in m for m in report.messages)
