"""Option couplings: payment terms and friends ↔ CRM choices, one-to-one, looked up per page."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from lead2cash.erp.model import PaymentTerms
from lead2cash.integration import option_couplings as oc
from lead2cash.integration.couplings import CouplingError
from lead2cash.integration.mapping.defaults import use_default_setup
from lead2cash.integration.mapping.model import TableMapping


@pytest.fixture
def terms(erp_db):
    with erp_db.sessions() as session, session.begin():
        use_default_setup(session, ["PAYMENT TERMS", "CUSTOMER"])
        rows = [PaymentTerms(code=c) for c in ("30D", "14D", "COD")]
        session.add_all(rows)
    return {t.code: t.id for t in rows}


def test_couple_and_look_up(erp_db, terms):
    with erp_db.sessions() as session, session.begin():
        mapping = session.get(TableMapping, "PAYMENT TERMS")
        oc.couple_option(session, mapping, terms["30D"], oc.Choice(1, "Net 30"))
        oc.couple_option(session, mapping, terms["14D"], oc.Choice(100000001, "14D"))
        again = oc.couple_option(session, mapping, terms["30D"], oc.Choice(1, "Net 30"))
        assert again.erp_code == "30D"
    with erp_db.sessions() as session:
        assert oc.choices_for_codes(session, "payment_terms", ["30D", "14D", "COD", ""]) == {
            "30D": oc.Choice(1, "Net 30"),
            "14D": oc.Choice(100000001, "14D"),
        }
        assert oc.codes_for_values(session, "payment_terms", "account", "paymenttermscode", [1, 2, None]) == {1: "30D"}
        mapping, column = oc.option_set(session, "salesorder", "paymenttermscode")
        assert (mapping.name, column.is_primary) == ("PAYMENT TERMS", False)
        assert oc.option_set(session, "account", "customertypecode") is None


def test_one_to_one_with_messages(erp_db, terms):
    with erp_db.sessions() as session, session.begin():
        mapping = session.get(TableMapping, "PAYMENT TERMS")
        oc.couple_option(session, mapping, terms["30D"], oc.Choice(1, "Net 30"))
        with pytest.raises(CouplingError, match=r"Payment terms 30D is already coupled to account\.paymenttermscode"):
            oc.couple_option(session, mapping, terms["30D"], oc.Choice(2, "2% 10, Net 30"))
        with pytest.raises(CouplingError, match=r"option 1 \(Net 30\) is already coupled to Payment terms 30D"):
            oc.couple_option(session, mapping, terms["COD"], oc.Choice(1, "Net 30"))
        assert oc.uncouple_options(session, "payment_terms", [terms["30D"]]) == 1
        oc.couple_option(session, mapping, terms["COD"], oc.Choice(1, "Net 30"))
    with erp_db.sessions() as session:
        assert session.scalar(sa.select(sa.func.count()).select_from(PaymentTerms)) == 3
