"""Recurring job queue entries per mapping (J1) against a real CRM org over HTTPS and the ERP database:
created by the default synchronization setup with the mapping's job settings, Ready once the connection is
enabled and On Hold when it is disabled; an ERP change wakes an idle entry and reaches the CRM through the
embedded runner; a CRM change noticed by the change watcher wakes it and reaches the ERP."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from lead2cash.db import transaction
from lead2cash.erp.model.master import Customer
from lead2cash.integration import engine as sync_engine
from lead2cash.integration.coupling_model import Coupling
from lead2cash.integration.crm_watch import CrmChangeWatcher
from lead2cash.integration.manual.crm import open_crm
from lead2cash.integration.mapping.model import TableMapping
from lead2cash.integration.recurring import SYNC_JOB
from lead2cash.integration.setup import service
from lead2cash.jobs.model import EntryStatus, JobQueueEntry, JobQueueLog
from lead2cash.sqltypes import utcnow

pytestmark = pytest.mark.parametrize("erp_url", ["sqlite"], indirect=True)
IDLE = EntryStatus.ON_HOLD_INACTIVE


def wired_key() -> str:
    from lead2cash.config import get_settings

    return get_settings().resolved_secret_key()  # the conftest sets L2C_SECRET_KEY


def test_one_entry_per_mapping_with_its_job_settings_held_until_enabled(connected):
    with connected.sessions() as session:
        entries = {e.key: e for e in session.scalars(select(JobQueueEntry))}
        mappings = {m.name: m for m in session.scalars(select(TableMapping))}
    assert "OPPORTUNITY" not in entries and "POSTEDSALESLINE-INV" not in entries
    assert set(entries) == {n for n, m in mappings.items() if m.job_interval_minutes is not None}
    customer = entries["CUSTOMER"]
    assert customer.handler == SYNC_JOB and customer.payload["mapping"] == "CUSTOMER"
    assert (customer.interval_minutes, customer.inactivity_timeout_minutes) == (30, 720)
    assert (customer.max_attempts, customer.rerun_delay_s, customer.serial_key) == (10, 30, "CUSTOMER")
    assert customer.watched == ["customer"] and customer.payload["category"] == "CUST"
    assert entries["ITEM-PRODUCT"].inactivity_timeout_minutes == 1440
    assert "sales_line" in entries["SALESORDER-ORDER"].watched
    assert {e.status for e in entries.values()} == {EntryStatus.ON_HOLD}  # the connection is not enabled yet

    service.set_enabled(connected.sessions, wired_key(), True)
    with connected.sessions() as session:
        assert {e.status for e in session.scalars(select(JobQueueEntry))} == {EntryStatus.READY}
    service.set_enabled(connected.sessions, wired_key(), False, "maintenance")
    with connected.sessions() as session:
        assert {e.status for e in session.scalars(select(JobQueueEntry))} == {EntryStatus.ON_HOLD}


def _coupled_customer(wired, name: str):
    """A customer created in the ERP, sent to the CRM and coupled (a full pass of CUSTOMER)."""
    with transaction(wired.sessions) as session:
        session.add(Customer(no="W1000", name=name))
    with open_crm(wired.sessions) as crm:
        sync_engine.run_mapping(wired.sessions, crm, "CUSTOMER", full=True)
    with wired.sessions() as session:
        customer = session.scalar(select(Customer).where(Customer.no == "W1000"))
        return customer.id, session.scalar(select(Coupling.crm_id).where(Coupling.erp_id == customer.id))


def _runs(wired, key: str) -> int:
    with wired.sessions() as session:
        return len(session.scalars(select(JobQueueLog.id).where(JobQueueLog.entry_key == key)).all())


def test_erp_change_wakes_the_idle_entry_and_reaches_the_crm(wired):
    wired.hold_all_but("CUSTOMER")
    erp_id, crm_id = _coupled_customer(wired, "Wakeful Traders")
    assert crm_id is not None
    wired.queue.run_until_idle()
    assert wired.entry("CUSTOMER").status is IDLE  # nothing left to do: on hold with inactivity timeout
    runs = _runs(wired, "CUSTOMER")
    wired.queue.run_until_idle()
    assert _runs(wired, "CUSTOMER") == runs  # an idle entry does not run again by itself

    with transaction(wired.sessions) as session:
        session.get(Customer, erp_id).name = "Wakeful Traders Ltd"
    wired.queue.run_until_idle()  # the runner's tick reads the outbox, wakes the entry and runs it
    assert wired.org.admin.get("accounts", crm_id, select=["name"])["name"] == "Wakeful Traders Ltd"
    assert _runs(wired, "CUSTOMER") > runs
    entry = wired.entry("CUSTOMER")  # the run did something: Ready again, next run after the interval
    assert entry.status is EntryStatus.READY and entry.next_run_at > utcnow() + timedelta(minutes=25)


def test_crm_change_wakes_the_entry_through_the_watcher_and_reaches_the_erp(wired):
    wired.hold_all_but("CUSTOMER")
    erp_id, crm_id = _coupled_customer(wired, "Polled Partners")
    wired.queue.run_until_idle()
    assert wired.entry("CUSTOMER").status is IDLE
    woken: list[str] = []
    watcher = CrmChangeWatcher(wired.sessions, woken.append)
    with open_crm(wired.sessions) as crm:
        assert watcher.poll_once(crm) == []  # our own writes do not count

        wired.org.admin.update("accounts", crm_id, {"telephone1": "+45 7010 2030"})
        assert watcher.poll_once(crm) == ["CUSTOMER"]
        assert watcher.poll_once(crm) == ["CUSTOMER"]  # asking consumed nothing: the engine still sees it
        with transaction(wired.sessions) as session:
            from lead2cash.jobs import scheduler

            scheduler.wake(session, "CUSTOMER")  # what the watcher's wake callback does in the ERP process
        wired.queue.run_until_idle()
        with wired.sessions() as session:
            assert session.get(Customer, erp_id).phone_no == "+45 7010 2030"
        # the ERP write woke the entry once more; that run found nothing to send back and went idle
        assert wired.entry("CUSTOMER").status is IDLE
        assert watcher.poll_once(crm) == []  # the run read the change; nothing new since
    assert woken == ["CUSTOMER", "CUSTOMER"]
