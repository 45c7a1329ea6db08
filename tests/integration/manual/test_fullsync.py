"""Full synchronization review (F1-F4) against a real CRM org (a fresh one per test) and the ERP database:
recommendations from counts, dependency order, start through the job queue with dependencies, the
recurring entry held during the run and continuing from the full sync's watermarks, progress and detail."""

from __future__ import annotations

from decimal import Decimal

import pytest
from sqlalchemy import func, select

import lead2cash.integration.manual.jobs  # noqa: F401  (registers the job handlers)
from lead2cash.db import transaction
from lead2cash.erp.model.master import Customer
from lead2cash.erp.services import records
from lead2cash.integration import engine as sync_engine
from lead2cash.integration import fullsync
from lead2cash.integration.coupling_model import Coupling
from lead2cash.integration.mapping.enums import Recommendation
from lead2cash.integration.mapping.model import FieldMapping, TableMapping
from lead2cash.jobs import EntrySpec, register_handler, scheduler
from lead2cash.jobs.model import Job, JobDependency, JobQueueEntry
from lead2cash.jobs.sqlite_runner import EmbeddedQueue

REC = Recommendation
RECURRING = "test.manual.recurring_sync"
register_handler(RECURRING, lambda ctx, payload: None)  # stands in for the mapping's recurring synchronization


@pytest.fixture
def org(fresh_org):
    """A fresh org for every test: recommendations depend on what the CRM holds."""
    return fresh_org


def _customers(sessions, *names: str) -> None:
    with transaction(sessions) as session:
        for i, name in enumerate(names):
            data = {"no": f"F{i:03d}", "name": name, "credit_limit_lcy": Decimal("10")}
            records.create(session, records.RecordType(Customer), data)


def _lines(session) -> dict[str, object]:
    return {line.name: line for line in fullsync.ordered(session)}


def test_review_lines_recommend_from_counts_in_dependency_order(erp_env, org, crm):
    _customers(erp_env.sessions, "Adatum", "Bellows")
    with transaction(erp_env.sessions) as session:
        lines = fullsync.generate(session, crm)
        names = [line.name for line in lines]
        rec = {line.name: line.recommendation for line in lines}
        assert rec["SALESPEOPLE"] is REC.FULL_SYNC and rec["CURRENCY"] is REC.FULL_SYNC  # only the base currency
        assert rec["CUSTOMER"] is REC.FULL_SYNC  # ERP only
        assert rec["CONTACT"] is REC.NO_RECORDS and rec["PAYMENT TERMS"] is REC.NO_RECORDS
        assert rec["UNIT OF MEASURE"] is REC.NO_RECORDS  # the org's default unit group does not count
        assert "POSTEDSALESLINE-INV" not in names and "SALESORDER-ORDER" not in names
        customer = _lines(session)["CUSTOMER"]
        assert {"SALESPEOPLE", "CURRENCY", "PAYMENT TERMS"} <= set(customer.dependencies)
        for before, after in (("SALESPEOPLE", "CUSTOMER"), ("CURRENCY", "CUSTOMER"), ("CUSTOMER", "CONTACT")):
            assert names.index(before) < names.index(after)
    org.account("Adatum", customertypecode=3)
    with transaction(erp_env.sessions) as session:
        assert _lines(session)["CUSTOMER"].recommendation is REC.FULL_SYNC  # not refreshed until generated
        fullsync.generate(session, crm)
        assert _lines(session)["CUSTOMER"].recommendation is REC.COUPLE  # both sides have data
        customer = {p["name"]: p for p in fullsync.progress(session)}["CUSTOMER"]
        assert "no field is marked for match-based coupling" in customer["problem"]
        assert fullsync.recommend_full(session, "CUSTOMER").recommendation is REC.FULL_SYNC


def test_start_runs_lines_after_their_dependencies_and_hands_back_to_the_recurring_job(erp_env, crm, monkeypatch):
    _customers(erp_env.sessions, "Contoso", "Litware", "Northwind")
    with transaction(erp_env.sessions) as session:
        scheduler.ensure_entry(session, EntrySpec("CUSTOMER", RECURRING, {"mapping": "CUSTOMER"}))
        fullsync.generate(session, crm)
        started = {line.name: line for line in fullsync.start(session)}
        customer_job = fullsync.queue_job_id(started["CUSTOMER"])
        waits_for = set(
            session.scalars(select(JobDependency.depends_on_id).where(JobDependency.job_id == customer_job))
        )
        assert waits_for == {fullsync.queue_job_id(started[n]) for n in ("SALESPEOPLE", "CURRENCY")}
        assert session.get(Job, customer_job).status.value == "waiting"
        assert started["CONTACT"].status.value == "Finished"  # no records: nothing to run
        assert fullsync.start(session) == []  # nothing started twice

    seen: dict[str, str] = {}
    real = sync_engine.run_mapping

    def spying(sessions, client, name, **kw):
        with sessions() as s:
            seen[name] = s.scalar(select(JobQueueEntry.status).where(JobQueueEntry.key == "CUSTOMER")).value
            assert s.get(TableMapping, name).full_sync_running
        return real(sessions, client, name, **kw)

    monkeypatch.setattr(sync_engine, "run_mapping", spying)
    queue = EmbeddedQueue(erp_env.sessions, workers=1)
    assert queue.run_until_idle() >= 3  # salespeople, currency, customer (and the recurring entry)
    assert list(seen)[-1] == "CUSTOMER" and set(seen) == {"SALESPEOPLE", "CURRENCY", "CUSTOMER"}
    assert seen["CUSTOMER"] == "On Hold"

    with transaction(erp_env.sessions) as session:
        lines = {p["name"]: p for p in fullsync.progress(session)}
        assert {lines[n]["status"] for n in ("SALESPEOPLE", "CURRENCY", "CUSTOMER")} == {"Finished"}
        assert lines["CUSTOMER"]["to_crm"]["status"] == "Success"
        assert lines["CUSTOMER"]["to_crm"]["counts"]["inserted"] == 3
        assert lines["CUSTOMER"]["from_crm"]["status"] == "Success"
        mapping = session.get(TableMapping, "CUSTOMER")
        assert mapping.erp_row_version_watermark and not mapping.full_sync_running
        entry = session.scalar(select(JobQueueEntry).where(JobQueueEntry.key == "CUSTOMER"))
        assert entry.status.value == "Ready"
        assert session.scalar(select(func.count()).select_from(Coupling).where(Coupling.erp_table == "customer")) == 3
        drill = fullsync.detail(session, "CUSTOMER")
        assert drill["job"]["status"] == "succeeded" and len(drill["sync_jobs"]) == 2
    names = {a["name"] for a in crm.query("accounts", select=["name"])}
    assert {"Contoso", "Litware", "Northwind"} <= names


def test_couple_line_couples_on_match_and_creates_the_rest(erp_env, org, crm):
    _customers(erp_env.sessions, "Match A", "Match B", "Solo")
    a, b = org.account("Match A"), org.account("Match B")
    with transaction(erp_env.sessions) as session:
        for row in session.scalars(select(FieldMapping).where(FieldMapping.table_mapping_name == "CUSTOMER")):
            row.use_for_matching = row.erp_field == "name"
        session.get(TableMapping, "CUSTOMER").create_new_if_no_match = True
        fullsync.generate(session, crm)
        assert _lines(session)["CUSTOMER"].recommendation is REC.COUPLE
        fullsync.start(session, ["CUSTOMER"])
    EmbeddedQueue(erp_env.sessions, workers=1).run_until_idle()
    with transaction(erp_env.sessions) as session:
        line = {p["name"]: p for p in fullsync.progress(session)}["CUSTOMER"]
        assert line["status"] == "Finished", line
        coupled = dict(
            session.execute(select(Customer.name, Coupling.crm_id).join(Coupling, Coupling.erp_id == Customer.id)).all()
        )
        assert coupled["Match A"] == a and coupled["Match B"] == b and "Solo" in coupled
        assert fullsync.detail(session, "CUSTOMER")["sync_jobs"][0]["type"] == "Coupling"
    assert len(crm.query("accounts", select=["name"], filter="name eq 'Solo'")) == 1


def test_a_failing_line_keeps_its_dependents_waiting_until_restarted(erp_env, crm, monkeypatch):
    _customers(erp_env.sessions, "Waiting")
    real, broken = sync_engine.run_mapping, {"CURRENCY"}

    def flaky(sessions, client, name, **kw):
        if name in broken:
            raise RuntimeError(f"{name} cannot be read")
        return real(sessions, client, name, **kw)

    monkeypatch.setattr(sync_engine, "run_mapping", flaky)
    with transaction(erp_env.sessions) as session:
        fullsync.generate(session, crm)
        fullsync.start(session)
    queue = EmbeddedQueue(erp_env.sessions, workers=1)
    queue.run_until_idle()
    with transaction(erp_env.sessions) as session:
        lines = {p["name"]: p for p in fullsync.progress(session)}
        assert lines["CUSTOMER"]["status"] == "Ready" and lines["CUSTOMER"]["to_crm"]["status"] == ""
        job = session.get(Job, lines["CURRENCY"]["job_id"])
        assert job.attempts == 1 and "CURRENCY cannot be read" in job.last_error
        assert not session.get(TableMapping, "CURRENCY").full_sync_running
        job.run_after = job.created_at  # the second attempt is due now instead of after the rerun delay
    queue.run_until_idle()
    with transaction(erp_env.sessions) as session:
        lines = {p["name"]: p for p in fullsync.progress(session)}
        assert lines["CURRENCY"]["status"] == "Error" and "cannot be read" in lines["CURRENCY"]["job_error"]
        assert lines["CUSTOMER"]["status"] == "Ready"
    assert crm.query("accounts", select=["name"], filter="name eq 'Waiting'") == []

    broken.clear()
    with transaction(erp_env.sessions) as session:
        assert fullsync.restart(session, "CURRENCY").status.value == "Ready"
    queue.run_until_idle()
    with transaction(erp_env.sessions) as session:
        lines = {p["name"]: p for p in fullsync.progress(session)}
        assert lines["CURRENCY"]["status"] == lines["CUSTOMER"]["status"] == "Finished"
        assert fullsync.restart(session, "CUSTOMER").status.value == "Ready"  # a finished line runs again
    assert len(crm.query("accounts", select=["name"], filter="name eq 'Waiting'")) == 1
