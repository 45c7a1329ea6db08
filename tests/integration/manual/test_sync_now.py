"""Create in CRM / create in ERP (C2) and synchronize now (C3) through the job queue and the engine, against
a real CRM org and the ERP database: recommendations from which side changed, the overwrite warning."""

from __future__ import annotations

from decimal import Decimal

from sqlalchemy import select

import lead2cash.integration.manual.jobs  # noqa: F401  (registers the job handlers)
from lead2cash.db import transaction
from lead2cash.erp.model.master import Customer
from lead2cash.erp.services import records
from lead2cash.integration import couplings
from lead2cash.integration.manual import sync_now
from lead2cash.integration.manual.sync_now import Action
from lead2cash.jobs.sqlite_runner import EmbeddedQueue


def _run(erp_env) -> None:
    EmbeddedQueue(erp_env.sessions, workers=1).run_until_idle()


def _created_customer(erp_env, crm, tag: str) -> tuple[object, object]:
    with transaction(erp_env.sessions) as session:
        data = {"no": f"N{tag}", "name": f"Now {tag}", "city": "Ghent", "credit_limit_lcy": Decimal(5)}
        customer = records.create(session, records.RecordType(Customer), data)
        report = sync_now.create_in_crm(session, crm, "CUSTOMER", [customer.id])
        assert report.scheduled == [str(customer.id)]
    _run(erp_env)
    with transaction(erp_env.sessions) as session:
        coupling = couplings.by_erp_ids(session, "customer", [customer.id])[customer.id]
        return customer.id, coupling.crm_id


def test_create_in_crm_creates_and_couples_and_leaves_coupled_ones_out(erp_env, crm, tag):
    erp_id, crm_id = _created_customer(erp_env, crm, tag)
    assert crm.get("accounts", str(crm_id), select=["name"])["name"] == f"Now {tag}"
    with transaction(erp_env.sessions) as session:
        again = sync_now.create_in_crm(session, crm, "CUSTOMER", [erp_id])
        assert again.left_out == {str(erp_id): "already coupled"} and not again.jobs


def test_create_in_erp_from_uncoupled_accounts(erp_env, org, crm, tag):
    row = org.account(f"From CRM {tag}", address1_city="Lille")
    with transaction(erp_env.sessions) as session:
        assert sync_now.create_in_erp(session, "CUSTOMER", [row]).scheduled == [str(row)]
    _run(erp_env)
    with transaction(erp_env.sessions) as session:
        coupling = couplings.by_crm_ids(session, "account", [row])[row]
        customer = session.get(Customer, coupling.erp_id)
        assert (customer.name, customer.city) == (f"From CRM {tag}", "Lille")
        assert sync_now.create_in_erp(session, "CUSTOMER", [row]).left_out == {str(row): "already coupled"}


def test_recommendation_follows_the_changed_side_and_newer_data_needs_confirmation(erp_env, org, crm, tag):
    erp_id, crm_id = _created_customer(erp_env, crm, tag)
    with transaction(erp_env.sessions) as session:
        [state] = sync_now.assess(session, crm, "CUSTOMER", [erp_id])
        assert (state.erp_changed, state.crm_changed, state.recommendation) == (False, False, Action.MERGE)
        records.update(session, session.get(Customer, erp_id), {"city": "Bruges"})
    with transaction(erp_env.sessions) as session:
        [state] = sync_now.assess(session, crm, "CUSTOMER", [erp_id])
        assert state.erp_changed and not state.crm_changed and state.recommendation is Action.SEND
    org.admin.update("accounts", str(crm_id), {"address1_city": "Antwerp"})
    with transaction(erp_env.sessions) as session:
        [state] = sync_now.assess(session, crm, "CUSTOMER", [erp_id])
        assert state.offered == [Action.SEND, Action.GET] and "both sides changed" in state.warning
        refused = sync_now.synchronize_now(session, crm, "CUSTOMER", [erp_id], Action.GET)
        assert not refused.scheduled and "both sides changed" in refused.left_out[str(erp_id)]
        merge = sync_now.synchronize_now(session, crm, "CUSTOMER", [erp_id], Action.MERGE)
        assert not merge.scheduled
        done = sync_now.synchronize_now(session, crm, "CUSTOMER", [erp_id], Action.GET, overwrite_newer=True)
        assert done.scheduled == [str(erp_id)]
    _run(erp_env)
    with transaction(erp_env.sessions) as session:
        assert session.scalar(select(Customer.city).where(Customer.id == erp_id)) == "Antwerp"
        [state] = sync_now.assess(session, crm, "CUSTOMER", [erp_id])
        assert not state.erp_changed and not state.crm_changed


def test_uncoupled_records_are_not_synchronized_now(erp_env, crm, tag, rows):
    with transaction(erp_env.sessions) as session:
        customer = rows.customer(session, f"U{tag}", "Loose")
        result = sync_now.synchronize_now(session, crm, "CUSTOMER", [customer.id], Action.SEND)
        assert not result.scheduled and "not coupled" in result.left_out[str(customer.id)]
