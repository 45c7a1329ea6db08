"""Set up coupling (C1), dependency errors (C6), delete couplings (C4) and the uncoupled CRM rows page (C2)
against a real CRM org over HTTPS and a real ERP database."""

from __future__ import annotations

import uuid

import pytest
from sqlalchemy import func, select

from lead2cash.db import transaction
from lead2cash.erp.errors import Conflict, NotFound, ValidationFailed
from lead2cash.erp.model.master import Customer
from lead2cash.integration import couplings
from lead2cash.integration.coupling_model import Coupling
from lead2cash.integration.manual import crm as crm_side
from lead2cash.integration.manual.coupling import delete_couplings, set_up_coupling
from lead2cash.integration.mapping.enums import Direction
from lead2cash.integration.mapping.model import TableMapping
from lead2cash.jobs.model import Job


def test_couple_by_name_then_recouple_to_another_row(erp_env, org, crm, tag, rows):
    first = org.account(f"Fabrikam {tag}")
    second = org.account(f"Fabrikam Two {tag}")
    with transaction(erp_env.sessions) as session:
        customer = rows.customer(session, f"C{tag}", "Fabrikam")
        result = set_up_coupling(session, crm, "CUSTOMER", customer.id, crm_name=f"Fabrikam {tag}")
        assert result.crm_id == first and result.replaced is None and result.job_id is None
        again = set_up_coupling(session, crm, "CUSTOMER", customer.id, crm_id=second)
        assert again.replaced == first
        assert couplings.by_erp_ids(session, "customer", [customer.id])[customer.id].crm_id == second
        assert not couplings.by_crm_ids(session, "account", [first])


def test_row_coupled_elsewhere_is_refused_naming_the_other_record(erp_env, org, crm, tag, rows):
    row = org.account(f"Shared {tag}")
    with transaction(erp_env.sessions) as session:
        one = rows.customer(session, f"A{tag}", "One")
        two = rows.customer(session, f"B{tag}", "Two")
        set_up_coupling(session, crm, "CUSTOMER", one.id, crm_id=row)
        with pytest.raises(Conflict, match=f"Customer A{tag}"):
            set_up_coupling(session, crm, "CUSTOMER", two.id, crm_id=row)


def test_unknown_or_ambiguous_crm_row_is_refused(erp_env, org, crm, tag, rows):
    org.account(f"Twin {tag}")
    org.account(f"Twin {tag}")
    with transaction(erp_env.sessions) as session:
        customer = rows.customer(session, f"T{tag}", "Twin")
        with pytest.raises(ValidationFailed, match="more than one account"):
            set_up_coupling(session, crm, "CUSTOMER", customer.id, crm_name=f"Twin {tag}")
        with pytest.raises(ValidationFailed, match="no account"):
            set_up_coupling(session, crm, "CUSTOMER", customer.id, crm_name=f"Nobody {tag}")
        with pytest.raises(NotFound, match="no account with id"):
            set_up_coupling(session, crm, "CUSTOMER", customer.id, crm_id=uuid.uuid4())


def test_missing_dependency_coupling_is_named(erp_env, org, crm, tag, rows):
    row = org.account(f"Priced {tag}")
    with transaction(erp_env.sessions) as session:
        rows.currency(session, "GBP")
        customer = rows.customer(session, f"P{tag}", "Priced", currency_code="GBP")
        with pytest.raises(Conflict) as caught:
            set_up_coupling(session, crm, "CUSTOMER", customer.id, crm_id=row)
        assert "Currency GBP" in caught.value.message and "CURRENCY" in caught.value.message
        assert not couplings.by_erp_ids(session, "customer", [customer.id])


def test_sync_right_away_queues_a_one_off_job_in_an_allowed_direction(erp_env, org, crm, tag, rows):
    row = org.account(f"Sync {tag}")
    with transaction(erp_env.sessions) as session:
        customer = rows.customer(session, f"S{tag}", "Sync")
        result = set_up_coupling(session, crm, "CUSTOMER", customer.id, crm_id=row, sync=Direction.FROM_CRM)
        job = session.get(Job, result.job_id)
        assert job.payload["direction"] == "From CRM" and job.payload["erp_ids"] == [str(customer.id)]
        assert job.serial_key == "CUSTOMER"
        currency = rows.currency(session, "CHF")
        with pytest.raises(ValidationFailed, match="cannot From CRM"):
            set_up_coupling(session, crm, "CURRENCY", currency.id, crm_name="US Dollar", sync=Direction.FROM_CRM)


def test_delete_couplings_keeps_data_on_both_sides(erp_env, org, crm, tag, rows):
    accounts = [org.account(f"Keep {tag} {i}") for i in range(3)]
    with transaction(erp_env.sessions) as session:
        customers = [rows.customer(session, f"K{tag}{i}", f"Keep {i}") for i in range(3)]
        for customer, row in zip(customers, accounts, strict=True):
            set_up_coupling(session, crm, "CUSTOMER", customer.id, crm_id=row)
        assert delete_couplings(session, "CUSTOMER", erp_ids=[customers[0].id]) == 1
        assert delete_couplings(session, "CUSTOMER", whole_mapping=True) == 2
        assert session.scalar(select(func.count()).select_from(Coupling)) == 0
        assert session.scalar(select(func.count()).select_from(Customer).where(Customer.no.like(f"K{tag}%"))) == 3
    for row in accounts:
        assert crm.find("accounts", str(row)) is not None


def test_uncoupled_accounts_page_leaves_coupled_rows_out_and_pages_on(erp_env, org, crm, tag, rows):
    accounts = [org.account(f"Listed {tag} {i}") for i in range(5)]
    with transaction(erp_env.sessions) as session:
        customer = rows.customer(session, f"L{tag}", "Listed")
        set_up_coupling(session, crm, "CUSTOMER", customer.id, crm_id=accounts[0])
        mapping = session.get(TableMapping, "CUSTOMER")
        seen, cursor, pages = [], None, 0
        while True:
            page = crm_side.uncoupled_rows(session, crm, mapping, page_size=2, cursor=cursor)
            seen += [uuid.UUID(r["accountid"]) for r in page.rows]
            pages += 1
            if page.next is None:
                break
            cursor = page.next
    assert set(accounts[1:]) <= set(seen) and accounts[0] not in seen
    assert len(seen) == len(set(seen)) and pages >= 3
